"""What a block kind's reader gets from the compiler: the ``ReadContext``.

Each block kind (``orchestration.engine.blocks.<kind>``) reads its own BPMN
element with ``read(element, ctx)`` and may check its node once flows are known
(``connect(node, ctx)``) and once every variable is typed (``check(node, ctx)``).
The compiler drives the pass and owns the state; kinds only use the public
methods and helpers below, so a new kind never reaches into the compiler.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from lxml import etree

from orchestration import expressions, values
from orchestration.bpmn.graph import Flow, Node, VariableType
from orchestration.bpmn.parse import BATON_NS, bpmn
from orchestration.bpmn.problems import Problem, element_label, node_label

__all__ = [
    "Declaration",
    "Expect",
    "Expression",
    "ReadContext",
    "Scope",
    "Subject",
    "baton_attr",
    "baton_children",
    "baton_name",
    "clean",
    "event_definitions",
    "local_name",
    "text_of",
]

# What an expression may read: the instance's variables; those plus a step's ``result``; a webhook's
# ``payload``; the variables plus a For each's ``progress`` (its outputs so far, completed and total).
Scope = Literal["variables", "output", "payload", "progress"]
# What an expression must give, beyond compiling: a boolean, a number, a date, a correlation key, a list.
Expect = Literal["bool", "number", "moment", "key", "list", "text"]

_VARIABLE_TYPES: dict[str, VariableType] = {t: t for t in expressions.VARIABLE_TYPES}
_RESERVED = {"result": "the output of a step", "payload": "the body of a webhook"}


class Subject(NamedTuple):
    """The element a problem is about: its id, its name and its business label."""

    id: str
    name: str
    label: str

    def text(self) -> str:
        """How a message names the element: 'Decision "Within limit?" (gw_limit)'."""
        name = f' "{self.name}"' if self.name else ""
        return f"{self.label}{name} ({self.id})"


@dataclass
class Expression:
    """An expression to check once every variable's type is known."""

    subject: Subject
    what: str
    source: str
    scope: Scope
    expect: Expect | None = None
    declared: VariableType | None = None  # an output's declared type, to compare with the expression's
    line: int = 1  # where the expression starts inside the text the user edits (Set data maps)
    column: int = 1


@dataclass
class Declaration:
    """A variable an element sets, with its type (refined later when ``inferred`` types it)."""

    name: str
    type: VariableType
    subject: Subject
    inferred: Expression | None = None  # typed by this expression (Set data, webhook inputs)


@dataclass
class ReadContext:
    """The compile pass's state, with what block kinds may do to it.

    ``lanes`` and ``messages`` are known before any element is read; ``nodes`` and
    ``flows`` grow as elements and flows are read (complete when ``connect`` hooks
    run); ``variables`` is typed before ``check`` hooks run.
    """

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    nodes: dict[str, Node] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)
    # element id -> the element it is attached to ("" if none), for elements refused but kept as flow ends.
    placeholders: dict[str, str] = field(default_factory=dict)
    declarations: list[Declaration] = field(default_factory=list)
    expressions: list[Expression] = field(default_factory=list)
    messages: dict[str, str] = field(default_factory=dict)  # message id -> name
    error_codes: dict[str, str] = field(default_factory=dict)  # bpmn:error id -> its errorCode
    used_messages: list[str] = field(default_factory=list)
    lanes: dict[str, str] = field(default_factory=dict)  # element id -> lane name
    variables: dict[str, VariableType] = field(default_factory=dict)

    # --- reporting

    def error(
        self, subject: Subject | None, message: str, line: int | None = None, column: int | None = None
    ) -> None:
        """Report an error about ``subject`` (or the file when None); the version cannot be published."""
        self.errors.append(_problem(subject, message, line, column))

    def warn(self, subject: Subject | None, message: str) -> None:
        """Report a warning about ``subject`` (or the file when None)."""
        self.warnings.append(_problem(subject, message, None, None))

    def refuse(self, element: etree._Element, subject: Subject, what: str, instead: str | None) -> None:
        """Report an element Baton does not run; its flows still connect, so they are not reported too."""
        subject = subject._replace(label="Element")
        self.error(subject, f"is a {what}, which Baton does not run" + (f"; {instead}." if instead else "."))
        self.placeholders[subject.id] = element.get("attachedToRef", "")

    def subject(self, element: etree._Element) -> Subject:
        """The element as problems name it: its id, its name and its business label."""
        return Subject(
            element.get("id", ""), clean(element.get("name", "")), element_label(local_name(element))
        )

    def subject_of(self, node: Node) -> Subject:
        """A compiled node as problems name it, by its kind's label."""
        return Subject(node["id"], node["name"], node_label(node))

    def node_text(self, node: Node) -> str:
        """How a message names a compiled node: 'Parallel split "Split" (gw_split)'."""
        name = f' "{node["name"]}"' if node["name"] else ""
        return f"{node_label(node)}{name} ({node['id']})"

    # --- variables and expressions

    def declare(self, name: str, variable_type: VariableType, subject: Subject) -> None:
        """Declare that ``subject`` sets the variable ``name`` to a value of ``variable_type``."""
        self.declarations.append(Declaration(name, variable_type, subject))

    def declare_inferred(self, name: str, subject: Subject, expression: Expression) -> None:
        """Declare a variable typed by ``expression`` once the types it reads are known; check it too."""
        self.declarations.append(Declaration(name, "dyn", subject, inferred=expression))
        self.expressions.append(expression)

    def check_expression(
        self,
        subject: Subject,
        what: str,
        source: str,
        scope: Scope = "variables",
        *,
        expect: Expect | None = None,
        line: int = 1,
        column: int = 1,
    ) -> Expression:
        """Queue a CEL expression to check once every variable is typed; ``what`` names it in errors."""
        expression = Expression(subject, what, source, scope, expect=expect, line=line, column=column)
        self.expressions.append(expression)
        return expression

    def variable_name_ok(self, name: str, subject: Subject, what: str) -> bool:
        """Whether ``name`` may be set as a variable; reports why not."""
        if not expressions.is_identifier(name):
            self.error(subject, f'{what} "{name}" is not a valid variable name (letters, digits and _).')
            return False
        if name in expressions.BUILTIN_VARIABLES:
            self.error(subject, f'{what} "{name}" would overwrite a built-in variable.')
            return False
        if name in _RESERVED:
            self.error(subject, f'{what} "{name}" is reserved for {_RESERVED[name]}.')
            return False
        return True

    def mapping(
        self,
        element: etree._Element,
        subject: Subject,
        tag: Literal["input", "output"],
        *,
        scope: Scope,
        declares: Literal["typed", "inferred"] | None = None,
    ) -> dict[str, str]:
        """``baton:input``/``baton:output`` children as name -> CEL, queued for checking.

        ``declares`` says whether each name is a variable the element sets, with the
        type written on it (``typed``) or the type of its expression (``inferred``).
        """
        mapping: dict[str, str] = {}
        for item in baton_children(element, tag):
            name = item.get("name", "").strip()
            source = item.get("expression", "").strip()
            what = f'{tag} "{name}"'
            if not name:
                self.error(subject, f"has an {tag} with no name.")
                continue
            if name in mapping:
                self.error(subject, f'has two {tag}s named "{name}".')
                continue
            if not source:
                self.error(subject, f"{what} has no expression.")
                continue
            mapping[name] = source
            expr = Expression(subject, what, source, scope)
            if declares is None:
                self.expressions.append(expr)
            elif self.variable_name_ok(name, subject, tag):
                if declares == "inferred":
                    self.declarations.append(Declaration(name, "dyn", subject, inferred=expr))
                else:
                    written = item.get("type", "").strip() or "dyn"
                    declared = _VARIABLE_TYPES.get(written)
                    if declared is None:
                        self.error(subject, f'{what} has unknown type "{written}".')
                    expr.declared = declared or "dyn"
                    self.declare(name, expr.declared, subject)
                self.expressions.append(expr)
        return mapping

    # --- reading values

    def flag(self, raw: str | None, subject: Subject, what: str) -> bool:
        """A true/false setting (absent is false); reports a word that is neither."""
        if raw is None or not raw.strip():
            return False
        flag = values.parse_flag(raw)
        if flag is None:
            self.error(subject, f'{what} is "{raw}"; use true or false.')
        return bool(flag)

    def number(
        self, raw: str | None, subject: Subject, what: str, default: float | None = None
    ) -> float | None:
        """A number setting (absent gives ``default``); reports text that is not a number."""
        if raw is None or not raw.strip():
            return default
        value = values.parse_number(raw.strip())
        if value is None:
            self.error(subject, f'{what} "{raw}" is not a number.')
        return value

    def message_name(self, definition: etree._Element, subject: Subject) -> str:
        """The name of the message a message event definition refers to ("" when it cannot)."""
        ref = definition.get("messageRef", "").strip()
        if not ref:
            self.error(subject, "does not name its message.")
            return ""
        name = self.messages.get(ref)
        if name is None:
            self.error(subject, f'refers to message "{ref}", which the file does not define.')
            return ""
        self.used_messages.append(name)
        return name

    def error_code(self, definition: etree._Element, subject: Subject) -> str:
        """The code of the error an error event definition refers to ("" when it names none: any error)."""
        ref = definition.get("errorRef", "").strip()
        if not ref:
            return ""
        code = self.error_codes.get(ref)
        if code is None:
            self.error(subject, f'refers to error "{ref}", which the file does not define.')
            return ""
        return code

    def event_definitions(self, element: etree._Element, subject: Subject) -> list[etree._Element]:
        """An event's definitions (timer, message, ...); reports more than one."""
        defs = event_definitions(element)
        if len(defs) > 1:
            self.error(subject, "has several event definitions; Baton runs one per event.")
        return defs

    def lane_of(self, element_id: str) -> str:
        """The name of the innermost lane holding the element ("" when none)."""
        return self.lanes.get(element_id, "")


def _problem(subject: Subject | None, message: str, line: int | None, column: int | None) -> Problem:
    if subject is None:
        return Problem(None, "", message, line, column)
    return Problem(subject.id, subject.name, message, line, column, subject.label)


# --- reading elements


def local_name(element: etree._Element) -> str:
    """An element's tag without its namespace: ``userTask``."""
    return str(etree.QName(element).localname)


def baton_name(name: str) -> str:
    """The qualified name of a ``baton:`` attribute or element, for lxml."""
    return f"{{{BATON_NS}}}{name}"


def baton_attr(element: etree._Element, name: str) -> str:
    """A ``baton:`` attribute's value, stripped ("" when absent)."""
    return (element.get(baton_name(name)) or "").strip()


def baton_children(element: etree._Element, local: str) -> Iterator[etree._Element]:
    """The ``baton:<local>`` elements inside the element's ``extensionElements``."""
    ext = element.find(bpmn("extensionElements"))
    if ext is not None:
        yield from ext.iterchildren(baton_name(local))


def text_of(element: etree._Element | None) -> str:
    """An element's text, stripped ("" when the element is absent)."""
    return "".join(element.itertext()).strip() if element is not None else ""


def clean(text: str) -> str:
    """Names may hold line breaks from the diagram's label editor."""
    return " ".join(text.split())


def event_definitions(element: etree._Element) -> list[etree._Element]:
    """An event's definition children (``timerEventDefinition``, ...), in order, without reporting."""
    return [c for c in element if isinstance(c.tag, str) and local_name(c).endswith("EventDefinition")]
