"""Start: where a request begins (a form, a schedule, a webhook or a message).

The token leaves on every outgoing flow; start data was checked before the instance started.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypedDict

from django.utils import timezone

from orchestration import expressions, money, schedules, values
from orchestration.bpmn.context import baton_attr, baton_children, clean, local_name
from orchestration.bpmn.graph import FormField, Graph, VariableType
from orchestration.engine.blocks.base import Block, Kind, PaletteEntry
from orchestration.engine.blocks.message_catch import read_message_fields
from orchestration.engine.start_data import DEFAULT_MAX_LENGTH, MAX_LENGTH_CEILING
from orchestration.schedules import TimerSpec, TimerText

if TYPE_CHECKING:
    from lxml import etree

    from orchestration.bpmn.context import ReadContext, Subject


class _StartKeys(TypedDict):
    trigger: Literal["none", "timer", "message"]
    cron: str  # the cycle when it is cron, else "": versions published before ``timer`` have only this
    message: str  # message start
    fields: list[FormField]
    inputs: dict[str, str]  # webhook payload mapping: variable -> CEL over ``payload``
    message_fields: list[FormField]  # message start: what the message carries


class StartConfig(_StartKeys, total=False):
    """A Start: what starts it, its schedule, the start form and the webhook payload mapping."""

    # A timer start's schedule: a cycle (ISO 8601 or cron) or a date (once). Read with schedule_of.
    # (total=False rather than NotRequired: under postponed annotations only this shows at runtime.)
    timer: TimerText
    # The form fields lists show for every request: its title and the amount to approve.
    title_field: str
    amount_field: str


def schedule_of(config: StartConfig) -> TimerSpec | None:
    """A Start's schedule, None for a Start that is not scheduled (or whose schedule no longer reads)."""
    if config.get("trigger") != "timer":
        return None
    written = config.get("timer") or {"kind": "cycle", "text": config.get("cron", "")}
    try:
        return schedules.parse_timer(written["kind"], written["text"])
    except schedules.TimerError:
        return None


_FIELD_TYPES: dict[str, VariableType] = {
    "string": "string",
    "text": "string",
    "email": "string",
    "choice": "string",
    "number": "number",
    # CEL has no decimal: money is a double there, exact text in the variables (orchestration.money).
    "money": "number",
    "integer": "integer",
    "boolean": "boolean",
    "date": "date",
}


def read(el: etree._Element, ctx: ReadContext) -> StartConfig | None:
    """A startEvent, plain or with a timer (a cycle or a date) or a message definition."""
    subject = ctx.subject(el)
    defs = ctx.event_definitions(el, subject)
    trigger: Literal["none", "timer", "message"] = "none"
    timer: TimerText | None = None
    message = ""
    if defs:
        definition, local = defs[0], local_name(defs[0])
        if local == "timerEventDefinition":
            trigger = "timer"
            timer = _schedule(definition, subject, ctx)
        elif local == "messageEventDefinition":
            trigger = "message"
            message = ctx.message_name(definition, subject)
        else:
            kind = local.removesuffix("EventDefinition")
            ctx.refuse(el, subject, f"{kind} start event", "use a plain, timer or message Start")
            return None
    fields = read_form_fields(el, subject, ctx)
    config: StartConfig = {
        "trigger": trigger,
        "cron": timer["text"] if timer and timer["kind"] == "cycle" and values.is_cron(timer["text"]) else "",
        "message": message,
        "fields": fields,
        "inputs": ctx.mapping(el, subject, "input", scope="payload", declares="inferred"),
        "message_fields": _message_fields(el, trigger, fields, subject, ctx),
    }
    if timer is not None:
        config["timer"] = timer
    _summary_fields(el, fields, config, subject, ctx)
    return config


# Which form field types can be a request's title, and its amount.
TITLE_TYPES = ("string", "text", "email", "choice")
AMOUNT_TYPES = ("money", "number", "integer")


def _summary_fields(
    el: etree._Element, fields: list[FormField], config: StartConfig, subject: Subject, ctx: ReadContext
) -> None:
    """Read which form field is the request's title and which its amount; refuse one that is not there."""
    by_name = {f["name"]: f for f in fields}
    for attr, key, types, what in (
        ("titleField", "title_field", TITLE_TYPES, "a text or choice field"),
        ("amountField", "amount_field", AMOUNT_TYPES, "a money or number field"),
    ):
        name = baton_attr(el, attr).strip()
        if not name:
            continue
        field = by_name.get(name)
        if field is None:
            ctx.error(subject, f'shows "{name}" in lists, but the form has no field called "{name}".')
        elif field["type"] not in types:
            ctx.error(subject, f'shows "{field["label"]}" as the {key.split("_")[0]}: it must be {what}.')
        else:
            config[key] = name  # type: ignore[literal-required]


class RequestSummary(TypedDict):
    """The variables that name a request and its amount in lists (None: fall back to the usual names)."""

    title: str | None
    amount: str | None
    currency: str | None


def request_summary(graph: Graph) -> RequestSummary:
    """Which variables are a request's title, amount and currency, as its Start form says.

    The title is the field the author chose (else None: the usual subject names apply);
    the amount is the chosen field, else the form's only money field; its currency is the
    money field's currency field.
    """
    fields: list[FormField] = []
    config: dict[str, Any] = {}
    for node in graph["nodes"].values():
        if node["kind"] == "start" and not node.get("parent") and node["config"].get("fields"):
            config = node["config"]
            fields = config["fields"]
            break
    amount = config.get("amount_field")
    if amount is None:
        money_fields = [f["name"] for f in fields if f["type"] == "money"]
        amount = money_fields[0] if len(money_fields) == 1 else None
    field = next((f for f in fields if f["name"] == amount), None)
    currency = field.get("currency") if field is not None and field["type"] == "money" else None
    return {"title": config.get("title_field"), "amount": amount, "currency": currency}


_SCHEDULE_EXAMPLES = "a cycle such as R/PT1H or 0 9 * * 1-5 (cron), or a date and time to start once"


def _schedule(definition: etree._Element, subject: Subject, ctx: ReadContext) -> TimerText | None:
    """A scheduled Start's timer: a cycle or a date, checked; None (with the error said) otherwise."""
    found = schedules.definitions_in(definition)
    if len(found) > 1:
        ctx.error(subject, f"has {len(found)} timers in one definition; a scheduled Start takes one.")
        return None
    if not found or not found[0]["text"]:
        ctx.error(subject, f"a scheduled Start needs a schedule: {_SCHEDULE_EXAMPLES}.")
        return None
    timer = found[0]
    if timer["kind"] == "duration":
        ctx.error(
            subject,
            f'waits a duration ("{timer["text"]}"), which a Start cannot: give it {_SCHEDULE_EXAMPLES}.',
        )
        return None
    try:
        spec = schedules.parse_timer(timer["kind"], timer["text"])
    except schedules.TimerError as exc:
        ctx.error(subject, str(exc))
        return None
    now = timezone.now()
    due = spec.first_due(now)
    if due is None or due <= now:
        ctx.warn(subject, f"starts {spec.describe()}, which has passed: it will not start a request.")
    return {"kind": timer["kind"], "text": spec.text}


def _message_fields(
    el: etree._Element, trigger: str, form: list[FormField], subject: Subject, ctx: ReadContext
) -> list[FormField]:
    """What a message Start's message carries; only a message Start lists it, and then has no form.

    A message Start with form fields and no message fields still starts as before: the
    form fields check the message's data (files written before messages declared theirs).
    """
    if trigger != "message":
        if next(baton_children(el, "messageField"), None) is not None:
            ctx.error(subject, "lists what a message carries, but it does not start on a message.")
        return []
    carried = read_message_fields(el, ctx, subject)
    if carried and form:
        ctx.error(
            subject,
            "has both form fields and message fields: a message Start lists what the message carries.",
        )
    return carried


def read_form_fields(el: etree._Element, subject: Subject, ctx: ReadContext) -> list[FormField]:
    """The ``baton:formField`` children of ``el`` (a Start's form, or what an Approval's approver fills), declared."""
    fields: list[FormField] = []
    for f in baton_children(el, "formField"):
        name = f.get("name", "").strip()
        if not expressions.is_identifier(name):
            ctx.error(
                subject,
                f'form field "{name}" needs a name of letters, digits and _, not starting with a digit.',
            )
            continue
        if any(existing["name"] == name for existing in fields):
            ctx.error(subject, f'has two form fields named "{name}".')
            continue
        field_type = f.get("type", "string").strip() or "string"
        if field_type not in _FIELD_TYPES:
            ctx.error(subject, f'form field "{name}" has unknown type "{field_type}".')
            continue
        choices = [c.strip() for c in f.get("choices", "").split(",") if c.strip()]
        if field_type == "choice" and not choices:
            ctx.error(subject, f'form field "{name}" is a choice but lists no choices.')
        required = ctx.flag(f.get("required"), subject, f'form field "{name}" required')
        low = ctx.number(f.get("min"), subject, f'form field "{name}" min')
        high = ctx.number(f.get("max"), subject, f'form field "{name}" max')
        if low is not None and high is not None and low > high:
            ctx.error(subject, f'form field "{name}" has min {low:g} above max {high:g}.')
        form_field: FormField = {
            "name": name,
            "label": clean(f.get("label", "")) or name,
            "type": field_type,
            "required": required,
            "choices": choices,
            "min": low,
            "max": high,
        }
        longest = _max_length(f.get("maxLength"), field_type, name, subject, ctx)
        if longest is not None:
            form_field["max_length"] = longest
        raw_default = f.get("default")
        if raw_default is not None and raw_default.strip():
            default = values.field_default(raw_default, field_type, choices)
            if default is None:
                ctx.error(
                    subject,
                    f'form field "{name}" has default "{raw_default}", not a valid {field_type}.',
                )
            else:
                form_field["default"] = default
        if field_type == "money":
            form_field["currency"] = f.get("currency", "").strip() or "currency"
        fields.append(form_field)
        ctx.declare(name, _FIELD_TYPES[field_type], subject)
    _check_currencies(fields, subject, ctx)
    return fields


def _check_currencies(fields: list[FormField], subject: Subject, ctx: ReadContext) -> None:
    """Each money field names a text or choice field of the form for its currency; choices are ISO codes."""
    by_name = {f["name"]: f for f in fields}
    for field in fields:
        if field["type"] != "money":
            continue
        name = field.get("currency", "currency")
        source = by_name.get(name)
        if source is None or source["type"] not in ("string", "choice"):
            ctx.error(
                subject,
                f'money field "{field["name"]}" needs a text or choice field "{name}" for its currency.',
            )
            continue
        unknown = [c for c in source["choices"] if not money.is_currency(c)]
        if unknown:
            ctx.error(
                subject, f'form field "{name}" lists {", ".join(unknown)}: not ISO 4217 currency codes.'
            )


def _max_length(
    raw: str | None, field_type: str, name: str, subject: Subject, ctx: ReadContext
) -> int | None:
    """A text field's ``maxLength``: a whole number of characters from 1 to the ceiling."""
    if raw is None or not raw.strip():
        return None
    if field_type not in DEFAULT_MAX_LENGTH:
        ctx.error(subject, f'form field "{name}" is a {field_type}: only text fields take a maxLength.')
        return None
    number = ctx.number(raw, subject, f'form field "{name}" maxLength')
    if number is None:
        return None
    if number != int(number) or not 1 <= number <= MAX_LENGTH_CEILING:
        ctx.error(
            subject, f'form field "{name}" maxLength must be a whole number from 1 to {MAX_LENGTH_CEILING:,}.'
        )
        return None
    return int(number)


class StartBlock(Block):
    kind = "start"


KIND = Kind(
    name="start",
    label="Start",
    element="startEvent",
    config=StartConfig,
    read=read,
    block=StartBlock(),
    palette=PaletteEntry(
        key="start",
        label="Start",
        type="bpmn:StartEvent",
        icon="bpmn-icon-start-event-none",
        group="ends",
        hint="Where a request begins: a form, a schedule, a webhook or an event",
    ),
)
