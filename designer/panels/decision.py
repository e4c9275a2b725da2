"""Decision (BPMN exclusiveGateway): its paths; a gateway with one way out and several in is a merge."""

from __future__ import annotations

from typing import Any

from designer.diagram import condition
from designer.panels.base import BlockForm, display_name


class DecisionForm(BlockForm):
    kind = "decision"
    label = "Decision"
    icon = "bi-signpost-split"
    help = "The request takes the first path whose condition holds, or the default path. Click a path to set its condition."
    partial = "decision"
    merge = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        outgoing = self.ctx.diagram.outgoing(self.ctx.element_id)
        if len(outgoing) == 1 and len(self.ctx.diagram.incoming(self.ctx.element_id)) > 1:
            # One way out and several in: the compiler runs it as a merge.
            self.label, self.icon = "Merge", "bi-sign-merge-left"
            self.merge = True
            self.help = (
                "Paths that were split by a Decision join here; the request goes on as soon as one arrives."
            )

    def paths(self) -> list[dict[str, Any]]:
        diagram, gateway_id = self.ctx.diagram, self.ctx.element_id
        default = self.ctx.element.get("default")
        paths = []
        for flow in diagram.outgoing(gateway_id):
            target = diagram.find(flow.get("targetRef", "").strip())
            paths.append(
                {
                    "id": flow.get("id", ""),
                    "name": display_name(flow)
                    or (display_name(target) and f"to {display_name(target)}")
                    or flow.get("id", ""),
                    "condition": condition(flow) or "",
                    "default": flow.get("id") == default,
                }
            )
        return paths
