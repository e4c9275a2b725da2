"""Set data: evaluate each CEL assignment against the current variables."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestration.engine.blocks.base import Block, BlockError
from orchestration.expressions import ExpressionError, evaluate

if TYPE_CHECKING:
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run
    from orchestration.models import Step


class ScriptBlock(Block):
    kind = "script"

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        scope = run.scope()
        values = {}
        for name, source in node["config"]["assignments"].items():
            try:
                values[name] = evaluate(source, run.graph["variables"], scope)
            except ExpressionError as exc:
                raise BlockError(f"Cannot compute {name!r}: {exc}") from exc
        run.set_variables(values, step)
        step.output = values
        return list(node["outgoing"])
