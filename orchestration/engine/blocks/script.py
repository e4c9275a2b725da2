"""Set data: evaluate each CEL assignment against the current variables."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestration.engine.blocks.base import Block, evaluate_mapping

if TYPE_CHECKING:
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run
    from orchestration.models import Step


class ScriptBlock(Block):
    kind = "script"

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        values = evaluate_mapping(run, node["config"]["assignments"], "variable")
        run.set_variables(values, step)
        step.output = values
        return list(node["outgoing"])
