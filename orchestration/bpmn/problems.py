"""What the compiler reports: a problem names the element it is about in plain language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Business names of the elements that are not block kinds; the kinds' labels come from their modules.
_OTHER_LABELS: dict[str, str] = {
    "process": "Process",
    "sequenceFlow": "Flow",
    "lane": "Lane",
}


def element_label(local: str) -> str:
    """The business name of a BPMN element (``userTask`` -> "Approval"), as the palette shows it."""
    from orchestration.engine.blocks import kind_for_element  # the registry imports this module

    kind = kind_for_element(local)
    return kind.label if kind is not None else _OTHER_LABELS.get(local, "Element")


@dataclass(frozen=True)
class Problem:
    """An error or warning about one element (or about the file when ``element_id`` is None).

    ``line`` and ``column`` locate a syntax error in the XML file, or an error inside
    a CEL expression (then they count within the expression, as the designer's
    side panel shows it). ``element_type`` is the business name of the element
    ("Decision", "Approval", ...) used to phrase the problem.
    """

    element_id: str | None
    element_name: str
    message: str
    line: int | None = None
    column: int | None = None
    element_type: str = ""

    @property
    def subject(self) -> str:
        """How the element is named: 'Decision "Within limit?" (gw_limit)'."""
        parts = [self.element_type or ("Element" if self.element_id else "")]
        if self.element_name:
            parts.append(f'"{self.element_name}"')
        if self.element_id:
            parts.append(f"({self.element_id})")
        return " ".join(p for p in parts if p)

    def __str__(self) -> str:
        subject = self.subject
        if not subject:
            return self.message
        # A predicate ("is a bpmn:task, ...") reads on from the subject; anything else follows a colon.
        separator = " " if self.message.startswith("is ") else ": "
        return f"{subject}{separator}{self.message}"


def node_label(node: Mapping[str, Any]) -> str:
    """The business name of a compiled node: its kind's, or its preset's ("Ask AI"), by its role."""
    from orchestration.engine.blocks import registered  # the registry imports this module

    found = registered(node["kind"])
    return "Element" if found is None else found.label_for(node.get("config") or {})


def kind_label(kind: str, role: str | None = None) -> str:
    """The business name of a compiled node kind, refined by a gateway's role ("Parallel split")."""
    from orchestration.engine.blocks import registered  # the registry imports this module

    found = registered(kind)
    if found is None:
        return "Element"
    return found.role_labels.get(role or "", found.label)
