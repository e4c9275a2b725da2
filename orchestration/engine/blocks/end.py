"""End: consume the token and record the outcome."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestration.engine.blocks.base import Block

if TYPE_CHECKING:
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run
    from orchestration.models import Step


class EndBlock(Block):
    kind = "end"

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        outcome = node["config"].get("outcome") or ""
        if outcome:
            run.instance.outcome = outcome
        return []
