"""Stop everything (BPMN endEvent with a terminateEventDefinition): the outcome the whole request ends with."""

from __future__ import annotations

from designer.diagram import Payload
from designer.panels.base import or_none
from designer.panels.end import EndForm


class StopForm(EndForm):
    kind = "stop"
    label = "Stop everything"
    icon = "bi-x-octagon"
    help = (
        "The whole request ends here at once, with this outcome: every other step still open "
        "(approvals, waits, automated steps, other workflows it started) is cancelled."
    )
    meaning = ("stop", "Stop everything: the whole request ends here")
    definition = "terminate"

    @classmethod
    def end_payload(cls, form: EndForm, payload: Payload) -> None:
        payload["attrs"] = {"baton:outcome": or_none(" ".join(form.cleaned_data["outcome"].split()))}
        payload["terminate"] = True
