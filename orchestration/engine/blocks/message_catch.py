"""Wait for an event: subscribe under the message name and the computed correlation key.

Also what a message carries (``baton:messageField``), read the same way wherever a
message arrives: a message Start, a Wait for a message, a message on a waiting step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypedDict

from orchestration.bpmn.context import baton_attr, baton_children
from orchestration.bpmn.graph import MESSAGE_FIELD_TYPES, FormField
from orchestration.engine.blocks.base import Block, BlockError, Kind
from orchestration.engine.start_data import MAX_LENGTH_CEILING
from orchestration.engine.transitions import move
from orchestration.engine.writes import write_step
from orchestration.expressions import ExpressionError, evaluate
from orchestration.models import MessageSubscription, Step

if TYPE_CHECKING:
    from lxml import etree

    from orchestration.bpmn.context import ReadContext, Subject
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run


class MessageCatchConfig(TypedDict):
    """A Wait for a message: its name, the CEL key picking the instance it is for, what it carries."""

    message: str
    correlation_key: str
    message_fields: list[FormField]  # none declared: any new names are taken, untyped


def read_message_fields(el: etree._Element, ctx: ReadContext, subject: Subject) -> list[FormField]:
    """The ``baton:messageField`` elements of ``el``: what its message carries, each declared as a variable.

    Checked at runtime by :func:`orchestration.engine.start_data.clean_message_data`.
    """
    fields: list[FormField] = []
    for item in baton_children(el, "messageField"):
        name = item.get("name", "").strip()
        if not ctx.variable_name_ok(name, subject, "message field"):
            continue
        if any(existing["name"] == name for existing in fields):
            ctx.error(subject, f'has two message fields named "{name}".')
            continue
        written = item.get("type", "").strip() or "string"
        variable_type = MESSAGE_FIELD_TYPES.get(written)
        if variable_type is None:
            ctx.error(
                subject,
                f'message field "{name}" has unknown type "{written}"; '
                f"use one of {', '.join(MESSAGE_FIELD_TYPES)}.",
            )
            continue
        field: FormField = {
            "name": name,
            "label": name,
            "type": written,
            "required": ctx.flag(item.get("required"), subject, f'message field "{name}" required'),
            "choices": [],
        }
        if written == "string":
            field["max_length"] = MAX_LENGTH_CEILING  # no form's line length: a machine may send a paragraph
        fields.append(field)
        ctx.declare(name, variable_type, subject)
    return fields


def read(el: etree._Element, ctx: ReadContext) -> MessageCatchConfig | None:
    """An intermediateCatchEvent with a message definition."""
    subject = ctx.subject(el)
    defs = ctx.event_definitions(el, subject)
    message = ctx.message_name(defs[0], subject)
    key = baton_attr(el, "correlationKey")
    if not key:
        ctx.error(subject, "needs a correlation key: an expression that picks the instance a message is for.")
    else:
        ctx.check_expression(subject, "correlation key", key, expect="key")
    return {
        "message": message,
        "correlation_key": key,
        "message_fields": read_message_fields(el, ctx, subject),
    }


def correlation_key(run: Run, config: Mapping[str, Any]) -> str:
    """The key a message must carry to reach this instance's Wait with ``config`` (BlockError when it cannot)."""
    try:
        return str(evaluate(config["correlation_key"], run.graph["variables"], run.scope()))
    except ExpressionError as exc:
        raise BlockError(f"Cannot compute the correlation key: {exc}") from exc


class MessageCatchBlock(Block):
    kind = "message_catch"
    waits = True
    saves_first = True

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        config = node["config"]
        key = correlation_key(run, config)
        move(step, Step.Status.WAITING)
        step.input = {"message": config["message"], "correlation_key": key}
        write_step(run, step, ["status", "input"])
        self._subscribe(run, step, node, key)
        return None

    def arm(self, run: Run, step: Step, node: Node) -> str:
        self._subscribe(run, step, node, correlation_key(run, node["config"]))
        return f"the wait for message {node['config']['message']!r}"

    def _subscribe(self, run: Run, step: Step, node: Node, key: str) -> None:
        MessageSubscription.objects.create(
            message_name=node["config"]["message"],
            correlation_key=key,
            instance=run.instance,
            step=step,
            node_id=node["id"],
        )


# No palette entry of its own: the palette's Wait is the same element, with a timer until changed to a message.
KIND = Kind(
    name="message_catch",
    label="Wait",
    element="intermediateCatchEvent",
    event_definition="messageEventDefinition",
    config=MessageCatchConfig,
    read=read,
    block=MessageCatchBlock(),
)
