"""CEL written for people: literals, one-clause conditions, text with {{variables}}, recipient lists.

The side panel's forms build CEL with these and read simple CEL back into their
fields; anything the builders cannot represent raises :class:`NotRepresentable`
and the form falls back to CEL text.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from django.core.exceptions import ValidationError

from designer.scope import TYPE_WORDS, Scope, Variable
from orchestration import expressions
from orchestration.bpmn.graph import VariableType


class NotRepresentable(ValueError):
    """An expression the friendly editor cannot show: the panel opens it as CEL."""


def cel_string(text: str) -> str:
    """A double-quoted CEL string literal for ``text``."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + '"'


_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "r": "\r", "t": "\t"}


def _unquote(literal: str) -> str:
    """The text of a simple double-quoted CEL string literal (the escapes :func:`cel_string` writes)."""
    if len(literal) < 2 or literal[0] != '"' or literal[-1] != '"':
        raise NotRepresentable(literal)
    out, i, body = [], 0, literal[1:-1]
    while i < len(body):
        c = body[i]
        if c == "\\":
            if i + 1 >= len(body) or body[i + 1] not in _ESCAPES:
                raise NotRepresentable(literal)
            out.append(_ESCAPES[body[i + 1]])
            i += 2
            continue
        if c == '"':
            raise NotRepresentable(literal)
        out.append(c)
        i += 1
    return "".join(out)


def string_value(literal: str) -> str:
    """The text of a double-quoted CEL string literal; NotRepresentable when ``literal`` is not one."""
    return _unquote(literal)


def cel_double(value: float) -> str:
    """A CEL double literal: ``1000.0``, never ``1000`` (an int compared with a double is a type error)."""
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    if value == int(value) and abs(value) < 1e16:
        return f"{int(value)}.0"
    return repr(value)


_PATH = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
_STRING = r'"(?:[^"\\\n]|\\.)*"'


@dataclass(frozen=True)
class Operator:
    key: str
    label: str
    types: tuple[str, ...]  # variable types it applies to; "choice" for variables with choices
    needs_value: bool = True


OPERATORS: tuple[Operator, ...] = (
    Operator("eq", "equals", ("number", "integer", "string", "date", "choice")),
    Operator("ne", "is not", ("number", "integer", "string", "date", "choice")),
    Operator("lt", "is less than", ("number", "integer")),
    Operator("le", "is at most", ("number", "integer")),
    Operator("gt", "is more than", ("number", "integer")),
    Operator("ge", "is at least", ("number", "integer")),
    Operator("before", "is before", ("date",)),
    Operator("after", "is after", ("date",)),
    Operator("contains", "contains", ("string",)),
    Operator("starts", "starts with", ("string",)),
    Operator("in", "is one of", ("string", "choice")),
    Operator("true", "is yes", ("boolean",), needs_value=False),
    Operator("false", "is no", ("boolean",), needs_value=False),
)
_OPERATOR = {op.key: op for op in OPERATORS}
_SYMBOLS = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "before": "<", "after": ">"}
_METHODS = {"contains": "contains", "starts": "startsWith"}
BUILDER_TYPES: tuple[VariableType, ...] = ("number", "integer", "string", "date", "boolean")


def operand_kind(variable: Variable) -> str:
    """Which operators fit a variable: its type, or "choice" when it lists choices."""
    return "choice" if variable.choices else variable.type


def build_condition(variable: Variable, op: str, value: str) -> str:
    """CEL for "<variable> <operator> <value>"; raises ValidationError with a plain message."""
    operator = _OPERATOR.get(op)
    kind = operand_kind(variable)
    if operator is None or kind not in operator.types:
        raise ValidationError(f"Choose how to compare {variable.name}.")
    path, value = variable.name, value.strip()
    if op == "true":
        return path
    if op == "false":
        return f"!{path}"
    if not value:
        raise ValidationError("Give a value to compare with.")
    if op == "in":
        items = [v.strip() for v in value.split(",") if v.strip()]
        return f"{path} in [{', '.join(cel_string(v) for v in items)}]"
    if op in _METHODS:
        return f"{path}.{_METHODS[op]}({cel_string(value)})"
    symbol = _SYMBOLS[op]
    if variable.type == "number":
        try:
            return f"{path} {symbol} {cel_double(float(value.replace(',', '')))}"
        except ValueError:
            raise ValidationError(f"{value!r} is not a number.") from None
    if variable.type == "integer":
        digits = value.replace(",", "")
        # CEL integers are 64-bit: a longer number is no whole number it can compare.
        if not re.fullmatch(r"-?\d{1,19}", digits) or not -(2**63) <= int(digits) < 2**63:
            raise ValidationError(f"{value!r} is not a whole number.")
        return f"{path} {symbol} {int(digits)}"
    if variable.type == "date":
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            raise ValidationError(f"{value!r} is not a date such as 2026-12-31.") from None
    if kind == "choice" and value not in variable.choices:
        raise ValidationError(f"Choose one of: {', '.join(variable.choices)}.")
    return f"{path} {symbol} {cel_string(value)}"


def parse_condition(source: str, scope: Scope) -> tuple[str, str, str] | None:
    """(variable, operator, value) for a condition the builder wrote, or None to show it as CEL.

    Only a condition the builder writes back byte for byte is taken, so opening and
    applying the panel never rewrites a condition someone typed.
    """
    source = source.strip()
    found: tuple[str, str, str] | None = None
    if m := re.fullmatch(rf"(!?)({_PATH})", source):
        found = (m.group(2), "false" if m.group(1) else "true", "")
    elif m := re.fullmatch(rf"({_PATH}) (==|!=|<=|>=|<|>) (-?[0-9][0-9.e+-]*|{_STRING})", source):
        path, symbol, literal = m.groups()
        variable = scope.get(path)
        keys = [k for k, s in _SYMBOLS.items() if s == symbol]
        date = variable is not None and variable.type == "date"
        op = next((k for k in keys if (k in ("before", "after")) == (date and symbol in "<>")), keys[0])
        try:
            value = _unquote(literal) if literal.startswith('"') else _number_text(literal)
        except (NotRepresentable, ValueError):
            return None
        found = (path, op, value)
    elif m := re.fullmatch(rf"({_PATH})\.(contains|startsWith)\(({_STRING})\)", source):
        op = {v: k for k, v in _METHODS.items()}[m.group(2)]
        try:
            found = (m.group(1), op, _unquote(m.group(3)))
        except NotRepresentable:
            return None
    elif m := re.fullmatch(rf"({_PATH}) in \[((?:{_STRING})(?:, {_STRING})*)\]", source):
        try:
            items = [_unquote(s) for s in re.findall(_STRING, m.group(2))]
        except NotRepresentable:
            return None
        if any("," in item for item in items):
            return None
        found = (m.group(1), "in", ", ".join(items))
    if found is None:
        return None
    variable = scope.get(found[0])
    if variable is None:
        return None
    try:
        rebuilt = build_condition(variable, found[1], found[2])
    except ValidationError:
        return None
    return found if rebuilt == source else None


def _number_text(literal: str) -> str:
    value = float(literal)
    if not math.isfinite(value):  # e.g. 1e999: readable as CEL, not as a field value
        raise NotRepresentable(literal)
    return str(int(value)) if value == int(value) and abs(value) < 1e16 else repr(value)


_PLACEHOLDER = re.compile(r"\{\{\s*(" + _PATH + r")\s*\}\}")


def _reference(path: str, scope: Scope) -> str:
    """How a {{variable}} reads inside text: as is when it is text, else through string()."""
    variable = scope.get(path)
    top = scope.get(path.split(".")[0])
    if variable is None and (top is None or top.type not in ("map", "dyn")):
        raise ValidationError(f"{{{{{path}}}}} is not a variable set before this step.")
    if variable is not None and variable.type in ("map", "list"):
        raise ValidationError(f"{{{{{path}}}}} is a {TYPE_WORDS[variable.type]}; pick one of its values.")
    if variable is not None and variable.type in ("string", "date"):
        return path
    return f"string({path})"


def text_to_cel(text: str, scope: Scope) -> str:
    """CEL giving ``text`` with each ``{{variable}}`` filled in: ``"Order " + order_id``."""
    parts: list[str] = []
    last = 0
    for m in _PLACEHOLDER.finditer(text):
        if m.start() > last:
            parts.append(cel_string(text[last : m.start()]))
        parts.append(_reference(m.group(1), scope))
        last = m.end()
    if last < len(text) or not parts:
        parts.append(cel_string(text[last:]))
    return " + ".join(parts)


def cel_to_text(source: str, scope: Scope) -> str:
    """The text with {{variables}} that :func:`text_to_cel` turns back into ``source`` exactly."""
    pieces = re.findall(rf"\s*({_STRING}|string\({_PATH}\)|{_PATH})\s*(\+|$)", source.strip())
    rebuilt = " + ".join(p for p, _ in pieces)
    if not pieces or rebuilt != source.strip():
        raise NotRepresentable(source)
    text: list[str] = []
    for piece, _ in pieces:
        if piece.startswith('"'):
            literal = _unquote(piece)
            if "{{" in literal or "}}" in literal:
                raise NotRepresentable(source)
            text.append(literal)
        else:
            text.append("{{" + piece.removeprefix("string(").removesuffix(")") + "}}")
    result = "".join(text)
    try:
        if text_to_cel(result, scope) != source.strip():
            raise NotRepresentable(source)
    except ValidationError:
        raise NotRepresentable(source) from None
    return result


def recipients_to_cel(text: str, scope: Scope) -> str:
    """``{{initiator}}, finance@example.com`` -> ``[initiator, "finance@example.com"]``."""
    items: list[str] = []
    for raw in (item.strip() for item in text.split(",")):
        if not raw:
            continue
        if m := _PLACEHOLDER.fullmatch(raw):
            variable = scope.get(m.group(1))
            top = scope.get(m.group(1).split(".")[0])
            if variable is None and (top is None or top.type not in ("map", "dyn")):
                raise ValidationError(f"{raw} is not a variable set before this step.")
            items.append(m.group(1))
        elif "{{" in raw:
            raise ValidationError(
                f"{raw}: a recipient is a username, an address or one {{{{name}}}} of a value."
            )
        else:
            items.append(cel_string(raw))
    if not items:
        raise ValidationError("Name at least one recipient.")
    return items[0] if len(items) == 1 else f"[{', '.join(items)}]"


def cel_to_recipients(source: str, scope: Scope) -> str:
    source = source.strip()
    inner = source[1:-1] if source.startswith("[") and source.endswith("]") else source
    items = [i.strip() for i in re.findall(rf"({_STRING}|{_PATH})\s*(?:,|$)", inner)]
    text = ", ".join(_unquote(i) if i.startswith('"') else "{{" + i + "}}" for i in items)
    if any("," in _unquote(i) for i in items if i.startswith('"')):
        raise NotRepresentable(source)
    try:
        if not items or recipients_to_cel(text, scope) != source:
            raise NotRepresentable(source)
    except ValidationError:
        raise NotRepresentable(source) from None
    return text


class ExpressionInvalid(ValidationError):
    """An expression that does not check, in plain words; ``detail`` keeps CEL's own message."""

    def __init__(self, message: str, detail: str | None) -> None:
        super().__init__(message)
        self.detail = detail


def cel_error(exc: expressions.ExpressionError) -> str:
    """An expression error for a person: the message, and where when CEL says."""
    where = f" (line {exc.line}, column {exc.column})" if exc.line is not None else ""
    return f"{exc.message}{where}."


def check_cel(
    source: str,
    types: Mapping[str, VariableType],
    expect: Literal["bool", "number", "moment", "key", "text", "list"] | None = None,
) -> VariableType:
    """Type-check ``source`` against ``types``; raise ValidationError with a plain message."""
    try:
        if expect == "bool":
            expressions.check(source, types, expect="bool")
            return "boolean"
        found = expressions.type_of(source, types)
    except expressions.ExpressionError as exc:
        raise ExpressionInvalid(cel_error(exc), exc.detail) from None
    wanted: dict[str, tuple[tuple[str, ...], str]] = {
        "number": (("number", "integer", "dyn"), "a number"),
        "moment": (("string", "date", "dyn"), "a date (an ISO 8601 text or a timestamp)"),
        "key": (("string", "integer", "number", "date", "dyn"), "a text or a number"),
        "text": (("string", "date", "dyn"), "text"),
        "list": (("list", "dyn"), "a list"),
    }
    if expect in wanted and found not in wanted[expect][0]:
        raise ValidationError(f"This gives {TYPE_WORDS.get(found, found)}; it must give {wanted[expect][1]}.")
    return found
