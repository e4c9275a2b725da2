"""What the compiler reports: a problem names the element it is about in plain language."""

from __future__ import annotations

from dataclasses import dataclass

# Business names of BPMN elements, as the designer's palette shows them.
ELEMENT_LABELS: dict[str, str] = {
    "process": "Process",
    "startEvent": "Start",
    "endEvent": "End",
    "userTask": "Approval",
    "serviceTask": "Automated step",
    "sendTask": "Notify",
    "exclusiveGateway": "Decision",
    "parallelGateway": "Parallel gateway",
    "scriptTask": "Set data",
    "intermediateCatchEvent": "Wait",
    "callActivity": "Sub-process call",
    "sequenceFlow": "Flow",
    "lane": "Lane",
}


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


_KIND_LABELS: dict[str, str] = {
    "start": "Start",
    "end": "End",
    "user_task": "Approval",
    "service_task": "Automated step",
    "send_task": "Notify",
    "exclusive": "Decision",
    "parallel": "Parallel gateway",
    "script": "Set data",
    "timer_catch": "Wait",
    "message_catch": "Wait",
    "call_activity": "Sub-process call",
}


def kind_label(kind: str, role: str | None = None) -> str:
    """The business name of a compiled node kind, refined by a gateway's role."""
    if kind == "exclusive" and role == "merge":
        return "Merge"
    if kind == "parallel" and role == "split":
        return "Parallel split"
    if kind == "parallel" and role == "join":
        return "Parallel join"
    return _KIND_LABELS.get(kind, "Element")
