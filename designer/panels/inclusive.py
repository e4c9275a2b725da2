"""Any of these paths (BPMN inclusiveGateway): its paths, each with its condition, and the default path."""

from __future__ import annotations

from typing import Any

from designer.panels.base import BlockForm
from designer.panels.decision import outgoing_paths


class InclusiveForm(BlockForm):
    kind = "inclusive"
    label = "Any of these paths"
    icon = "bi-diagram-3"
    help = (
        "The request takes every path whose condition holds, or the default path when none does. "
        "Click a path to set its condition."
    )
    partial = "inclusive"
    chooses_paths = True
    join_only = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        diagram, element_id = self.ctx.diagram, self.ctx.element_id
        if len(diagram.incoming(element_id)) > 1 and len(diagram.outgoing(element_id)) <= 1:
            self.label = "Join of the paths taken"
            self.help = "Waits until every path that was taken has arrived, then goes on."
            self.join_only = True

    def paths(self) -> list[dict[str, Any]]:
        return outgoing_paths(self.ctx)
