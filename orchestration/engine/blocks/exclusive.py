"""Decision: follow the first outgoing flow whose condition holds, else the default."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestration.engine.blocks.base import Block, BlockError
from orchestration.expressions import ExpressionError, evaluate

if TYPE_CHECKING:
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run
    from orchestration.models import Step


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
