"""Decision (BPMN exclusiveGateway): its paths; a gateway with one way out and several in is a merge."""

from __future__ import annotations

from typing import Any

from designer.diagram import condition
from designer.panels.base import BlockForm, PanelContext, display_name


class DecisionForm(BlockForm):
    kind = "decision"
    label = "Decision"
    icon = "bi-signpost-split"
    help = "The request takes the first path whose condition holds, or the default path. Click a path to set its condition."
    partial = "decision"
    chooses_paths = True
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
        return outgoing_paths(self.ctx)


def outgoing_paths(ctx: PanelContext) -> list[dict[str, Any]]:
    """The paths leaving the selected gateway: a name to show, the condition, and whether it is the default."""
    diagram, gateway_id = ctx.diagram, ctx.element_id
    default = ctx.element.get("default")
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
