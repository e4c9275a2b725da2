"""Group of steps (BPMN embedded subProcess): steps drawn inside it run together from the Start inside it.

Its own settings are its name; what makes a Group useful comes from the shared sections:
a deadline, an "If it fails" path or a message on it covers every step inside, and For each
runs the whole Group once per item.
"""

from __future__ import annotations

from designer.diagram import local
from designer.panels.base import BlockForm, display_name, kind_of


class GroupForm(BlockForm):
    kind = "group"
    label = "Group of steps"
    icon = "bi-bounding-box"
    help = (
        "The steps inside run together, from the Start inside it to its End: give them one deadline "
        "or one \u201cIf it fails\u201d path, or run them once per item of a list."
    )
    partial = "group"

    def steps_inside(self) -> list[str]:
        """The names of the blocks drawn inside the Group, in the diagram's order."""
        skipped = {"sequenceFlow", "startEvent", "endEvent", "extensionElements", "documentation"}
        skipped |= {"multiInstanceLoopCharacteristics", "incoming", "outgoing", "boundaryEvent"}
        names = []
        for el in self.ctx.element:
            if not isinstance(el.tag, str) or local(el) in skipped:
                continue
            kind = kind_of(el)
            names.append(display_name(el) or f"{kind.label if kind else 'A block'} (no name yet)")
        return names
