"""Decision: follow the first outgoing flow whose condition holds, else the default; or let an AI choose.

A Decision "decided by AI" (``baton:connector="ai.ask"`` on the gateway) names no conditions:
its outgoing paths' names are the choices. Choosing needs the network, so it waits like an
Automated step: ``enter`` queues the AI connector for a worker (outbox, idempotency key,
retries with backoff), and the worker's answer picks the flow in the engine's transaction
(:meth:`ExclusiveBlock.worker_done`). When the AI cannot choose (its answer is not one of
the paths after the one retry, or the model server keeps failing), the default path is
taken and why is recorded (:meth:`ExclusiveBlock.worker_gave_up`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from orchestration.bpmn.context import Subject, baton_attr, baton_children
from orchestration.connectors import ai, registry
from orchestration.engine.blocks.base import (
    Block,
    BlockError,
    Kind,
    PaletteEntry,
    evaluate_mapping,
    read_retries,
)
from orchestration.engine.dispatch import queue_for_worker
from orchestration.expressions import ExpressionError, evaluate

if TYPE_CHECKING:
    from lxml import etree

    from orchestration.bpmn.context import ReadContext
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run
    from orchestration.models import Step

# The answer fields an AI-decided Decision asks for: one of the paths' names, and why.
PATH: Literal["path"] = "path"
REASON: Literal["reason"] = "reason"
# Settings of the AI connector a Decision keeps (its answer fields come from its paths).
_AI_SETTINGS = ("connection", "instruction", "model", "max_tokens", "timeout")


class _DecidedByAI(TypedDict, total=False):
    # Not NotRequired[]: postponed annotations hide it from TypedDict on Python 3.11.
    connector: str  # "ai.ask": the AI chooses the path (absent: the conditions do)
    properties: dict[str, str]  # the AI connector's settings, with the answer fields
    inputs: dict[str, str]  # the values the instruction puts in: variable -> CEL
    retries: int  # attempts after the first when the model server fails
    retry_backoff: float  # seconds
    paths: dict[str, str]  # path name -> flow id


class ExclusiveConfig(_DecidedByAI):
    """A Decision (or a Merge, when one unconditioned flow leaves it)."""

    default: str | None  # the flow taken when no condition holds (or the AI cannot choose)
    role: Literal["decision", "merge"]


def decided_by_ai(node: Node) -> bool:
    """Whether ``node`` is a Decision whose path an AI chooses."""
    return node["kind"] == "exclusive" and node["config"].get("connector") == ai.NAME


def read(el: etree._Element, ctx: ReadContext) -> ExclusiveConfig | None:
    """An exclusiveGateway; its role is known once its flows are read."""
    config: ExclusiveConfig = {"default": el.get("default") or None, "role": "decision"}
    connector = baton_attr(el, "connector")
    if not connector:
        return config
    subject = ctx.subject(el)
    if connector != ai.NAME:
        ctx.error(subject, f"can be decided by conditions or by the AI, not by '{connector}'.")
        return config
    retries, backoff = read_retries(el, ctx, subject)
    properties = {
        prop.get("name", "").strip(): prop.get("value", "")
        for prop in baton_children(el, "property")
        if prop.get("name", "").strip() in _AI_SETTINGS
    }
    config["connector"] = connector
    config["properties"] = properties
    config["inputs"] = ctx.mapping(el, subject, "input", scope="variables")
    config["retries"] = retries
    config["retry_backoff"] = backoff
    return config


def connect(node: Node, ctx: ReadContext) -> None:
    """Decide between decision and merge, and check a decision's conditions (or paths' names) and default flow."""
    outgoing = node["outgoing"]
    by_ai = decided_by_ai(node)
    single = len(outgoing) == 1 and ctx.flows[outgoing[0]]["condition"] is None
    # One unconditioned way out chooses nothing: a merge (or a pass-through), not a decision.
    node["config"]["role"] = "merge" if single and not by_ai else "decision"
    if single and not by_ai:
        node["config"]["default"] = None
        return
    subject = ctx.subject_of(node)
    default = node["config"]["default"]
    if default is None:
        if by_ai:
            ctx.error(subject, "has no default path: mark the path to take when the AI cannot choose.")
        else:
            ctx.error(subject, "has no default flow: mark the outgoing flow to take when no condition holds.")
    elif default not in outgoing:
        ctx.error(subject, f'has default flow "{default}", which does not leave it.')
    if by_ai:
        _connect_ai_paths(node, ctx, subject)
        return
    for flow_id in outgoing:
        flow = ctx.flows[flow_id]
        if flow_id != default and flow["condition"] is None:
            ctx.error(
                Subject(flow_id, flow["name"], "Flow"),
                f"leaves {subject.text()} without a condition: give it one, or make it the default flow.",
            )


def _connect_ai_paths(node: Node, ctx: ReadContext, subject: Subject) -> None:
    """The paths' names become the AI's choices: each path needs one, all different, and no condition."""
    outgoing = node["outgoing"]
    if len(outgoing) < 2:
        has = "one path out" if outgoing else "no path out"
        ctx.error(subject, f"is decided by the AI but has {has}: draw at least two paths to choose from.")
    paths: dict[str, str] = {}
    for flow_id in outgoing:
        flow = ctx.flows[flow_id]
        name = " ".join((flow["name"] or "").split())
        target = ctx.nodes.get(flow["target"])
        towards = f' (to "{target["name"]}")' if target is not None and target["name"] else ""
        if not name:
            ctx.error(
                subject,
                f"is decided by the AI, but a path{towards} has no name: name each path, "
                "the AI chooses among the names.",
            )
        elif name in paths:
            ctx.error(subject, f'has two paths named "{name}": give each path its own name.')
        else:
            paths[name] = flow_id
        if flow["condition"] is not None:
            ctx.error(
                subject,
                f'is decided by the AI, but its path "{name or flow_id}" has a condition: remove it.',
            )
    node["config"]["paths"] = paths
    fields = [
        ai.AnswerField(PATH, "string", "The path to take: exactly one of the names listed.", tuple(paths)),
        ai.AnswerField(
            REASON, "string", "Why, in one sentence, for the people reading the request's history."
        ),
    ]
    node["config"]["properties"]["answer_fields"] = json.dumps([f.as_json() for f in fields])


def check(node: Node, ctx: ReadContext) -> None:
    """An AI-decided Decision needs its model server and instruction (the AI connector's own checks)."""
    if not decided_by_ai(node):
        return
    for problem in registry.get(ai.NAME).check_config(node["config"].get("properties", {})):
        ctx.error(ctx.subject_of(node), problem)


def chosen_words(output: dict[str, Any]) -> str:
    """How a Decision's recorded choice reads ("Decided by AI: “Needs review” — the amount is unusual");
    empty for a Decision its conditions decided."""
    chosen = output.get("chosen")
    if not isinstance(chosen, dict):
        return ""
    path, reason = str(chosen.get("path") or ""), str(chosen.get("reason") or "")
    if chosen.get("by") == "ai":
        return f"Decided by AI: “{path}”" + (f" — {reason}" if reason else "")
    return f"The AI could not choose ({reason}); took the default path “{path}”"


class ExclusiveBlock(Block):
    kind = "exclusive"

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        if decided_by_ai(node):
            # The model server is on the network: a worker asks it, as for an Automated step.
            config = node["config"]
            step.input = evaluate_mapping(run, config.get("inputs", {}), "input")
            step.max_attempts = int(config.get("retries", 3)) + 1
            queue_for_worker(run, step, attempt=1)
            return None
        default = node["config"].get("default")
        scope = run.scope()
        for flow_id in node["outgoing"]:
            condition = run.graph["flows"][flow_id]["condition"]
            if flow_id == default or not condition:
                continue
            try:
                holds = evaluate(condition, run.graph["variables"], scope)
            except ExpressionError as exc:
                raise BlockError(f"Condition of flow {flow_id!r} failed: {exc}") from exc
            if holds is True:
                step.output = {"flow": flow_id}
                return [flow_id]
        if default:
            step.output = {"flow": default}
            return [default]
        if len(node["outgoing"]) == 1 and not run.graph["flows"][node["outgoing"][0]]["condition"]:
            return list(node["outgoing"])  # a merge
        raise BlockError("No condition holds and the decision has no default flow.")

    def worker_done(self, run: Run, step: Step, node: Node) -> list[str]:
        """The AI answered: take the path it named (the default one when it names none of them)."""
        answer = step.output.get("answer") if isinstance(step.output, dict) else None
        answer = answer if isinstance(answer, dict) else {}
        path, reason = str(answer.get(PATH) or ""), str(answer.get(REASON) or "").strip()
        flow_id = node["config"].get("paths", {}).get(path)
        if flow_id is None:
            return self._take_default(run, step, node, f"it answered “{path}”, which is not one of the paths")
        step.output = {**step.output, "flow": flow_id, "chosen": {"by": "ai", "path": path, "reason": reason}}
        self._record(run, step)
        return [flow_id]

    def worker_gave_up(self, run: Run, step: Step, node: Node, error: str) -> list[str] | None:
        """The model server failed for good, or answered with no path twice: the default path, and why."""
        if not decided_by_ai(node):
            return None
        step.output = {}
        return self._take_default(run, step, node, error)

    def _take_default(self, run: Run, step: Step, node: Node, why: str) -> list[str]:
        default = node["config"].get("default")
        if not default:
            raise BlockError(f"The AI could not choose ({why}) and the decision has no default path.")
        name = run.graph["flows"][default]["name"] or default
        step.output = {
            **(step.output or {}),
            "flow": default,
            "chosen": {"by": "default", "path": name, "reason": why},
        }
        self._record(run, step)
        return [default]

    def _record(self, run: Run, step: Step) -> None:
        words = chosen_words(step.output)
        run.event(
            "decision.ai",
            f"{step.node_name or step.node_id}: {words[0].lower()}{words[1:]}",
            step=step,
            data={"chosen": step.output["chosen"], "flow": step.output["flow"]},
        )

    def skip_flows(self, node: Node) -> list[str]:
        default = node["config"].get("default")
        if default:
            return [default]
        if len(node["outgoing"]) == 1:
            return list(node["outgoing"])
        raise BlockError("A decision without a default flow cannot be skipped; retry it instead.")


KIND = Kind(
    name="exclusive",
    label="Decision",
    element="exclusiveGateway",
    config=ExclusiveConfig,
    read=read,
    connect=connect,
    check=check,
    conditional_flows=True,
    role_labels={"merge": "Merge"},
    block=ExclusiveBlock(),
    palette=PaletteEntry(
        key="decision",
        label="Decision",
        type="bpmn:ExclusiveGateway",
        icon="bpmn-icon-gateway-xor",
        group="route",
        hint="Takes one path depending on the data",
        append=6,
    ),
)
