"""Stop everything (BPMN endEvent with a terminateEventDefinition): the outcome the whole request ends with."""

from __future__ import annotations

from designer.panels.end import EndForm


class StopForm(EndForm):
    kind = "stop"
    label = "Stop everything"
    icon = "bi-x-octagon"
    help = (
        "The whole request ends here at once, with this outcome: every other step still open "
        "(approvals, waits, automated steps, sub-processes) is cancelled."
    )
