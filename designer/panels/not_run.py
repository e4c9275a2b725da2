"""Elements Baton does not run: notes and groups, pools and lanes (drawn for people), and elements it cannot run."""

from __future__ import annotations

from designer.panels.base import BlockForm


class UnsupportedForm(BlockForm):
    kind = "unsupported"
    label = "Not supported"
    icon = "bi-exclamation-triangle"
    help = "Baton does not run this kind of shape. Replace it with one of the blocks in the palette."
    partial = "unsupported"


class NoteForm(BlockForm):
    kind = "note"
    label = "Note"
    icon = "bi-sticky"
    help = "Notes and frames explain the diagram to people; Baton ignores them when it runs."
    partial = "unsupported"


class LaneForm(NoteForm):
    label = "Pool / lane"
    icon = "bi-layout-three-columns"
    help = (
        "Pools and lanes organise the diagram. An Approval in a lane with no group of its own "
        "goes to the group named like the lane."
    )
