"""Automated step and Notify: evaluate inputs, hand the step to a Celery worker."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TypedDict

from orchestration import expressions
from orchestration.bpmn.context import baton_attr, baton_children
from orchestration.connectors import presets, registry
from orchestration.engine.blocks.base import Block, Kind, PaletteEntry, evaluate_mapping, read_retries
from orchestration.engine.dispatch import queue_for_worker
from orchestration.engine.start_data import max_length_of

if TYPE_CHECKING:
    from lxml import etree

    from orchestration.bpmn.context import ReadContext, Subject
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run
    from orchestration.models import Step


class _Optional(TypedDict, total=False):
    # Not NotRequired[]: postponed annotations hide it from TypedDict on Python 3.11.
    preset: str  # the preset it was set up from (orchestration.connectors.presets), if any
    answer_to_requester: bool  # an Ask AI step whose answer fields the requester sees too


class ConnectorTaskConfig(_Optional):
    """An Automated step or a Notify: the connector it runs, with what, and how often it retries."""

    connector: str  # registry name
    properties: dict[str, str]  # literal settings of the connector
    inputs: dict[str, str]  # variable -> CEL
    outputs: dict[str, str]  # variable -> CEL over ``result`` and the instance variables
    retries: int  # attempts after the first
    retry_backoff: float  # seconds


def read(el: etree._Element, ctx: ReadContext) -> ConnectorTaskConfig | None:
    """A serviceTask: it names the connector it runs."""
    return _read(el, ctx, default_connector="")


def read_send(el: etree._Element, ctx: ReadContext) -> ConnectorTaskConfig | None:
    """A sendTask: it runs the email connector unless it names another."""
    return _read(el, ctx, default_connector="email")


def _read(el: etree._Element, ctx: ReadContext, *, default_connector: str) -> ConnectorTaskConfig:
    subject = ctx.subject(el)
    connector = baton_attr(el, "connector") or default_connector
    if not connector:
        ctx.error(subject, "does nothing yet: choose what this step should do.")
    elif not registry.is_registered(connector):
        ctx.error(subject, f"unknown connector '{connector}'.")
    preset = baton_attr(el, "preset") or ""
    if preset and registry.is_registered(connector) and presets.action(connector, preset) is None:
        ctx.error(subject, f"unknown preset '{preset}' for connector '{connector}'.")
    retries, backoff = read_retries(el, ctx, subject)
    properties: dict[str, str] = {}
    for prop in baton_children(el, "property"):
        name = prop.get("name", "").strip()
        if not name or name in properties:
            ctx.error(
                subject,
                f"has a property with {'no name' if not name else f'the repeated name {name!r}'}.",
            )
            continue
        properties[name] = prop.get("value", "")
    inputs = ctx.mapping(el, subject, "input", scope="variables")
    # A send task from another tool names no connector: it loads as before, checked when it runs.
    action = presets.action(connector, preset) if baton_attr(el, "connector") else None
    for needed in action.inputs if action is not None else ():
        if needed.required and needed.name not in inputs:
            ctx.error(subject, f'needs "{needed.label}": choose where its value comes from.')
    outputs = ctx.mapping(el, subject, "output", scope="output", declares="typed")
    answers = _answer_fields(el, ctx, subject, outputs)
    if answers:
        # The connector reads the fields to ask for; each becomes a typed variable of the same name.
        properties["answer_fields"] = json.dumps(answers)
        outputs.update({a["name"]: f"result.answer.{a['name']}" for a in answers})
    tools = [
        {
            k: v
            for k, v in (
                ("action", t.get("action", "").strip()),
                ("connection", t.get("connection", "").strip()),
            )
            if v
        }
        for t in baton_children(el, "tool")
    ]
    if tools:
        # The connectors an Ask AI step's model may call (checked by the connector's check_config).
        properties["tools"] = json.dumps(tools)
    config: ConnectorTaskConfig = {
        "connector": connector,
        "properties": properties,
        "inputs": inputs,
        "outputs": outputs,
        "retries": retries,
        "retry_backoff": backoff,
    }
    if preset:
        config["preset"] = preset
    if answers and baton_attr(el, "answerToRequester") == "true":
        config["answer_to_requester"] = True
    return config


def _answer_fields(
    el: etree._Element, ctx: ReadContext, subject: Subject, outputs: dict[str, str]
) -> list[dict[str, Any]]:
    """``baton:answerField`` children (an Ask AI step's answer): each declared as a typed variable."""
    answers: list[dict[str, Any]] = []
    for item in baton_children(el, "answerField"):
        name = item.get("name", "").strip()
        written = item.get("type", "").strip() or "string"
        if not ctx.variable_name_ok(name, subject, "answer field"):
            continue
        if name in outputs or any(a["name"] == name for a in answers):
            ctx.error(subject, f'sets "{name}" twice.')
            continue
        if written not in expressions.VARIABLE_TYPES:
            ctx.error(subject, f'answer field "{name}" has unknown type "{written}".')
            continue
        ctx.declare(name, written, subject)
        choices = [c.strip() for c in item.get("choices", "").split(",") if c.strip()]
        answers.append(
            {
                "name": name,
                "type": written,
                "description": item.get("description", "").strip(),
                "choices": choices,
            }
        )
    return answers


def check(node: Node, ctx: ReadContext) -> None:
    """Report the connector's own problems with the block's settings (``Connector.check_config``).

    Then give start-form fields passed straight to a connector input that input's length limit.

    ``item ← item`` into a procurement order that takes 200 characters: the start form
    takes no more, so a longer name is refused when the request starts, not after approval.
    """
    connector = node["config"]["connector"]
    if registry.is_registered(connector):
        for problem in registry.get(connector).check_config(node["config"]["properties"]):
            ctx.error(ctx.subject_of(node), problem)
    limits = registry.get(connector).input_limits if registry.is_registered(connector) else {}
    if not limits:
        return
    fields = {
        f["name"]: f
        for start in ctx.nodes.values()
        if start["kind"] == "start"
        for f in start["config"].get("fields", [])
    }
    for name, source in node["config"].get("inputs", {}).items():
        field = fields.get(source.strip())
        limit = limits.get(name)
        current = max_length_of(field) if field is not None else None
        if field is None or limit is None or current is None or current <= limit:
            continue
        field["max_length"] = limit
        field["max_length_reason"] = f"{node['name'] or 'a later step'} accepts no more"


# Deadlines, "if it fails" and messages while the system works.
_CONNECTOR_BOUNDARIES = frozenset({"timer", "error", "message"})


class ServiceTaskBlock(Block):
    kind = "service_task"
    waits = True
    runs_on_worker = True

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        config = node["config"]
        step.input = evaluate_mapping(run, config.get("inputs", {}), "input")
        step.max_attempts = int(config.get("retries", 3)) + 1
        queue_for_worker(run, step, attempt=1)
        return None


class SendTaskBlock(ServiceTaskBlock):
    kind = "send_task"


KIND = Kind(
    name="service_task",
    label="Automated step",
    element="serviceTask",
    config=ConnectorTaskConfig,
    read=read,
    check=check,
    boundary_events=_CONNECTOR_BOUNDARIES,
    loops=True,
    block=ServiceTaskBlock(),
    palette=PaletteEntry(
        key="automated",
        label="Automated step",
        type="bpmn:ServiceTask",
        icon="bpmn-icon-service-task",
        group="work",
        hint="Calls a system: an HTTP request, the ERP, custom code",
        append=2,
    ),
    presets=(
        PaletteEntry(
            key="ask_ai",
            label="Ask AI",
            type="bpmn:ServiceTask",
            icon="bi bi-stars",
            group="work",
            hint="An AI model reads, extracts and recommends; people still decide",
            attrs={"baton:connector": "ai.ask"},
            append=3,
        ),
    ),
)

SEND_KIND = Kind(
    name="send_task",
    label="Notify",
    element="sendTask",
    config=ConnectorTaskConfig,
    read=read_send,
    check=check,
    boundary_events=_CONNECTOR_BOUNDARIES,
    loops=True,
    block=SendTaskBlock(),
    palette=PaletteEntry(
        key="notify",
        label="Notify",
        type="bpmn:SendTask",
        icon="bpmn-icon-send-task",
        group="work",
        hint="Sends an email",
        append=4,
    ),
)
