"""Decision: follow the first outgoing flow whose condition holds, else the default."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypedDict

from orchestration.bpmn.context import Subject
from orchestration.engine.blocks.base import Block, BlockError, Kind, PaletteEntry
from orchestration.expressions import ExpressionError, evaluate

if TYPE_CHECKING:
    from lxml import etree

    from orchestration.bpmn.context import ReadContext
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run
    from orchestration.models import Step


class ExclusiveConfig(TypedDict):
    """A Decision (or a Merge, when one unconditioned flow leaves it)."""

    default: str | None  # the flow taken when no condition holds
    role: Literal["decision", "merge"]


def read(el: etree._Element, ctx: ReadContext) -> ExclusiveConfig | None:
    """An exclusiveGateway; its role is known once its flows are read."""
    return {"default": el.get("default") or None, "role": "decision"}


def connect(node: Node, ctx: ReadContext) -> None:
    """Decide between decision and merge, and check a decision's conditions and default flow."""
    outgoing = node["outgoing"]
    single = len(outgoing) == 1 and ctx.flows[outgoing[0]]["condition"] is None
    # One unconditioned way out chooses nothing: a merge (or a pass-through), not a decision.
    node["config"]["role"] = "merge" if single else "decision"
    if single:
        node["config"]["default"] = None
        return
    subject = ctx.subject_of(node)
    default = node["config"]["default"]
    if default is None:
        ctx.error(subject, "has no default flow: mark the outgoing flow to take when no condition holds.")
    elif default not in outgoing:
        ctx.error(subject, f'has default flow "{default}", which does not leave it.')
    for flow_id in outgoing:
        flow = ctx.flows[flow_id]
        if flow_id != default and flow["condition"] is None:
            ctx.error(
                Subject(flow_id, flow["name"], "Flow"),
                f"leaves {subject.text()} without a condition: give it one, or make it the default flow.",
            )


class ExclusiveBlock(Block):
    kind = "exclusive"

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
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
        append=5,
    ),
)
