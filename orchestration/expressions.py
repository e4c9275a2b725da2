"""CEL, the one expression language of Baton: conditions, data mapping, Set data.

Expressions are type-checked against the workflow's declared variables when a
version is compiled, so ``amount > "1000"`` is refused at save time with its line
and column, and evaluated at run time against the instance's variables.

Cost limits, and why each exists:

- ``MAX_LENGTH`` characters per expression (checked before CEL sees the text).
- cel-cpp's iteration budget: one evaluation may run at most 10,000 comprehension
  iterations in total (``map``/``filter``/``all``/``exists`` over lists and maps,
  nested loops counting their product); more stops the evaluation with
  "Iteration budget exceeded", raised here as :class:`ExpressionError`.
- ``MAX_COMPREHENSION_DEPTH``: the iteration budget does not bound memory, because
  a comprehension over a one-element list can double a string at each nesting
  level (``["x"].map(a, [a + a].map(b, ...))`` reaches gigabytes in ~30 levels
  while running only ~30 iterations). Nesting deeper than this is refused at
  check time.
"""

from __future__ import annotations

import datetime
import difflib
import functools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from cel_expr_python import cel

from orchestration.bpmn.graph import VariableType

MAX_LENGTH = 4000
MAX_COMPREHENSION_DEPTH = 2

# Always declared: who started the instance, its id, its business key, the day it was made and
# its request number (REQ-2026-000123).
BUILTIN_VARIABLES: dict[str, VariableType] = {
    "initiator": "string",
    "instance_id": "string",
    "business_key": "string",
    "requested_on": "string",
    "request_number": "string",
}

VARIABLE_TYPES: tuple[VariableType, ...] = (
    "string",
    "number",
    "integer",
    "boolean",
    "date",
    "map",
    "list",
    "dyn",
)

# CEL's reserved words cannot name a variable (the parser would reject the reference).
CEL_RESERVED = frozenset(
    "true false null in as break const continue else for function if import let loop "
    "package namespace return var void while".split()
)

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COMPREHENSION_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
# cel-cpp reports "ERROR: <input>:LINE:COL: message"; several errors are listed in order.
_CEL_ERROR = re.compile(r"ERROR: <input>:(\d+):(\d+): ([^\n]*)")


class ExpressionError(Exception):
    """An expression failed to compile or to evaluate.

    ``line`` and ``column`` (1-based, within the expression) are set for compile
    errors and None for runtime errors.

    ``detail`` keeps CEL's own wording of a compile error, for people who write CEL;
    ``message`` is the same problem in plain words (see :func:`plain_message`).
    """

    def __init__(
        self, message: str, line: int | None = None, column: int | None = None, detail: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.detail = detail

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        return f"{self.message} (line {self.line}, column {self.column})"


def is_identifier(name: str) -> bool:
    """Whether ``name`` can name a variable in CEL (an identifier, not a reserved word)."""
    return bool(_IDENTIFIER.fullmatch(name)) and name not in CEL_RESERVED


def cel_type(t: VariableType) -> cel.Type:
    """The CEL type a declared variable type is checked as.

    Dates travel as ISO 8601 strings: they are stored as JSON between steps.
    """
    match t:
        case "string" | "date":
            return cel.Type.STRING
        case "number":
            return cel.Type.DOUBLE
        case "integer":
            return cel.Type.INT
        case "boolean":
            return cel.Type.BOOL
        case "map":
            return cel.Type.Map(cel.Type.STRING, cel.Type.DYN)
        case "list":
            return cel.Type.List(cel.Type.DYN)
        case "dyn":
            return cel.Type.DYN
    raise ValueError(f"Unknown variable type {t!r}.")


def _variable_type_of(t: cel.Type) -> VariableType:
    name = t.name()
    # Parameterised types are named "MAP<STRING, INT>", "LIST<DYN>" and compare unequal to MAP/LIST.
    if name.startswith("MAP"):
        return "map"
    if name.startswith("LIST"):
        return "list"
    return _SCALAR_TYPES.get(name, "dyn")


_SCALAR_TYPES: dict[str, VariableType] = {
    "DOUBLE": "number",
    "INT": "integer",
    "BOOL": "boolean",
    "STRING": "string",
}

Frozen = tuple[tuple[str, VariableType], ...]


def _freeze(variables: Mapping[str, VariableType]) -> Frozen:
    return tuple(sorted(variables.items()))


@functools.lru_cache(maxsize=256)
def _env(frozen: Frozen) -> cel.Env:
    return cel.NewEnv(variables={name: cel_type(t) for name, t in frozen})


@functools.lru_cache(maxsize=4096)
def _compile(source: str, frozen: Frozen) -> cel.Expression:
    _check_cost(source)
    try:
        return _env(frozen).compile(source)
    except RuntimeError as exc:
        raise _compile_error(str(exc), source, dict(frozen)) from None


def _compile_error(text: str, source: str, variables: Mapping[str, VariableType]) -> ExpressionError:
    match = _CEL_ERROR.search(text)
    if match is None:
        detail = text.removeprefix("INVALID_ARGUMENT: ").strip() or "invalid expression"
        line, column = 1, 1
    else:
        detail, line, column = match.group(3).strip(), int(match.group(1)), int(match.group(2))
    return ExpressionError(plain_message(detail, source, line, column, variables), line, column, detail)


# --- CEL's compile errors in plain words: one table, read by plain_message.

# How a person calls CEL's types; a declared "date" is a string to CEL, so the declared type wins.
_WORDS: dict[str, str] = {
    "double": "a number",
    "int": "a whole number",
    "uint": "a whole number",
    "string": "text",
    "bool": "yes/no",
    "null_type": "null",
    "bytes": "bytes",
    "google.protobuf.Timestamp": "a moment",
    "google.protobuf.Duration": "a duration",
    "timestamp": "a moment",
    "duration": "a duration",
    "dyn": "a value",
}
_DECLARED_WORDS: dict[VariableType, str] = {
    "number": "a number",
    "integer": "a whole number",
    "string": "text",
    "boolean": "yes/no",
    "date": "a date",
    "map": "a record",
    "list": "a list",
    "dyn": "a value",
}
# What to compare a declared variable with, as an example a person can copy.
_EXAMPLES: dict[VariableType, str] = {
    "number": "a number, e.g. 1000.0",
    "integer": "a whole number, e.g. 10",
    "string": 'text in quotes, e.g. "IT"',
    "boolean": "true or false",
    "date": 'a date in quotes, e.g. "2025-12-31"',
}
_COMPARISONS = frozenset({"_==_", "_!=_", "_<_", "_<=_", "_>_", "_>=_"})
_ARITHMETIC: dict[str, str] = {
    "_+_": "add",
    "_-_": "subtract",
    "_*_": "multiply",
    "_/_": "divide",
    "_%_": "take the remainder of",
}
_LOGIC: dict[str, str] = {"_&&_": "&& (and)", "_||_": "|| (or)", "!_": "! (not)"}
_OPERATOR = re.compile(r"[<>=!+\-*/%]*\s*")
# A literal or a (dotted) name: the operand right after an operator, or right before it.
_OPERAND = re.compile(r"\"[^\"\n]*\"|'[^'\n]*'|-?\d+(?:\.\d+)?|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_LEFT_OPERAND = re.compile(rf"({_OPERAND.pattern})\s*$")
# Functions and macros CEL knows, to suggest one when a name is misspelt.
_FUNCTIONS = (
    "size contains startsWith endsWith matches int double string bool has all exists exists_one map "
    "filter timestamp duration type dyn getFullYear getMonth getDayOfMonth getDayOfWeek getHours "
    "lowerAscii upperAscii trim replace split join indexOf substring"
).split()


def _type_words(cel_name: str) -> str:
    name = cel_name.strip()
    if name.startswith("list"):
        return "a list"
    if name.startswith("map"):
        return "a record"
    return _WORDS.get(name, f"a {name}")


def _offset(source: str, line: int, column: int) -> int:
    start = 0
    for _ in range(line - 1):
        newline = source.find("\n", start)
        if newline < 0:
            break
        start = newline + 1
    return min(start + column - 1, len(source))


def _closest(name: str, known: list[str]) -> str:
    match = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f": did you mean “{match[0]}”?" if match else ""


def _operator_message(
    operator: str, types: list[str], source: str, at: int, variables: Mapping[str, VariableType]
) -> str:
    words = [_type_words(t) for t in types]
    left = _LEFT_OPERAND.search(source, 0, at)
    symbol = _OPERATOR.match(source, at)
    right = _OPERAND.match(source, symbol.end() if symbol else at)
    left_text, right_text = (left.group(1) if left else ""), (right.group(0) if right else "")
    declared = variables.get(left_text)
    if declared is not None:
        words[0] = _DECLARED_WORDS[declared]
    hint = ""
    if sorted(types[:2]) == ["double", "int"]:
        # CEL keeps whole numbers and numbers with decimals apart: 1000 must be written 1000.0.
        whole = left_text if types[0] == "int" else right_text
        if re.fullmatch(r"-?\d+", whole):
            hint = f"; write {whole}.0"
        elif types[0] == "int" and right_text and left_text:
            hint = f"; write double({left_text})"
    elif types[:2] == ["double", "string"] and re.fullmatch(r"[\"']-?\d+(\.\d+)?[\"']", right_text):
        number = right_text.strip("\"'")
        hint = f"; write {number if '.' in number else number + '.0'} without quotes"
    if operator in _COMPARISONS:
        if declared in _EXAMPLES:
            example = _EXAMPLES[declared]
            if hint and types[0] == "double":
                example = f"a number, e.g. {hint.removeprefix('; write ').removesuffix(' without quotes')}"
            elif hint:
                example = f"{example}{hint.replace(';', ', or', 1)}"
            return f"“{left_text}” is {words[0]}; compare it to {example}"
        return f"compares {words[0]} with {words[1]}{hint}"
    if operator in _ARITHMETIC:
        return f"cannot {_ARITHMETIC[operator]} {words[0]} and {words[1]}{hint}"
    if operator in _LOGIC:
        given = ", ".join(w for w in words if w != "yes/no") or words[0]
        sides = "" if len(words) == 1 else " on each side"
        return f"{_LOGIC[operator]} needs yes/no{sides}, not {given}"
    if operator == "_?_:_":
        if types[0] != "bool":
            return f"the condition before ? must be yes/no, not {words[0]}"
        return f"the two choices after ? must be of the same kind, not {words[1]} and {words[2]}"
    if operator == "@in":
        return f"in looks for a value in a list or a record, not in {words[1]}"
    if operator in ("_[_]", "_[?_]"):
        return f"cannot pick {words[1]} out of {words[0]}"
    # A call: CEL points at its "(", so the name before it is receiver.function.
    receiver = left_text.removesuffix(f".{operator}")
    if receiver != left_text and receiver in variables:
        words[0] = _DECLARED_WORDS[variables[receiver]]
        if variables[receiver] == "date" and operator.startswith("get"):
            return f"{operator}() needs a moment: write timestamp({receiver}).{operator}()"
    if len(words) == 1:
        return f"{operator}() does not work on {words[0]}"
    return f"{operator}() does not work on {words[0]} with {', '.join(words[1:])}"


def _overload(match: re.Match[str], source: str, at: int, variables: Mapping[str, VariableType]) -> str:
    types = [t for t in re.split(r",\s*(?![^<(]*[>)])", match.group(2)) if t]
    return _operator_message(match.group(1), types or ["dyn"], source, at, variables)


def _undeclared(match: re.Match[str], source: str, at: int, variables: Mapping[str, VariableType]) -> str:
    name = match.group(1)
    if source[at : at + 1] == "(":
        return f"there is no function “{name}”{_closest(name, _FUNCTIONS)}"
    known = sorted({*variables, *(v.split(".")[0] for v in variables)})
    suggestion = _closest(name, known) or _closest(name.split(".")[0], known)
    return f"“{name}” is not a value this workflow knows{suggestion}"


def _unexpected(match: re.Match[str], source: str, at: int, variables: Mapping[str, VariableType]) -> str:
    found, expecting = match.group(1), match.group(2) or ""
    wants_value = "IDENTIFIER" in expecting or "NUM_" in expecting
    if found == "<EOF>":
        return "the expression stops too early" + (": a value is missing at the end" if wants_value else "")
    return f"“{found}” is not expected here" + (": a value is missing before it" if wants_value else "")


def _unreadable(match: re.Match[str], source: str, at: int, variables: Mapping[str, VariableType]) -> str:
    found = match.group(1).strip()
    if found.startswith("="):
        return "“=” is not understood here: to compare, write =="
    if found.startswith("&") or found.startswith("|"):
        return f"“{found}” is not understood here: write && for and, || for or"
    return f"“{found}” is not understood here"


_Explain = Callable[[re.Match[str], str, int, Mapping[str, VariableType]], str]
# CEL's wording (cel-cpp's checker and ANTLR parser) -> the plain sentence for it, tried in order.
_PLAIN: tuple[tuple[re.Pattern[str], _Explain], ...] = (
    (re.compile(r"found no matching overload for '([^']+)' applied to '\((.*)\)'"), _overload),
    (re.compile(r"undeclared reference to '([^']+)'"), _undeclared),
    (re.compile(r"Syntax error: missing '([^']+)' at"), lambda m, *_: f"a “{m.group(1)}” is missing here"),
    (
        re.compile(
            r"Syntax error: (?:mismatched|extraneous) input '((?:[^']|'(?! expecting))*)' expecting ?(.*)"
        ),
        _unexpected,
    ),
    (re.compile(r"Syntax error: token recognition error at: '(.*)'"), _unreadable),
    (
        re.compile(r"Syntax error: no viable alternative at input '(.*)'"),
        lambda m, *_: "this part cannot be read",
    ),
    (re.compile(r"Syntax error"), lambda m, *_: "this part cannot be read"),
)


def plain_message(
    detail: str, source: str, line: int, column: int, variables: Mapping[str, VariableType]
) -> str:
    """CEL's compile error ``detail`` for ``source`` in words a business user reads.

    ``line``/``column`` locate the problem as CEL reports it (the operator, the
    call's parenthesis, the unknown name); ``variables`` give the declared types
    (a date is text to CEL) and the names to suggest for a misspelt one. An
    error the table does not know keeps CEL's wording.
    """
    at = _offset(source, line, column)
    for pattern, explain in _PLAIN:
        match = pattern.search(detail)
        if match is not None:
            return explain(match, source, at, variables)
    return detail


def check(
    source: str, variables: Mapping[str, VariableType], *, expect: Literal["bool"] | None = None
) -> None:
    """Compile ``source`` against ``variables``; raise :class:`ExpressionError` if it is invalid.

    With ``expect="bool"`` the result must be a boolean. A ``dyn`` result (a value
    read out of a map) is accepted: its type is only known at run time, where a
    non-boolean condition is an error.
    """
    expression = _compile(source, _freeze(variables))
    if expect == "bool" and expression.return_type().name() not in ("BOOL", "DYN"):
        result = _variable_type_of(expression.return_type())
        raise ExpressionError(f"gives {_a(result)}, not true or false", 1, 1)


def type_of(source: str, variables: Mapping[str, VariableType]) -> VariableType:
    """The static result type of ``source`` (``dyn`` when CEL cannot tell)."""
    return _variable_type_of(_compile(source, _freeze(variables)).return_type())


def evaluate(source: str, variables: Mapping[str, VariableType], data: Mapping[str, Any]) -> Any:
    """Evaluate ``source`` with ``data`` as the values of the declared ``variables``.

    Values are coerced to their declared types first (an int or a money amount's
    text for a ``number`` becomes a float, a date becomes an ISO string); declared variables missing
    from ``data`` (or None) are absent, and undeclared keys are ignored. Returns
    plain Python values. Raises :class:`ExpressionError` when the expression does
    not compile or its evaluation fails (division by zero, absent variable or map
    key, iteration budget exceeded).
    """
    expression = _compile(source, _freeze(variables))
    activation: dict[str, Any] = {}
    for name, t in variables.items():
        if name in data:
            value = _coerce(data[name], t)
            if value is not None or t == "dyn":
                activation[name] = value
    try:
        value = expression.eval(data=activation)
    except RuntimeError as exc:
        # The iteration budget and some conversion failures raise instead of returning an error value.
        raise ExpressionError(_runtime_message(str(exc))) from None
    if value.type() == cel.Type.ERROR:
        raise ExpressionError(_runtime_message(str(value.value())))
    return value.plain_value()


def _runtime_message(text: str) -> str:
    text = re.sub(r"^[A-Z_]+: ", "", text.strip())
    return re.sub(r"\s*\[[A-Z_]+\]$", "", text)


def _coerce(value: Any, t: VariableType) -> Any:
    if value is None:
        return None
    match t:
        case "number":
            if isinstance(value, int | Decimal) and not isinstance(value, bool):
                return float(value)
            if isinstance(value, str):
                # Money is kept as exact text ("2000.00", orchestration.money); CEL compares it as a double.
                return _number_text(value)
        case "integer":
            if isinstance(value, float | Decimal) and value == int(value):
                return int(value)
        case "string" | "date":
            if isinstance(value, datetime.date):
                return value.isoformat()
        case _:
            return _plain(value)
    return value


def _number_text(value: str) -> Any:
    try:
        number = float(Decimal(value))
    except ArithmeticError:
        return value  # not a number: CEL reports the wrong type where it is used
    return number


def _plain(value: Any) -> Any:
    """JSON-like values CEL accepts: tuples and sets become lists, Decimals floats."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def _a(t: VariableType) -> str:
    return {
        "number": "a number",
        "integer": "an integer",
        "boolean": "a boolean",
        "string": "a string",
        "map": "a map",
        "list": "a list",
    }.get(t, "a value")


# --- Lexing: just enough of CEL to find map literal entries and comprehension nesting.


@dataclass(frozen=True)
class _Token:
    kind: Literal["string", "punct", "ident", "other"]
    text: str
    start: int
    end: int


_STRING_START = re.compile(r"(?i)(?:[rb]|rb|br)?('''|\"\"\"|'|\")")


def _tokens(source: str) -> Iterator[_Token]:
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c.isspace():
            i += 1
            continue
        if source.startswith("//", i):
            end = source.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        string = _STRING_START.match(source, i)
        if string is not None:
            end = _string_end(source, string.end(), string.group(1), raw="r" in string.group(0)[:2].lower())
            yield _Token("string", source[i:end], i, end)
            i = end
            continue
        if c.isalpha() or c == "_":
            m = _IDENTIFIER.match(source, i)
            assert m is not None
            yield _Token("ident", m.group(0), i, m.end())
            i = m.end()
            continue
        if c in "{}[](),:.?":
            yield _Token("punct", c, i, i + 1)
        else:
            yield _Token("other", c, i, i + 1)
        i += 1


def _string_end(source: str, i: int, quote: str, *, raw: bool) -> int:
    n = len(source)
    while i < n:
        if source.startswith(quote, i):
            return i + len(quote)
        if source[i] == "\\" and not raw:
            i += 2
            continue
        if source[i] == "\n" and len(quote) == 1:
            break
        i += 1
    line, column = _position(source, i)
    raise ExpressionError("a text in quotes is not closed with its quote", line, column)


def reads(source: str, name: str) -> bool:
    """Whether ``source`` reads the variable ``name`` (not a member or a map key spelt the same)."""
    previous: _Token | None = None
    for token in _tokens(source):
        if token.kind == "ident" and token.text == name and not (previous and previous.text == "."):
            return True
        previous = token
    return False


def _position(source: str, offset: int) -> tuple[int, int]:
    line = source.count("\n", 0, offset) + 1
    return line, offset - (source.rfind("\n", 0, offset) + 1) + 1


def _check_cost(source: str) -> None:
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"is longer than {MAX_LENGTH} characters", 1, 1)
    stack: list[bool] = []  # one entry per open bracket: does it open a comprehension macro?
    tokens = list(_tokens(source))
    for k, token in enumerate(tokens):
        if token.kind != "punct":
            continue
        if token.text in "([{":
            macro = (
                token.text == "("
                and k >= 2
                and tokens[k - 1].kind == "ident"
                and tokens[k - 1].text in _COMPREHENSION_MACROS
                and tokens[k - 2].text == "."
            )
            stack.append(macro)
            if macro and sum(stack) > MAX_COMPREHENSION_DEPTH:
                line, column = _position(source, tokens[k - 1].start)
                raise ExpressionError(
                    f"nests comprehensions more than {MAX_COMPREHENSION_DEPTH} deep", line, column
                )
        elif token.text in ")]}" and stack:
            stack.pop()


@dataclass(frozen=True)
class MapEntry:
    """One ``"key": value`` of a map literal; ``line``/``column`` locate the value."""

    key: str
    value: str
    line: int
    column: int


def map_literal_entries(source: str) -> list[MapEntry]:
    """The entries of a CEL map literal with quoted identifier keys, in order.

    Raises :class:`ExpressionError` (with the position) for anything else.
    """
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"is longer than {MAX_LENGTH} characters", 1, 1)
    tokens = list(_tokens(source))

    def fail(message: str, offset: int) -> ExpressionError:
        line, column = _position(source, offset)
        return ExpressionError(message, line, column)

    if not tokens or tokens[0].text != "{":
        raise fail('must be a map such as {"total": amount * 1.2}', tokens[0].start if tokens else 0)
    depth = 0
    close = -1
    for k, token in enumerate(tokens):
        if token.kind == "punct" and token.text in "([{":
            depth += 1
        elif token.kind == "punct" and token.text in ")]}":
            depth -= 1
            if depth == 0:
                close = k
                break
    if close < 0:
        raise fail("the map is not closed with }", len(source))
    if close != len(tokens) - 1:
        raise fail("unexpected text after the map", tokens[close + 1].start)

    entries: list[MapEntry] = []
    k = 1
    while k < close:
        key = tokens[k]
        if key.kind != "string" or key.text[0] not in "'\"" or len(key.text) < 2:
            raise fail('each key must be a quoted variable name, e.g. "total"', key.start)
        name = key.text[1:-1]
        if not is_identifier(name):
            raise fail(f"{key.text} is not a valid variable name", key.start)
        if any(e.key == name for e in entries):
            raise fail(f"{key.text} is set twice", key.start)
        if k + 1 >= close or tokens[k + 1].text != ":":
            raise fail(f"expected : after {key.text}", key.end)
        # The value runs to the next comma at this map's top level.
        first = k + 2
        depth = 0
        j = first
        while j < close and not (depth == 0 and tokens[j].text == ","):
            if tokens[j].kind == "punct" and tokens[j].text in "([{":
                depth += 1
            elif tokens[j].kind == "punct" and tokens[j].text in ")]}":
                depth -= 1
            j += 1
        if j == first:
            raise fail(f"{key.text} has no value", tokens[k + 1].end)
        start, end = tokens[first].start, tokens[j - 1].end
        line, column = _position(source, start)
        entries.append(MapEntry(name, source[start:end], line, column))
        k = j + 1  # past the comma; a trailing comma is allowed, as in CEL
    return entries
