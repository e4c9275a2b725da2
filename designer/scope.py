"""The variables a block can read: typed, with where each comes from, for the panel's pickers and checks.

A variable is in scope at a block when a block before it sets it: the start's
form fields (or webhook mapping), outputs of earlier automated steps, results of
earlier approvals, Set data. Types are the compiler's (``CompileResult.declared``),
so the panel checks expressions exactly as publishing will.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lxml import etree

from approvals.actions import OUTCOMES
from designer.diagram import Diagram, baton_attr, extension_items, local, loop
from orchestration import expressions
from orchestration.bpmn.graph import VariableType
from orchestration.bpmn.names import block_label
from orchestration.connectors import presets

BUILTIN_LABELS = {
    "initiator": "Who started it (username)",
    "instance_id": "This request's reference",
    "business_key": "The reference another system gave it",
    "requested_on": "Day the request was made",
    "request_number": "Request number",
}
# What every approval's result variable holds (see approvals.actions.decide_task).
APPROVAL_MEMBERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("outcome", "Outcome", OUTCOMES),
    ("comment", "Comment", ()),
    ("by", "Decided by (username)", ()),
)
NUMERIC: tuple[VariableType, ...] = ("number", "integer")


@dataclass(frozen=True)
class Variable:
    """One variable (or a known member of one, ``approval.outcome``) a block can read."""

    name: str
    type: VariableType
    origin: str  # where it is set, in business words
    label: str = ""
    choices: tuple[str, ...] = ()

    @property
    def shown(self) -> str:
        """How a picker names it, in words: its label (else its name, spaced) and its type, ``Amount (number)``."""
        return f"{self.called} ({TYPE_WORDS.get(self.type, self.type)})"

    @property
    def called(self) -> str:
        """Its name in words: its label, else its name with spaces (``cost centre``)."""
        return self.label or self.name.replace("_", " ")


TYPE_WORDS: dict[str, str] = {
    "string": "text",
    "number": "number",
    "integer": "whole number",
    "boolean": "yes/no",
    "date": "date",
    "map": "record",
    "list": "list",
    "dyn": "any",
}


@dataclass(frozen=True)
class Scope:
    """The variables in scope at one element, in the order they are set."""

    variables: tuple[Variable, ...]

    def types(self) -> dict[str, VariableType]:
        """Top-level names and types, as :func:`orchestration.expressions.check` wants them."""
        return {v.name: v.type for v in self.variables if "." not in v.name}

    def get(self, name: str) -> Variable | None:
        return next((v for v in self.variables if v.name == name), None)

    def of_type(self, *types: VariableType) -> list[Variable]:
        return [v for v in self.variables if v.type in types]

    def groups(self, variables: Iterable[Variable] | None = None) -> list[tuple[str, list[Variable]]]:
        """Variables grouped by where they come from, for ``<optgroup>`` pickers."""
        grouped: dict[str, list[Variable]] = {}
        for variable in self.variables if variables is None else variables:
            grouped.setdefault(variable.origin, []).append(variable)
        return list(grouped.items())


def scope_at(diagram: Diagram, declared: Mapping[str, Mapping[str, VariableType]], element_id: str) -> Scope:
    """The variables in scope at ``element_id`` (a block or a flow; "" for the whole process)."""
    element = diagram.find(element_id)
    holders: list[etree._Element] = []  # the element (when it runs For each) and the Groups around it
    if element is None or local(element) == "process":
        setters = set(declared)
    elif local(element) == "sequenceFlow":
        source = element.get("sourceRef", "").strip()
        setters = _before(diagram, source) | {source}
        holders = _groups_around(element)
    else:
        setters = _before(diagram, element_id)
        holders = [element, *_groups_around(element)]
    # Inside a Group, what is set before the Group is in scope too.
    for group in holders:
        if group is not element:
            setters |= _before(diagram, group.get("id", ""))
    variables = [
        Variable(name, t, "Built in", BUILTIN_LABELS.get(name, ""))
        for name, t in expressions.BUILTIN_VARIABLES.items()
    ]
    seen = set(expressions.BUILTIN_VARIABLES)
    for setter in _document_order(diagram, setters):
        el = diagram.find(setter)
        if el is None:
            continue
        kind = local(el)
        origin = _origin(el)
        # A Start's form, what an Approval's approver fills in, or an AI step's answer fields: labels
        # and allowed values for the pickers.
        if kind in ("startEvent", "userTask"):
            fields = {f.get("name", ""): f for f in extension_items(el, "formField")}
        else:
            fields = {
                f.get("name", ""): {**f, "label": f.get("label") or f.get("description", "")}
                for f in extension_items(el, "answerField")
            }
        given = _given_back(el) if kind in ("serviceTask", "sendTask") else {}
        runs = loop(el)
        # A For each's item lives only while it runs: after it, only its collected results remain.
        item = (runs["elementVariable"] or "item") if runs is not None else None
        for name, t in declared.get(setter, {}).items():
            if name == item:
                continue
            if name not in seen:
                seen.add(name)
                field = fields.get(name, {})
                choices = tuple(c.strip() for c in field.get("choices", "").split(",") if c.strip())
                label = " ".join(field.get("label", "").split()) or given.get(name, "")
                variables.append(Variable(name, t, origin, label, choices))
            if kind == "userTask" and t == "map" and f"{name}.outcome" not in seen:
                # An approval's decision is a record whose members the pickers can offer one by one.
                for member, label, member_choices in APPROVAL_MEMBERS:
                    seen.add(f"{name}.{member}")
                    variables.append(Variable(f"{name}.{member}", "string", origin, label, member_choices))
    for holder in holders:
        found = loop(holder)
        name = (found["elementVariable"] or "item") if found is not None else ""
        if name and name not in seen:
            # Each run of a For each reads its own item under this name.
            seen.add(name)
            what = " ".join(holder.get("name", "").split()) or holder.get("id", "")
            variables.append(Variable(name, "dyn", f"For each: {what}", "One item of the list"))
    return Scope(tuple(variables))


def _given_back(el: etree._Element) -> dict[str, str]:
    """Plain labels of what an automated step gives back, from its action's declared outputs."""
    connector = (baton_attr(el, "connector") or ("email" if local(el) == "sendTask" else "")).strip()
    found = presets.action(connector, (baton_attr(el, "preset") or "").strip()) if connector else None
    if found is None:
        return {}
    labels = {}
    for item in extension_items(el, "output"):
        name = item.get("name", "")
        declared = found.output(name)
        if declared is not None and item.get("expression", "").strip() == found.result_of(name):
            labels[name] = declared.label
    return labels


def _groups_around(element: etree._Element) -> list[etree._Element]:
    """The Groups (embedded sub-processes) ``element`` is drawn in, innermost first."""
    groups = []
    parent = element.getparent()
    while parent is not None and local(parent) == "subProcess":
        groups.append(parent)
        parent = parent.getparent()
    return groups


def _before(diagram: Diagram, element_id: str) -> set[str]:
    """Every element with a path of flows to ``element_id`` (itself only through a loop, and then not)."""
    sources: dict[str, list[str]] = {}
    for _, source, target in diagram.edges():
        sources.setdefault(target, []).append(source)
    found: set[str] = set()
    queue = deque(sources.get(element_id, []))
    while queue:
        node = queue.popleft()
        if node in found or node == element_id:
            continue
        found.add(node)
        queue.extend(sources.get(node, []))
    return found


def _document_order(diagram: Diagram, ids: set[str]) -> list[str]:
    ordered = [el.get("id", "") for el in diagram.root.iter() if el.get("id") in ids]
    # Starts first: their fields are what people think of as "the request".
    return sorted(dict.fromkeys(ordered), key=lambda i: 0 if _is_start(diagram, i) else 1)


def _is_start(diagram: Diagram, element_id: str) -> bool:
    el = diagram.find(element_id)
    return el is not None and local(el) == "startEvent"


def _origin(el: etree._Element) -> str:
    name = " ".join(el.get("name", "").split())
    kind = local(el)
    if kind == "startEvent":
        return f"Start: {name}" if name and name != "Start" else "Start"
    # An unnamed block by what it is, as the palette says it: never its id.
    return name or block_label(el)
