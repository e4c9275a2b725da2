"""Events on a step's edge: "Deadline / reminder", "If it fails", "Message while waiting".

A boundaryEvent attached to an Approval, Automated step, Notify, Sub-process call or Group
(each kind says which events it accepts: ``Kind.boundary_events``). The engine arms and
fires them (:mod:`orchestration.engine.boundaries`); the step made when one fires only
passes its token on along the event's outgoing flow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypedDict

from orchestration.bpmn.context import baton_attr, local_name, text_of
from orchestration.bpmn.parse import bpmn
from orchestration.engine.blocks.base import Block, Kind
from orchestration.engine.blocks.message_catch import read_message_fields
from orchestration.schedules import TimerError, parse_timer

if TYPE_CHECKING:
    from lxml import etree

    from orchestration.bpmn.context import ReadContext, Subject
    from orchestration.bpmn.graph import FormField, Node
    from orchestration.engine.context import Run
    from orchestration.models import Step

_WORDS = {"timer": "a deadline or reminder", "error": 'an "If it fails" path', "message": "a message wait"}


class TimerDefinition(TypedDict):
    kind: Literal["duration", "date", "cycle"]
    text: str


class BoundaryConfig(TypedDict):
    """What the event waits for on the step it is attached to, and whether it stops that step."""

    attached_to: str
    trigger: Literal["timer", "error", "message"]
    role: str  # the trigger, or "reminder" for a timer that lets the step go on: names it in views
    interrupting: bool
    timer: TimerDefinition | None
    error_code: str  # "" catches every error
    error_variable: str  # where the caught error's code and message go ("" nowhere)
    message: str
    correlation_key: str
    message_fields: list[FormField]  # what a message carries (read_message_fields); [] takes any new names


def read(el: etree._Element, ctx: ReadContext) -> BoundaryConfig | None:
    """A boundaryEvent with one timer, error or message definition."""
    subject = ctx.subject(el)
    attached_to = el.get("attachedToRef", "").strip()
    if not attached_to:
        ctx.error(subject, "is not attached to a step.")
    interrupting = el.get("cancelActivity", "true").strip().lower() != "false"
    defs = ctx.event_definitions(el, subject)
    config: BoundaryConfig = {
        "attached_to": attached_to,
        "trigger": "timer",
        "role": "timer" if interrupting else "reminder",
        "interrupting": interrupting,
        "timer": None,
        "error_code": "",
        "error_variable": "",
        "message": "",
        "correlation_key": "",
        "message_fields": [],
    }
    local = local_name(defs[0]) if defs else ""
    if local == "timerEventDefinition":
        config["timer"] = _timer(defs[0], subject, ctx)
    elif local == "errorEventDefinition":
        config["trigger"] = config["role"] = "error"
        config["error_code"] = ctx.error_code(defs[0], subject)
        if not interrupting:
            ctx.error(
                subject,
                'is an "If it fails" path that lets the failed step go on; a failure always stops it.',
            )
            config["interrupting"] = True
        variable = baton_attr(el, "errorVariable")
        if variable and ctx.variable_name_ok(variable, subject, "error variable"):
            config["error_variable"] = variable
            ctx.declare(variable, "map", subject)
    elif local == "messageEventDefinition":
        config["trigger"] = config["role"] = "message"
        config["message"] = ctx.message_name(defs[0], subject)
        key = baton_attr(el, "correlationKey")
        if not key:
            ctx.error(
                subject, "needs a correlation key: an expression that picks the request a message is for."
            )
        else:
            ctx.check_expression(subject, "correlation key", key, expect="key")
        config["correlation_key"] = key
        config["message_fields"] = read_message_fields(el, ctx, subject)
    elif not defs:
        ctx.error(
            subject, 'waits for nothing: make it a deadline (timer), an "If it fails" (error) or a message.'
        )
    else:
        ctx.refuse(
            el,
            subject,
            f"{local.removesuffix('EventDefinition')} boundary event",
            "use a timer, an error or a message",
        )
        return None
    return config


_TIMER_TAGS: tuple[tuple[str, Literal["duration", "date", "cycle"]], ...] = (
    ("timeDuration", "duration"),
    ("timeDate", "date"),
    ("timeCycle", "cycle"),
)


def _timer(definition: etree._Element, subject: Subject, ctx: ReadContext) -> TimerDefinition | None:
    for tag, kind in _TIMER_TAGS:
        text = text_of(definition.find(bpmn(tag)))
        if text:
            try:
                parse_timer(kind, text)
            except TimerError as exc:
                ctx.error(subject, str(exc))
            return {"kind": kind, "text": text}
    ctx.error(subject, "needs a time: after how long (such as P3D), a date, or a repeating cycle (R/P1D).")
    return None


def connect(node: Node, ctx: ReadContext) -> None:
    """Attach the event to its step, which must accept it; it has no incoming flow."""
    from orchestration.engine.blocks import registered

    config = node["config"]
    subject = ctx.subject_of(node)
    if node["incoming"]:
        ctx.error(
            subject, "cannot have incoming flows: it starts its own path from the step it is attached to."
        )
    host = ctx.nodes.get(config["attached_to"])
    if host is None:
        if config["attached_to"] and config["attached_to"] not in ctx.placeholders:
            ctx.error(
                subject, f'is attached to "{config["attached_to"]}", which is not a step of the process.'
            )
        return
    kind = registered(host["kind"])
    if kind is None or config["trigger"] not in kind.boundary_events:
        allowed = {
            "timer": "an Approval, an Automated step, a Notify, a Workflow call or a Group",
            "error": "an Automated step, a Notify, a Workflow call or a Group",
            "message": "an Approval, an Automated step, a Notify, a Workflow call or a Group",
        }[config["trigger"]]
        ctx.error(
            subject,
            f"is {_WORDS[config['trigger']]} on {ctx.node_text(host)}, which cannot have one; "
            f"attach it to {allowed}.",
        )
        return
    if host.get("parent") != node.get("parent"):
        ctx.error(subject, f"must be drawn in the same Group as {ctx.node_text(host)}.")
        return
    host.setdefault("boundaries", []).append(node["id"])


class BoundaryBlock(Block):
    kind = "boundary"

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        return list(node["outgoing"])


KIND = Kind(
    name="boundary",
    label="Event on a step",
    element="boundaryEvent",
    config=BoundaryConfig,
    read=read,
    connect=connect,
    role_labels={
        "timer": "Deadline",
        "reminder": "Reminder",
        "error": "If it fails",
        "message": "Message while waiting",
    },
    block=BoundaryBlock(),
)
