"""One posted diagram, read element by element, and a side-panel payload applied to it.

The designer posts the canvas's current (maybe unsaved) XML with every panel request.
:class:`Diagram` reads what a panel form needs from it. :func:`apply_payload` changes
the XML exactly as ``static/designer/panel.js`` changes the bpmn-js model, so the
server can show what the compiler will say after a change, and tests can prove that
what a form writes is what the compiler reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, TypedDict

from lxml import etree

from orchestration.bpmn.parse import BATON_NS, BPMN_NS, XSI_NS, baton, bpmn, load
from orchestration.bpmn.problems import Problem

TimerKind = Literal["timeDuration", "timeDate", "timeCycle"]
StartKind = Literal["form", "schedule", "webhook", "event"]
# The baton elements kept inside bpmn:extensionElements, by the payload's key.
EXTENSION_KINDS = ("formField", "property", "input", "output")


class Timer(TypedDict):
    kind: TimerKind
    value: str


class Message(TypedDict):
    name: str


class ErrorRef(TypedDict):
    code: str  # "" for any error (no errorRef)


class Loop(TypedDict):
    """A For each, as ``bpmn:multiInstanceLoopCharacteristics`` with Baton's attributes."""

    collection: str
    elementVariable: str
    isSequential: bool
    completion: str  # "" for none
    outputCollection: str  # "" for none
    outputElement: str  # "" for none


class NewEnd(TypedDict):
    id: str
    name: str


class DecisionPath(TypedDict):
    """A path out of an Approval taken for one decision: an existing path marked, or a new one to a new End."""

    flow: str
    outcome: str  # "approved", "rejected", "changes_requested"
    name: str  # the path's label on the diagram
    end: NotRequired[NewEnd]  # a new End the new path leads to (its outcome: the decision's)


class Attach(TypedDict):
    """A new event on a step's edge, with a path to a new End; ``settings`` then applies to the event."""

    id: str
    host: str
    definition: Literal["timer", "error", "message"]
    interrupting: bool
    end: NewEnd
    flow: str
    settings: Payload


class Payload(TypedDict):
    """What a valid panel form asks the canvas to change; a key left out means "leave as is"."""

    element: str
    name: NotRequired[str]
    attrs: NotRequired[dict[str, str | int | float | None]]  # "baton:dueIn": "P2D"; None removes it
    extensions: NotRequired[dict[str, list[dict[str, Any]]]]  # kinds present replace their elements
    condition: NotRequired[str]  # sequence flow; "" removes the condition
    isDefault: NotRequired[bool]  # sequence flow leaving a gateway
    otherDefault: NotRequired[str]  # another flow leaving the same gateway, made its default
    script: NotRequired[str]  # Set data: a CEL map literal
    timer: NotRequired[Timer]
    message: NotRequired[Message]
    error: NotRequired[ErrorRef]  # an error event's definition names this error code
    noDefinition: NotRequired[bool]  # a plain event again: its event definition is removed
    terminate: NotRequired[bool]  # an End that stops everything (terminateEventDefinition)
    startKind: NotRequired[StartKind]
    loop: NotRequired[Loop | None]  # None: runs once, not For each
    attach: NotRequired[Attach]
    paths: NotRequired[list[DecisionPath]]  # an Approval's paths per decision, marked or added
    remove: NotRequired[list[str]]  # element ids taken off the diagram, with their paths


class DiagramError(Exception):
    """The posted XML cannot be read; ``problem`` says why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def local(el: etree._Element) -> str:
    """The local name of an element: ``userTask`` for ``bpmn:userTask``."""
    return str(etree.QName(el).localname)


@dataclass
class Diagram:
    """A parsed BPMN document and the process the compiler would run."""

    root: etree._Element
    process: etree._Element | None
    _by_id: dict[str, etree._Element] | None = field(default=None, init=False, repr=False)

    @classmethod
    def parse(cls, xml: str | bytes) -> Diagram:
        """Read ``xml`` with the compiler's safe parser; raise :class:`DiagramError` if it cannot."""
        root, problem = load(xml)
        if root is None:
            assert problem is not None
            raise DiagramError(problem)
        processes = root.findall(bpmn("process"))
        executable = [p for p in processes if p.get("isExecutable", "").strip().lower() == "true"]
        # The compiler's rule: a lone process runs whatever it says; otherwise the executable one.
        process = processes[0] if len(processes) == 1 else (executable[0] if executable else None)
        return cls(root, process)

    def to_xml(self) -> str:
        return etree.tostring(self.root, encoding="unicode")

    def find(self, element_id: str) -> etree._Element | None:
        """The BPMN element with this id (diagram shapes are never returned)."""
        if not element_id:
            return None
        # One walk builds the index (a panel asks once per block in scope); a miss rebuilds it once,
        # in case an apply added the element since.
        for fresh in (False, True):
            if self._by_id is None or fresh:
                self._by_id = {}
                for el in self.root.iter(f"{{{BPMN_NS}}}*"):
                    self._by_id.setdefault(el.get("id") or "", el)
            found = self._by_id.get(element_id)
            if found is not None:
                return found
        return None

    # --- flows

    def _flows(self) -> list[etree._Element]:
        return list(self.root.iter(bpmn("sequenceFlow")))

    def outgoing(self, element_id: str) -> list[etree._Element]:
        return [f for f in self._flows() if f.get("sourceRef", "").strip() == element_id]

    def incoming(self, element_id: str) -> list[etree._Element]:
        return [f for f in self._flows() if f.get("targetRef", "").strip() == element_id]

    def edges(self) -> list[tuple[str, str, str]]:
        """Every sequence flow as (flow id, source id, target id)."""
        return [
            (f.get("id", ""), f.get("sourceRef", "").strip(), f.get("targetRef", "").strip())
            for f in self._flows()
        ]

    def source(self, flow: etree._Element) -> etree._Element | None:
        return self.find(flow.get("sourceRef", "").strip())

    # --- messages

    def message_name(self, ref: str) -> str:
        for message in self.root.iter(bpmn("message")):
            if message.get("id") == ref:
                return " ".join(message.get("name", "").split()) or ref
        return ""

    def message_names(self) -> list[str]:
        names = (" ".join(m.get("name", "").split()) for m in self.root.iter(bpmn("message")))
        return sorted({n for n in names if n})

    def errors(self) -> list[tuple[str, str]]:
        """Every ``bpmn:error`` as (id, errorCode)."""
        return [(e.get("id", ""), e.get("errorCode", "").strip()) for e in self.root.iter(bpmn("error"))]

    def error_code(self, ref: str) -> str:
        return next((code for error_id, code in self.errors() if error_id == ref), "")

    def ensure_error(self, code: str) -> str:
        """The id of the ``bpmn:error`` with ``code``, created beside the process if missing."""
        found = next((error_id for error_id, known in self.errors() if known == code), None)
        if found:
            return found
        ref = self.new_id("Error_" + (re.sub(r"[^A-Za-z0-9_]+", "_", code).strip("_") or "error"))
        self._beside_process(etree.Element(bpmn("error"), id=ref, name=code, errorCode=code))
        return ref

    def new_id(self, base: str) -> str:
        """``base``, or ``base_2``…: an id no element of the document has."""
        taken = {el.get("id") for el in self.root.iter()}
        ref, n = base, 1
        while ref in taken:
            n += 1
            ref = f"{base}_{n}"
        return ref

    def reindex(self) -> None:
        """Forget the id index after elements were added or removed."""
        self._by_id = None

    def attached_to(self, host_id: str) -> list[etree._Element]:
        """The events on ``host_id``'s edge, in document order."""
        return [
            el
            for el in self.root.iter(bpmn("boundaryEvent"))
            if el.get("attachedToRef", "").strip() == host_id
        ]

    def _beside_process(self, element: etree._Element) -> None:
        anchor = self.process if self.process is not None else self.root.find(bpmn("process"))
        if anchor is not None:
            anchor.addprevious(element)
        else:
            self.root.append(element)
        self.reindex()

    def ensure_message(self, name: str) -> str:
        """The id of the bpmn:message named ``name``, created beside the process if missing."""
        for message in self.root.iter(bpmn("message")):
            if " ".join(message.get("name", "").split()) == name:
                return message.get("id", "")
        ref = self.new_id("Message_" + (re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_") or "message"))
        self._beside_process(etree.Element(bpmn("message"), id=ref, name=name))
        return ref


# --- reading one element


def baton_attr(el: etree._Element, name: str) -> str | None:
    """A ``baton:`` attribute's value, or None when absent."""
    return el.get(baton(name))


def extension_items(el: etree._Element, kind: str) -> list[dict[str, str]]:
    """The attributes of each ``baton:<kind>`` element in ``el``'s extension elements, in order."""
    ext = el.find(bpmn("extensionElements"))
    if ext is None:
        return []
    return [{str(k): str(v) for k, v in item.attrib.items()} for item in ext.iterchildren(baton(kind))]


def event_definition(el: etree._Element) -> etree._Element | None:
    for child in el:
        if isinstance(child.tag, str) and local(child).endswith("EventDefinition"):
            return child
    return None


def timer(el: etree._Element) -> Timer | None:
    """A timer event's kind and value, or None when the event has no timer."""
    definition = event_definition(el)
    if definition is None or local(definition) != "timerEventDefinition":
        return None
    kinds: tuple[TimerKind, ...] = ("timeDuration", "timeDate", "timeCycle")
    for kind in kinds:
        child = definition.find(bpmn(kind))
        if child is not None:
            return {"kind": kind, "value": _text(child)}
    return {"kind": "timeDuration", "value": ""}


def message(el: etree._Element, diagram: Diagram) -> str | None:
    """The name of the message an event waits for or starts on, or None when it has none."""
    definition = event_definition(el)
    if definition is None or local(definition) != "messageEventDefinition":
        return None
    return diagram.message_name(definition.get("messageRef", "").strip())


def error_ref(el: etree._Element, diagram: Diagram) -> str | None:
    """The error code an error event names ("" for any error), or None when it has no error definition."""
    definition = event_definition(el)
    if definition is None or local(definition) != "errorEventDefinition":
        return None
    return diagram.error_code(definition.get("errorRef", "").strip())


def loop(el: etree._Element) -> Loop | None:
    """The element's For each, or None when it runs once."""
    mi = el.find(bpmn("multiInstanceLoopCharacteristics"))
    if mi is None:
        return None
    return {
        "collection": (baton_attr(mi, "collection") or "").strip(),
        "elementVariable": (baton_attr(mi, "elementVariable") or "").strip(),
        "isSequential": mi.get("isSequential", "").strip().lower() == "true",
        "completion": _text(mi.find(bpmn("completionCondition"))),
        "outputCollection": (baton_attr(mi, "outputCollection") or "").strip(),
        "outputElement": (baton_attr(mi, "outputElement") or "").strip(),
    }


def condition(flow: etree._Element) -> str | None:
    expression = flow.find(bpmn("conditionExpression"))
    return None if expression is None else _text(expression)


def script(el: etree._Element) -> str:
    return _text(el.find(bpmn("script")))


def documentation(el: etree._Element) -> str:
    return _text(el.find(bpmn("documentation")))


def _text(el: etree._Element | None) -> str:
    return "".join(el.itertext()).strip() if el is not None else ""


# --- applying a payload


def apply_payload(diagram: Diagram, payload: Payload) -> None:
    """Change ``diagram`` as ``BatonPanel.apply`` changes the canvas; raise KeyError for an unknown element."""
    if "remove" in payload:
        _remove(diagram, payload["remove"])
    el = diagram.find(payload["element"])
    if el is None:
        raise KeyError(payload["element"])
    if "name" in payload and " ".join(el.get("name", "").split()) != " ".join(payload["name"].split()):
        _set(el, "name", payload["name"] or None)  # a line break from the label editor is kept otherwise
    for name, value in payload.get("attrs", {}).items():
        prefix, _, attr = name.rpartition(":")
        key = baton(attr) if prefix == "baton" else attr
        _set(el, key, None if value is None else _attr_text(value))
    if "extensions" in payload:
        _replace_extensions(el, payload["extensions"])
    if "condition" in payload:
        _set_condition(el, payload["condition"])
    if "isDefault" in payload:
        _set_default(diagram, el, payload["isDefault"])
    other = diagram.find(payload.get("otherDefault", "")) if payload.get("otherDefault") else None
    if other is not None:
        _set_default(diagram, other, True)
    if "script" in payload:
        el.set("scriptFormat", "cel")
        body = el.find(bpmn("script"))
        if body is None:
            body = etree.SubElement(el, bpmn("script"))
        body.text = payload["script"]
    if payload.get("startKind") in ("form", "webhook") or payload.get("noDefinition"):
        _remove_event_definitions(el)
    if "timer" in payload:
        _set_timer(el, payload["timer"])
    if "message" in payload:
        definition = _event_definition_of(el, "messageEventDefinition")
        definition.set("messageRef", diagram.ensure_message(payload["message"]["name"]))
    if "error" in payload:
        definition = _event_definition_of(el, "errorEventDefinition")
        code = payload["error"]["code"]
        _set(definition, "errorRef", diagram.ensure_error(code) if code else None)
    if payload.get("terminate"):
        _event_definition_of(el, "terminateEventDefinition")
    if "loop" in payload:
        _set_loop(el, payload["loop"])
    if "attach" in payload:
        _attach(diagram, payload["attach"])
    for path in payload.get("paths", []):
        _decision_path(diagram, el, path)


def _set_loop(el: etree._Element, value: Loop | None) -> None:
    mi = el.find(bpmn("multiInstanceLoopCharacteristics"))
    if value is None:
        if mi is not None:
            el.remove(mi)
        return
    if mi is None:
        mi = etree.Element(bpmn("multiInstanceLoopCharacteristics"))
        # BPMN puts loop characteristics after the activity's own settings, before what it holds.
        before = [c for c in el if isinstance(c.tag, str) and local(c) in _BEFORE_LOOP]
        if before:
            before[-1].addnext(mi)
        else:
            el.insert(0, mi)
    sequential = "true" if value["isSequential"] else ("false" if mi.get("isSequential") else None)
    _set(mi, "isSequential", sequential)
    _set(mi, baton("collection"), value["collection"] or None)
    _set(mi, baton("elementVariable"), value["elementVariable"] or None)
    _set(mi, baton("outputCollection"), value["outputCollection"] or None)
    _set(mi, baton("outputElement"), value["outputElement"] or None)
    old = mi.find(bpmn("completionCondition"))
    if old is not None and _text(old) == value["completion"]:
        return
    if old is not None:
        mi.remove(old)
    if value["completion"]:
        _formal_expression(mi, "completionCondition", value["completion"])


_BEFORE_LOOP = frozenset(
    {
        "documentation",
        "extensionElements",
        "incoming",
        "outgoing",
        "ioSpecification",
        "property",
        "dataInputAssociation",
        "dataOutputAssociation",
        "resourceRole",
    }
)


def _attach(diagram: Diagram, attach: Attach) -> None:
    """A new event on the host's edge, and a path from it to a new End, in the host's container."""
    host = diagram.find(attach["host"])
    container = host.getparent() if host is not None else None
    if container is None:
        raise KeyError(attach["host"])
    event = etree.SubElement(container, bpmn("boundaryEvent"), id=attach["id"], attachedToRef=attach["host"])
    if not attach["interrupting"]:
        event.set("cancelActivity", "false")
    etree.SubElement(event, bpmn(f"{attach['definition']}EventDefinition"))
    end = etree.SubElement(container, bpmn("endEvent"), id=attach["end"]["id"])
    if attach["end"]["name"]:
        end.set("name", attach["end"]["name"])
    etree.SubElement(
        container,
        bpmn("sequenceFlow"),
        id=attach["flow"],
        sourceRef=attach["id"],
        targetRef=attach["end"]["id"],
    )
    diagram.reindex()
    apply_payload(diagram, attach["settings"])


def _decision_path(diagram: Diagram, source: etree._Element, path: DecisionPath) -> None:
    """Mark the path ``path["flow"]`` out of ``source`` for a decision, or add it with a new End."""
    end = path.get("end")
    if end is not None:
        container = source.getparent()
        if container is None:
            raise KeyError(source.get("id", ""))
        new_end = etree.SubElement(container, bpmn("endEvent"), id=end["id"], name=end["name"])
        new_end.set(baton("outcome"), path["outcome"])
        etree.SubElement(
            container,
            bpmn("sequenceFlow"),
            id=path["flow"],
            sourceRef=source.get("id", ""),
            targetRef=end["id"],
        )
        diagram.reindex()
    flow = diagram.find(path["flow"])
    if flow is None:
        raise KeyError(path["flow"])
    _set(flow, baton("outcome"), path["outcome"])
    _set(flow, "name", path["name"])


def _remove(diagram: Diagram, ids: list[str]) -> None:
    """Take the elements off, with the paths that touch them and their shapes (as bpmn-js does)."""
    gone = set(ids)
    gone |= {flow_id for flow_id, source, target in diagram.edges() if source in gone or target in gone}
    for el in list(diagram.root.iter()):
        if el.get("id") in gone or el.get("bpmnElement") in gone:
            parent = el.getparent()
            if parent is not None:
                parent.remove(el)
    diagram.reindex()


def _set(el: etree._Element, key: str, value: str | None) -> None:
    if value is None:
        el.attrib.pop(key, None)
    else:
        el.set(key, value)


def _attr_text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _replace_extensions(el: etree._Element, extensions: dict[str, list[dict[str, Any]]]) -> None:
    ext = el.find(bpmn("extensionElements"))
    if ext is None:
        ext = etree.Element(bpmn("extensionElements"))
        # BPMN puts documentation first, then extension elements, then everything else.
        docs = el.findall(bpmn("documentation"))
        if docs:
            docs[-1].addnext(ext)
        else:
            el.insert(0, ext)
    for kind, items in extensions.items():
        existing = list(ext.iterchildren(baton(kind)))
        # New items take the place of the first old one, so untouched kinds keep their order.
        anchor = existing[0] if existing else None
        for item in items:
            child = etree.Element(baton(kind), {k: _attr_text(v) for k, v in item.items() if v is not None})
            if anchor is not None:
                anchor.addprevious(child)
            else:
                ext.append(child)
        for old in existing:
            ext.remove(old)
    if len(ext) == 0:
        el.remove(ext)


def _set_condition(flow: etree._Element, source: str) -> None:
    expression = flow.find(bpmn("conditionExpression"))
    if not source:
        if expression is not None:
            flow.remove(expression)
        return
    if expression is not None:
        flow.remove(expression)
    _formal_expression(flow, "conditionExpression", source)


def _set_default(diagram: Diagram, flow: etree._Element, is_default: bool) -> None:
    gateway = diagram.source(flow)
    if gateway is None:
        return
    flow_id = flow.get("id", "")
    if is_default:
        gateway.set("default", flow_id)
    elif gateway.get("default") == flow_id:
        del gateway.attrib["default"]


def _remove_event_definitions(el: etree._Element, keep: etree._Element | None = None) -> None:
    for child in list(el):
        if child is not keep and isinstance(child.tag, str) and local(child).endswith("EventDefinition"):
            el.remove(child)


def _event_definition_of(el: etree._Element, kind: str) -> etree._Element:
    """The element's one event definition, of ``kind``: kept when it already is, else replaced."""
    current = event_definition(el)
    keep = current if current is not None and local(current) == kind else None
    _remove_event_definitions(el, keep)
    return keep if keep is not None else etree.SubElement(el, bpmn(kind))


def _formal_expression(parent: etree._Element, tag: str, text: str) -> etree._Element:
    expression = etree.SubElement(parent, bpmn(tag))
    prefix = next((p for p, uri in parent.nsmap.items() if uri == BPMN_NS and p), "bpmn")
    expression.set(f"{{{XSI_NS}}}type", f"{prefix}:tFormalExpression")
    expression.text = text
    return expression


def _set_timer(el: etree._Element, value: Timer) -> None:
    definition = _event_definition_of(el, "timerEventDefinition")
    for child in list(definition):
        definition.remove(child)
    _formal_expression(definition, value["kind"], value["value"])


__all__ = [
    "BATON_NS",
    "Diagram",
    "DiagramError",
    "Payload",
    "apply_payload",
    "baton_attr",
    "condition",
    "documentation",
    "error_ref",
    "event_definition",
    "extension_items",
    "local",
    "loop",
    "message",
    "script",
    "timer",
]
