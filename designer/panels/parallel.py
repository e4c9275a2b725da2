"""Parallel split / join (BPMN parallelGateway)."""

from __future__ import annotations

from typing import Any

from designer.panels.base import BlockForm


class ParallelForm(BlockForm):
    kind = "parallel"
    label = "Parallel split / join"
    icon = "bi-distribute-horizontal"
    help = "A split starts every outgoing path at once; a join waits until every incoming path has arrived."

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        diagram, element_id = self.ctx.diagram, self.ctx.element_id
        if len(diagram.incoming(element_id)) > 1 and len(diagram.outgoing(element_id)) <= 1:
            self.label, self.help = (
                "Parallel join",
                "Waits until every incoming path has arrived, then goes on.",
            )
        elif len(diagram.outgoing(element_id)) > 1 and len(diagram.incoming(element_id)) <= 1:
            self.label, self.help = "Parallel split", "Starts every outgoing path at once."
