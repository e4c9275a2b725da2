"""How a request reads to people: its state in one phrase, its timeline, its approval chain.

Pure presentation over rows already fetched: the views prefetch, these functions never query.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from approvals.models import NOBODY_MAY_DECIDE, ApprovalTask, person, task_holder
from orchestration import money
from orchestration.models import ProcessInstance
from orchestration.templatetags.moments import when

if TYPE_CHECKING:
    import datetime
    from collections.abc import Callable, Iterable

    from orchestration.bpmn.graph import FormField, Graph
    from orchestration.models import Event

# Event kinds a requester or approver cares about; the rest (data mapping, inline steps) is noise.
_TIMELINE: dict[str, tuple[str, str]] = {
    "instance.started": ("bi-send", "info"),
    "task.created": ("bi-person-check", "now"),
    "task.escalated": ("bi-arrow-up-circle", "info"),
    "task.changes_requested": ("bi-pencil-square", "info"),
    "request.resubmitted": ("bi-arrow-repeat", "info"),
    "attachment.added": ("bi-paperclip", "info"),
    "attachment.removed": ("bi-trash", "info"),
    "task.due": ("bi-alarm", "bad"),
    "task.reminder": ("bi-bell", "info"),
    "task.escalated_on_timeout": ("bi-alarm", "bad"),
    "task.overdue": ("bi-alarm", "bad"),
    "task.approved": ("bi-check-circle", "ok"),
    "boundary.interrupted": ("bi-alarm", "info"),
    "boundary.fired": ("bi-bell", "info"),
    "task.claimed": ("bi-person-plus", "info"),
    "task.released": ("bi-people", "info"),
    "task.delegated": ("bi-airplane", "info"),
    "task.returned": ("bi-person-check", "info"),
    "task.forwarded": ("bi-forward", "info"),
    "task.reassigned": ("bi-forward", "info"),
    "incident.raised": ("bi-exclamation-triangle", "bad"),
    "incident.retried": ("bi-arrow-clockwise", "info"),
    "incident.skipped": ("bi-skip-forward", "info"),
    "token.moved": ("bi-signpost-2", "info"),
    "instance.migrated": ("bi-arrow-up-right-circle", "info"),
    "instance.completed": ("bi-flag", "ok"),
    "instance.cancelled": ("bi-x-circle", "bad"),
}
# Variables holding money in the request's currency: amount, total_amount, authority_limit…
_MONEY_NAME = re.compile(r"(^|_)(amount|limit|total|price|cost)(_|$)")
# Completed steps worth a line: people deciding and work done outside (orders, emails).
_MACHINES = {"", "worker", "ticker", "relay"}
_VISIBLE_STEP_KINDS = {"user_task", "service_task", "send_task", "call_activity"}


@dataclass(frozen=True)
class RequestState:
    """One phrase for where a request is, a Bootstrap tone for its badge, and who has it."""

    label: str
    tone: str
    detail: str = ""


@dataclass(frozen=True)
class TimelineEntry:
    when: datetime.datetime
    message: str
    who: str
    icon: str
    tone: str


@dataclass(frozen=True)
class FieldValue:
    label: str
    value: Any
    type: str


def request_state(
    instance: ProcessInstance, open_tasks: Iterable[ApprovalTask], incident: str = ""
) -> RequestState:
    """Where ``instance`` stands, from its status, its open tasks (prefetched) and its open incident's error.

    An incident raised because nobody may decide is told in full, to everyone: it is
    about people, not a technical fault.
    """
    if instance.status == ProcessInstance.Status.CANCELLED:
        return RequestState("Cancelled", "secondary")
    if instance.status == ProcessInstance.Status.COMPLETED:
        outcome = instance.outcome or "completed"
        tone = {"approved": "success", "rejected": "danger"}.get(outcome, "secondary")
        return RequestState(outcome.replace("_", " ").capitalize(), tone)
    tasks = list(open_tasks)
    sent_back = [t for t in tasks if t.kind == ApprovalTask.Kind.RESUBMIT]
    if sent_back:
        return RequestState("Changes requested", "warning", sent_back[0].reason)
    deciding = [t for t in tasks if t.kind == ApprovalTask.Kind.DECISION]
    if deciding:
        names = ", ".join(dict.fromkeys(task_holder(t) for t in deciding))
        return RequestState("Waiting for approval", "primary", f"With {names}")
    if instance.has_incident and NOBODY_MAY_DECIDE in incident:
        return RequestState("Waiting for an approver", "warning", _from_phrase(incident))
    if instance.has_incident:
        return RequestState(
            "Delayed", "warning", "A technical problem stopped it; the people who run this process see it."
        )
    return RequestState("In progress", "info")


# An operator's fixes, as the requester reads them (the reason they gave is for operators).
_FIXED = {
    "incident.retried": "tried {step} again",
    "incident.skipped": "completed {step} by hand",
    "token.moved": "moved the request on",
}


def explained(state: RequestState, instance: ProcessInstance, events: list[Event]) -> RequestState:
    """``state`` with what its requester should know, from the history (``events``, oldest first).

    A request stopped by a technical problem says at which step and since when, that the
    people who run the process have it in their list, what an operator already did, and
    what happens next; one cancelled by someone else says by whom and why.
    """
    if instance.status == ProcessInstance.Status.CANCELLED:
        cancelled = next((e for e in reversed(events) if e.kind == "instance.cancelled"), None)
        if cancelled is None or cancelled.actor_id is None or cancelled.actor_id == instance.initiator_id:
            return state
        why = str((cancelled.data or {}).get("reason") or "")
        detail = f"Cancelled by {person(cancelled.actor)} on {when(cancelled.created_at)}" + (
            f": {why}" if why else "."
        )
        return RequestState(state.label, state.tone, detail)
    if state.label != "Delayed":
        return state
    raised = next((e for e in reversed(events) if e.kind == "incident.raised"), None)
    if raised is None:
        return state
    step = (raised.step.node_name if raised.step else "") or "A step"
    detail = (
        f"{step} could not be done because of a technical problem ({when(raised.created_at)}). "
        "The people who run this process have it in their list of requests needing attention. "
    )
    acted = next((e for e in reversed(events) if e.kind in _FIXED and e.actor_id and e.id < raised.id), None)
    if acted is not None:
        did = _FIXED[acted.kind].format(step=(acted.step.node_name if acted.step else "") or "the step")
        detail += f"{person(acted.actor)} {did} on {when(acted.created_at)}, but it stopped again. "
    detail += "Once they fix it, your request continues from there by itself; you need not do anything."
    return RequestState(state.label, state.tone, detail)


def timeline(events: Iterable[Event], graph: Graph, *, technical: bool = False) -> list[TimelineEntry]:
    """The events people care about, oldest first.

    ``technical`` (operators) shows an incident's error as recorded; everyone else reads
    that the step is delayed and the operators know.
    """
    entries = []
    for event in events:
        kind = event.kind
        node = graph["nodes"].get(event.step.node_id) if event.step else None
        step_name = (node["name"] if node else "") or "A step"
        if kind == "step.completed":
            if node is None or node["kind"] not in _VISIBLE_STEP_KINDS:
                continue
            message = event.message
            if node["kind"] == "user_task":
                icon, tone = ("bi-x-circle", "bad") if ": rejected" in message else ("bi-check-circle", "ok")
            else:  # "Place order done (attempt 1)": the attempt count is for operators
                icon, tone = "bi-gear", "ok"
                message = f"{step_name}: completed"
        elif kind == "decision.ai":
            if not technical:
                continue  # which path an AI chose, and why, is for operators (as its answers are)
            icon, tone, message = "bi-stars", "info", event.message
        elif kind in _TIMELINE:
            icon, tone = _TIMELINE[kind]
            message = _MESSAGES.get(kind, lambda e, n: e.message)(event, step_name)
            error = str((event.data or {}).get("error") or "")
            if kind == "incident.raised" and NOBODY_MAY_DECIDE in error:
                message = _from_phrase(error)
            elif kind == "incident.raised" and not technical:
                message = (
                    f"{step_name} is delayed by a technical problem; the people who run this process see it"
                )
        else:
            continue
        # Workers and the ticker act for the process itself.
        who = (
            person(event.actor)
            if event.actor
            else ("Baton" if event.actor_label in _MACHINES else event.actor_label)
        )
        entries.append(TimelineEntry(event.created_at, message, who, icon, tone))
    return entries


def _from_phrase(error: str) -> str:
    """A "nobody may decide" incident's error from that phrase on (before it: the step's technical prefix)."""
    return error[error.index(NOBODY_MAY_DECIDE) :]


def _finished(event: Event, step_name: str) -> str:
    outcome = str((event.data or {}).get("outcome") or "")
    return f"Request {outcome.replace('_', ' ')}" if outcome else "Request completed"


def _fixed(event: Event, step_name: str) -> str:
    return f"{step_name}: an operator {_FIXED[event.kind].format(step='it')}"


def _path_taken(event: Event, step_name: str) -> str:
    """A deadline, reminder, failure or message took its path; a failure says what the system answered."""
    error = event.step.error if event.step is not None and event.kind == "boundary.interrupted" else ""
    return f"{event.message} ({error})" if error else event.message


_MESSAGES: dict[str, Callable[[Event, str], str]] = {
    "instance.started": lambda event, step_name: "Request submitted",
    "instance.completed": _finished,
    **dict.fromkeys(_FIXED, _fixed),
    "boundary.interrupted": _path_taken,
    "boundary.fired": _path_taken,
    # Which blocks moved where, and why, is for operators: the requester learns the process changed.
    "instance.migrated": lambda event, step_name: (
        "The process was updated; the request goes on with its new version"
    ),
}


def start_fields(graph: Graph) -> list[FormField]:
    """The start form's fields (of the manual start event), or none."""
    from orchestration.engine.human import StartDataError, start_node_for

    try:
        node = graph["nodes"][start_node_for(graph, "manual")]
    except StartDataError:
        return []
    return list(node["config"].get("fields", []))


def approver_fields(graph: Graph, node_id: str) -> list[FormField]:
    """The fields the approver of Approval ``node_id`` fills in (none for other blocks, or none declared)."""
    node = graph["nodes"].get(node_id)
    return list(node["config"].get("fields", [])) if node is not None and node["kind"] == "user_task" else []


def note_filled_in(tasks: Iterable[ApprovalTask], graph: Graph, variables: dict[str, Any]) -> None:
    """Give each task ``filled``: what its approver filled in, by the Approval's labels (tasks carry ``step``)."""
    for task in tasks:
        values = {**variables, **(task.data or {})}
        task.filled = [  # type: ignore[attr-defined]
            FieldValue(f["label"] or f["name"], _answer(f, values), f["type"])
            for f in approver_fields(graph, task.step.node_id)
            if f["name"] in (task.data or {})
        ]


def _answer(field: FormField, variables: dict[str, Any]) -> Any:
    """A field's value as entered; a money amount as text with its currency (``USD 2,000.00``)."""
    value = variables.get(field["name"])
    if field["type"] != "money" or value is None:
        return value
    currency = variables.get(field.get("currency", "currency"))
    if not money.is_currency(currency):
        return value
    try:
        return money.format_money(money.parse_amount(value, currency, computed=True), currency)
    except money.MoneyError:
        return value


def request_data(
    instance: ProcessInstance, graph: Graph, hidden: Collection[str] = ()
) -> tuple[list[FieldValue], list[FieldValue]]:
    """What the requester entered (by its labels) plus texts the process added (an order number),
    and apart from those, the figures and flags it computed on the way (checks, limits); the
    variables named in ``hidden`` are left out."""
    variables = {k: v for k, v in (instance.variables or {}).items() if k not in hidden}
    fields = start_fields(graph)
    currency = variables.get("currency")
    currency = currency.upper() if money.is_currency(currency) else ""

    def shown(name: str, value: Any, kind: str) -> tuple[Any, str]:
        # An amount or a limit reads with the request's currency: "USD 500.00", never "500.00".
        is_money = kind == "number" and currency and _MONEY_NAME.search(name)
        if is_money and isinstance(value, int | float) and not isinstance(value, bool):
            return money.format_money(Decimal(str(value)), currency), "money"
        return value, kind

    answers = [
        FieldValue(f["label"] or f["name"], *shown(f["name"], _answer(f, variables), f["type"]))
        for f in fields
    ]
    known = {f["name"] for f in fields}
    recorded = []
    for name, value in variables.items():
        if name in known or isinstance(value, dict | list):
            continue
        label = name.replace("_", " ").capitalize()
        if isinstance(value, str):
            answers.append(FieldValue(label, value, "string"))
        else:
            kind = "boolean" if isinstance(value, bool) else "number"
            recorded.append(FieldValue(label, *shown(name, value, kind)))
    return answers, recorded
