"""The panel when nothing is selected: the workflow itself."""

from __future__ import annotations

from designer.panels.base import BlockForm


class ProcessForm(BlockForm):
    kind = "process"
    label = "Workflow"
    icon = "bi-diagram-2"
    help = "Click a block or a path to edit it. The name here is the diagram's own name."
    partial = "process"
