"""Check start data against a start event's form fields."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from orchestration import money, values

if TYPE_CHECKING:
    from orchestration.bpmn.graph import FormField, Graph, Node


# The most characters a text field takes when its form sets no limit: a line, a paragraph or two, an address.
DEFAULT_MAX_LENGTH = {"string": 200, "text": 4000, "email": 254, "choice": 200, "date": 10}
# No author may allow more: a form is no place for a document (attach it instead).
MAX_LENGTH_CEILING = 20000


def max_length_of(field: FormField) -> int | None:
    """The most characters ``field`` accepts (None for numbers and yes/no)."""
    default = DEFAULT_MAX_LENGTH.get(field["type"])
    if default is None:
        return None
    return int(field.get("max_length") or default)


class StartDataError(Exception):
    """Start data did not fit the form; ``errors`` maps field name to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def refuse_nul(data: dict[str, Any]) -> None:
    """:class:`StartDataError` naming the field when text in ``data`` (names too, at any depth) holds a NUL.

    PostgreSQL stores no NUL character in text or JSON: refused here, by field, rather than by the INSERT.
    """
    errors: dict[str, list[str]] = {}
    for name, value in data.items():
        pending: list[Any] = [name, value]
        while pending:  # a loop, not recursion: the data may nest as deep as its parser allowed
            item = pending.pop()
            if isinstance(item, str) and "\x00" in item:
                errors["data" if "\x00" in str(name) else str(name)] = ["Text may not hold a NUL character."]
                break
            if isinstance(item, dict):
                pending.extend(item.keys())
                pending.extend(item.values())
            elif isinstance(item, list | tuple):
                pending.extend(item)
    if errors:
        raise StartDataError(errors)


def _convert(field: FormField, value: Any) -> Any:
    kind = field["type"]
    if kind in _STRUCTURED:  # a message's list or record: kept as sent, only its shape is checked
        return _shaped(kind, value)
    if kind in ("number", "integer"):
        if isinstance(value, bool):
            raise ValueError("Enter a number.")
        try:
            number = float(value) if kind == "number" else int(str(value).strip())
        except (TypeError, ValueError, OverflowError):
            raise ValueError("Enter a whole number." if kind == "integer" else "Enter a number.") from None
        if not math.isfinite(number):  # "nan", "inf" and 1e400 parse as floats; no amount is any of them
            raise ValueError("Enter a number.")
        if field.get("min") is not None and number < float(field["min"]):  # type: ignore[arg-type]
            raise ValueError(f"Must be at least {field['min']:g}.")
        if field.get("max") is not None and number > float(field["max"]):  # type: ignore[arg-type]
            raise ValueError(f"Must be at most {field['max']:g}.")
        return number
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        flag = values.parse_flag(str(value))
        if flag is None:
            raise ValueError("Enter true or false.")
        return flag
    if not isinstance(value, str):
        raise ValueError("Enter text.")
    value = value.strip()
    limit = max_length_of(field)
    if limit is not None and len(value) > limit:
        why = f" ({field['max_length_reason']})" if field.get("max_length_reason") else ""
        raise ValueError(f"Use at most {limit:,} characters{why}; this has {len(value):,}.")
    if kind == "date":
        date = values.parse_date(value)
        if date is None:
            raise ValueError("Enter a date as YYYY-MM-DD.")
        return date
    if kind == "email":
        try:
            validate_email(value)
        except ValidationError:
            raise ValueError("Enter a valid email address.") from None
    if kind == "choice" and value not in field["choices"]:
        raise ValueError(f"Choose one of: {', '.join(field['choices'])}.")
    return value


def _convert_money(
    field: FormField, value: Any, variables: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    """Store a money field as exact text in its currency's minor units, or record why not.

    The currency comes from the form field the money field names; it is never
    assumed, so a blank currency is an error on that field rather than a silent USD.
    """
    name, source = field["name"], field.get("currency", "currency")
    if source in errors:
        return
    currency = variables.get(source)
    if not currency:
        errors[source] = [f"Choose the currency of {field['label'] or name}."]
        return
    if not money.is_currency(currency):
        errors[source] = ["Enter a currency code such as USD or EUR."]
        return
    currency = variables[source] = str(currency).upper()
    try:
        amount = money.parse_amount(value, currency)
    except money.MoneyError as exc:
        errors[name] = [str(exc)]
        return
    low, high = field.get("min"), field.get("max")
    if low is not None and amount < Decimal(repr(low)):
        errors[name] = [f"Must be at least {money.format_money(Decimal(repr(low)), currency)}."]
    elif high is not None and amount > Decimal(repr(high)):
        errors[name] = [f"Must be at most {money.format_money(Decimal(repr(high)), currency)}."]
    else:
        variables[name] = money.stored(amount)


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


_UNSET = object()


def _value_when_blank(field: FormField) -> Any:
    """What a field left blank holds: "" for text, False for yes/no, nothing (_UNSET) for numbers.

    ValueError when the field is required (a yes/no field never is: blank means no).
    """
    if field["required"] and field["type"] != "boolean":
        raise ValueError("This field is required.")
    if field["type"] == "boolean":
        return False
    if field["type"] in ("string", "text", "email", "choice", "date"):
        return ""  # expressions can test for "" instead of failing on a missing name
    return _UNSET


def clean_start_data(node: Node, data: dict[str, Any]) -> dict[str, Any]:
    """The variables to start with, converted to the declared types; raises StartDataError."""
    if not isinstance(data, dict):
        raise StartDataError({"data": ["Expected an object of field values."]})
    refuse_nul(data)
    fields: list[FormField] = node["config"].get("fields", [])
    if not fields:
        return dict(data)
    return _clean_fields(fields, data, "Not a field of this workflow's start form.")


def clean_message_data(fields: list[FormField], data: dict[str, Any]) -> dict[str, Any]:
    """A message's variables checked against the fields it declares it carries; raises StartDataError.

    Each error names the field: one the message does not declare, one of the wrong type,
    a required one missing. Declaring no fields keeps a message open: any new names pass
    unchecked (what messages did before they could declare their data).
    """
    if not isinstance(data, dict):
        raise StartDataError({"variables": ["Expected an object of field values."]})
    refuse_nul(data)
    if not fields:
        return dict(data)
    return _clean_fields(fields, data, "Not a field this message carries.")


def clean_approver_data(fields: list[FormField], data: dict[str, Any]) -> dict[str, Any]:
    """What an approver filled in, checked against the fields their Approval declares; raises StartDataError."""
    if not isinstance(data, dict):
        raise StartDataError({"data": ["Expected an object of field values."]})
    refuse_nul(data)
    return _clean_fields(fields, data, "Not a field of this approval.")


def _clean_fields(fields: list[FormField], data: dict[str, Any], unknown: str) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    known = {f["name"] for f in fields}
    for name in data:
        if name not in known:
            errors[name] = [unknown]
    variables: dict[str, Any] = {}
    amounts: list[tuple[FormField, Any]] = []
    for field in fields:
        name = field["name"]
        value = data.get(name)
        # A default fills a value left out; a required field sent blank (a form's "Choose…") is an error.
        sent_blank = name in data and field["required"] and field["type"] != "boolean"
        if _is_blank(value) and field.get("default") not in (None, "") and not sent_blank:
            value = field["default"]
        if field["type"] == "money" and not _is_blank(value):
            amounts.append((field, value))  # its minor units depend on the currency, read below
            continue
        try:
            if not _is_blank(value):
                variables[name] = _convert(field, value)
            elif (blank := _value_when_blank(field)) is not _UNSET:
                variables[name] = blank
        except ValueError as exc:
            errors[name] = [str(exc)]
    for field, value in amounts:
        _convert_money(field, value, variables, errors)
    if errors:
        raise StartDataError(errors)
    return variables


# How a declared variable type is checked when no start-form field describes the variable.
_DECLARED_AS_FIELD = {
    "string": "string",
    "number": "number",
    "integer": "integer",
    "boolean": "boolean",
    "date": "date",
}
_STRUCTURED: dict[str, type | None] = {"map": dict, "list": list, "dyn": None}


def _shaped(kind: str, value: Any) -> Any:
    """``value`` when it is a record (map) or a list as ``kind`` says; ValueError otherwise."""
    wanted = _STRUCTURED[kind]
    if wanted is not None and not isinstance(value, wanted):
        raise ValueError(f"Expected {'an object' if wanted is dict else 'a list'}.")
    return value


def clean_variables(graph: Graph, data: dict[str, Any]) -> dict[str, Any]:
    """An operator's corrected values, converted and checked like start data; raises StartDataError.

    A start-form field's rules apply to its variable (type, required, bounds, choices); any
    other variable must be declared in the graph and is checked against its declared type.
    Names the process does not know are refused.
    """
    if not isinstance(data, dict):
        raise StartDataError({"variables": ["Expected an object of data values."]})
    fields: dict[str, FormField] = {
        field["name"]: field
        for node_id in graph["start_nodes"]
        for field in graph["nodes"][node_id]["config"].get("fields", [])
    }
    declared = graph.get("variables", {})
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    for name, value in data.items():
        field = fields.get(name)
        kind = declared.get(name)
        if field is None and kind in _STRUCTURED:
            try:
                clean[name] = _shaped(kind, value)
            except ValueError as exc:
                errors[name] = [str(exc)]
            continue
        if field is None:
            if kind not in _DECLARED_AS_FIELD:
                errors[name] = ["The process has no data of this name."]
                continue
            field = {
                "name": name,
                "label": name,
                "type": _DECLARED_AS_FIELD[kind],
                "required": False,
                "choices": [],
            }
        try:
            if not _is_blank(value):
                clean[name] = _convert(field, value)
            elif (blank := _value_when_blank(field)) is not _UNSET:
                clean[name] = blank
            else:
                errors[name] = ["Enter a value."]  # a number cannot be emptied
        except ValueError as exc:
            errors[name] = [str(exc)]
    if errors:
        raise StartDataError(errors)
    return clean
