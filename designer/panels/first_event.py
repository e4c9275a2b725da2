"""First event wins (BPMN eventBasedGateway): the Waits after it, in words; nothing else to set."""

from __future__ import annotations

from typing import Any

from lxml import etree

from designer.diagram import local, message, timer
from designer.panels.base import BlockForm, display_name
from orchestration.durations import iso_to_duration


def _awaits(target: etree._Element | None, form: FirstEventForm) -> tuple[str, bool]:
    """What a path's block waits for, in words, and whether it may follow (only Waits may)."""
    if target is None or local(target) != "intermediateCatchEvent":
        return "Not a Wait: only Waits can follow “First event wins”", False
    name = message(target, form.ctx.diagram)
    if name is not None:
        return f"A message “{name}” arrives", True
    found = timer(target)
    if found is not None and found["kind"] == "timeDate":
        return f"The date {found['value']} comes" if found["value"] else "A date comes", True
    if found is not None:
        count, unit = iso_to_duration(found["value"])
        if count is not None:
            return f"{count} {unit.removesuffix('s') if count == 1 else unit} pass", True
    return "Not set yet: choose what this Wait waits for", False


class FirstEventForm(BlockForm):
    kind = "first_event"
    label = "First event wins"
    icon = "bi-lightning-charge"
    help = (
        "The request waits for every event after this block at once. The first one to happen "
        "picks the path; the others stop waiting. Click a Wait to say what it waits for."
    )
    partial = "first_event"

    def paths(self) -> list[dict[str, Any]]:
        """Each way out: the Wait it leads to and what that Wait waits for."""
        diagram = self.ctx.diagram
        paths = []
        for flow in diagram.outgoing(self.ctx.element_id):
            target = diagram.find(flow.get("targetRef", "").strip())
            what, ok = _awaits(target, self)
            paths.append(
                {
                    "name": (target is not None and display_name(target)) or flow.get("targetRef", ""),
                    "what": what,
                    "ok": ok,
                }
            )
        return paths
