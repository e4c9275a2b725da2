"""The side panel's forms: one module per block kind, and the one table mapping BPMN elements to them.

Each form reads its initial values from one element of the posted diagram
(:meth:`~designer.panels.base.BlockForm.for_element`), validates what the person typed
against the variables in scope there, and answers with the payload the canvas applies
(:meth:`~designer.panels.base.BlockForm.payload`, the shape of :class:`designer.diagram.Payload`).
The attributes and elements a form writes are exactly those the compiler reads.

Adding a kind's panel: its module here, and one line in :data:`PANELS`. An element that
splits into kinds (a catch event that waits for a timer or a message) is resolved by its
form's ``panel_for``, in its own module; an End variant is one line in ``EndForm.variants``.
Sections several kinds share (For each, events on a step) are one line in ``SECTIONS``:
each says from the kind's flags where it shows.
"""

from __future__ import annotations

from lxml import etree

from designer.diagram import local
from designer.panels.approval import ApprovalForm
from designer.panels.automated_step import AutomatedStepForm
from designer.panels.base import SECTIONS, BlockForm
from designer.panels.boundary import BoundaryForm, EventsSection
from designer.panels.call import CallForm
from designer.panels.decision import DecisionForm
from designer.panels.end import EndForm
from designer.panels.error_end import ErrorEndForm
from designer.panels.first_event import FirstEventForm
from designer.panels.for_each import ForEachSection
from designer.panels.group import GroupForm
from designer.panels.inclusive import InclusiveForm
from designer.panels.not_run import LaneForm, NoteForm, UnsupportedForm
from designer.panels.notify import NotifyForm
from designer.panels.parallel import ParallelForm
from designer.panels.path import PathForm
from designer.panels.process import ProcessForm
from designer.panels.set_data import SetDataForm
from designer.panels.start import StartForm
from designer.panels.stop import StopForm
from designer.panels.wait import WaitForm

# Business block kinds by BPMN element: the one place the panel maps one to the other.
PANELS: dict[str, type[BlockForm]] = {
    "process": ProcessForm,
    "startEvent": StartForm,
    "userTask": ApprovalForm,
    "serviceTask": AutomatedStepForm,
    "sendTask": NotifyForm,
    "exclusiveGateway": DecisionForm,
    "parallelGateway": ParallelForm,
    "eventBasedGateway": FirstEventForm,
    "inclusiveGateway": InclusiveForm,
    "scriptTask": SetDataForm,
    "intermediateCatchEvent": WaitForm,
    "callActivity": CallForm,
    "subProcess": GroupForm,
    "boundaryEvent": BoundaryForm,
    "endEvent": EndForm,
    "sequenceFlow": PathForm,
    "textAnnotation": NoteForm,
    "group": NoteForm,
    "association": NoteForm,
    "dataObjectReference": NoteForm,
    "dataStoreReference": NoteForm,
    "participant": LaneForm,
    "lane": LaneForm,
}

# What "This end means" offers on an End, in this order.
EndForm.variants[:] = [EndForm, ErrorEndForm, StopForm]
# The sections shared by several kinds, in the order the panel shows them.
SECTIONS[:] = [ForEachSection, EventsSection]


def form_class(element: etree._Element) -> type[BlockForm]:
    """The panel form for an element; elements Baton does not run get an explanation."""
    return PANELS.get(local(element), UnsupportedForm).panel_for(element)
