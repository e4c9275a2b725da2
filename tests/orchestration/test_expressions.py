"""CEL through orchestration.expressions: typing at save time, evaluation at run time."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from cel_expr_python import cel

from orchestration import expressions
from orchestration.expressions import ExpressionError, check, evaluate, map_literal_entries, type_of

VARS: dict[str, expressions.VariableType] = {
    "amount": "number",
    "count": "integer",
    "urgent": "boolean",
    "currency": "string",
    "due": "date",
    "requester": "map",
    "items": "list",
    "extra": "dyn",
}


# --- check: types at save time


def test_comparing_a_number_with_a_string_is_refused_with_line_and_column():
    with pytest.raises(ExpressionError) as caught:
        check('amount > "1000"', VARS)
    assert (caught.value.line, caught.value.column) == (1, 8)
    assert caught.value.message == "“amount” is a number; compare it to a number, e.g. 1000.0"
    assert "no matching overload for '_>_' applied to '(double, string)'" in (caught.value.detail or "")


def test_error_on_a_later_line_reports_that_line():
    with pytest.raises(ExpressionError) as caught:
        check('amount > 1000.0 &&\n  currency + 1 == "x"', VARS)
    assert caught.value.line == 2


def test_unknown_variable_is_refused_naming_it():
    with pytest.raises(ExpressionError) as caught:
        check("total > 1.0", VARS)
    assert "total" in caught.value.message
    assert (caught.value.line, caught.value.column) == (1, 1)


def test_syntax_error_is_refused_with_position():
    with pytest.raises(ExpressionError) as caught:
        check("amount > ", VARS)
    assert caught.value.line == 1
    assert caught.value.message == "the expression stops too early: a value is missing at the end"
    assert (caught.value.detail or "").startswith("Syntax error")


# --- plain words for CEL's compile errors: the user's message, CEL's kept as detail

PLAIN_CASES = [
    # number vs text, number vs whole number (CEL wants 1000.0), whole number vs number
    ('amount > "1000"', "“amount” is a number; compare it to a number, e.g. 1000.0", (1, 8)),
    ("amount > 1000", "“amount” is a number; compare it to a number, e.g. 1000.0", (1, 8)),
    ("1000 < amount", "compares a whole number with a number; write 1000.0", (1, 6)),
    (
        "count > 1.5",
        "“count” is a whole number; compare it to a whole number, e.g. 10, or write double(count)",
        (1, 7),
    ),
    ('"a" == 1', "compares text with a whole number", (1, 5)),
    ("currency > 3", '“currency” is text; compare it to text in quotes, e.g. "IT"', (1, 10)),
    # text vs date: a date is text to CEL, the declared type names it
    ("due > 3", '“due” is a date; compare it to a date in quotes, e.g. "2025-12-31"', (1, 5)),
    # yes/no vs text
    ('urgent == "yes"', "“urgent” is yes/no; compare it to true or false", (1, 8)),
    ("urgent && currency", "&& (and) needs yes/no on each side, not text", (1, 8)),
    ("!currency", "! (not) needs yes/no, not text", (1, 1)),
    # arithmetic
    ("currency + 1", "cannot add text and a whole number", (1, 10)),
    ("amount * 2", "cannot multiply a number and a whole number; write 2.0", (1, 8)),
    # unknown names: the closest declared one is suggested
    ("amont > 1.0", "“amont” is not a value this workflow knows: did you mean “amount”?", (1, 1)),
    ("zzz > 1.0", "“zzz” is not a value this workflow knows", (1, 1)),
    # functions: not on this type, or not at all
    ("amount.size() > 1", "size() does not work on a number", (1, 12)),
    ("currency.contains(1)", "contains() does not work on text with a whole number", (1, 18)),
    ("due.getFullYear() > 1", "getFullYear() needs a moment: write timestamp(due).getFullYear()", (1, 16)),
    ("amount[0]", "cannot pick a whole number out of a number", (1, 7)),
    (
        'due > timestamp("2025-01-01T00:00:00Z")',
        '“due” is a date; compare it to a date in quotes, e.g. "2025-12-31"',
        (1, 5),
    ),
    (
        'urgent ? 1 : "a"',
        "the two choices after ? must be of the same kind, not a whole number and text",
        (1, 8),
    ),
    ("sise(items) > 1", "there is no function “sise”: did you mean “size”?", (1, 5)),
    # syntax, said plainly
    ("amount > 1.0 &&", "the expression stops too early: a value is missing at the end", (1, 16)),
    ("amount > > 1.0", "“>” is not expected here: a value is missing before it", (1, 10)),
    ("(amount > 1.0", "a “)” is missing here", (1, 14)),
    ("amount = 1.0", "“=” is not understood here: to compare, write ==", (1, 8)),
    ('currency == "EUR', "a text in quotes is not closed with its quote", (1, 17)),
]


@pytest.mark.parametrize(("source", "message", "where"), PLAIN_CASES)
def test_compile_error_is_said_in_plain_words_at_its_position(
    source: str, message: str, where: tuple[int, int]
) -> None:
    with pytest.raises(ExpressionError) as caught:
        check(source, VARS)
    assert caught.value.message == message
    assert (caught.value.line, caught.value.column) == where


def test_cel_own_message_is_kept_as_detail_for_people_who_write_cel():
    with pytest.raises(ExpressionError) as caught:
        check("amont > 1.0", VARS)
    assert caught.value.detail == "undeclared reference to 'amont' (in container '')"
    assert "undeclared" not in str(caught.value)


def test_a_cel_message_the_table_does_not_know_keeps_cel_wording():
    assert expressions.plain_message("something new", "x", 1, 1, VARS) == "something new"


def test_well_typed_condition_passes():
    check('amount > 1000.0 && currency == "EUR" && requester.department == "IT"', VARS, expect="bool")


def test_condition_giving_a_string_is_refused_when_a_bool_is_expected():
    with pytest.raises(ExpressionError) as caught:
        check("currency", VARS, expect="bool")
    assert "a string" in caught.value.message


@pytest.mark.parametrize("source", ["null", 'timestamp("2025-01-01T00:00:00Z")', "[true]"])
def test_condition_of_another_type_is_refused_when_a_bool_is_expected(source):
    with pytest.raises(ExpressionError, match="not true or false"):
        check(source, VARS, expect="bool")


def test_condition_reading_a_map_value_is_accepted_as_bool():
    # Its type is only known at run time.
    check("requester.is_manager", VARS, expect="bool")


def test_builtin_variables_are_typed_as_strings():
    assert all(t == "string" for t in expressions.BUILTIN_VARIABLES.values())
    check('initiator == "alice" && instance_id != "" && business_key != ""', expressions.BUILTIN_VARIABLES)


def test_expression_longer_than_the_cap_is_refused():
    source = " || ".join(["amount > 1.0"] * 400)
    assert len(source) > expressions.MAX_LENGTH
    with pytest.raises(ExpressionError, match="longer than"):
        check(source, VARS)


def test_deeply_nested_comprehension_is_refused_before_it_runs():
    numbers = "[" + ",".join(str(i) for i in range(20)) + "]"
    source = f"{numbers}.map(a, {numbers}.map(b, {numbers}.map(c, a + b + c)))"
    with pytest.raises(ExpressionError, match="nests comprehensions") as caught:
        check(source, VARS)
    assert caught.value.column is not None


def test_string_doubling_through_comprehensions_is_refused():
    # Few iterations, exponential memory: the iteration budget alone would not stop it.
    source = '["x"].map(a, [a + a].map(b, [b + b].map(c, size(c + c))))'
    with pytest.raises(ExpressionError, match="nests comprehensions"):
        check(source, {})


def test_comprehension_words_inside_strings_do_not_count():
    check('items.map(x, ".map(y, ".size())', VARS)


def test_two_level_comprehension_is_allowed():
    check("items.all(i, items.exists(j, i == j))", VARS, expect="bool")


# --- type_of


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("amount * 2.0", "number"),
        ("count + 1", "integer"),
        ("amount > 1.0", "boolean"),
        ('currency + "!"', "string"),
        ('{"a": 1}', "map"),
        ("[1, 2]", "list"),
        ("requester.name", "dyn"),
        ("due", "string"),
        ('timestamp("2025-01-01T00:00:00Z")', "dyn"),
    ],
)
def test_type_of_maps_cel_types_back_to_variable_types(source, expected):
    assert type_of(source, VARS) == expected


def test_cel_type_of_each_variable_type():
    assert cel_type_name("string") == "STRING"
    assert cel_type_name("date") == "STRING"
    assert cel_type_name("number") == "DOUBLE"
    assert cel_type_name("integer") == "INT"
    assert cel_type_name("boolean") == "BOOL"
    assert cel_type_name("map") == "MAP<STRING, DYN>"
    assert cel_type_name("list") == "LIST<DYN>"
    assert cel_type_name("dyn") == "DYN"


def cel_type_name(t: expressions.VariableType) -> str:
    result: str = expressions.cel_type(t).name()
    return result


# --- evaluate


def test_int_value_of_a_number_variable_compares_with_a_double():
    assert evaluate("amount > 100.0", VARS, {"amount": 150}) is True


def test_decimal_value_of_a_number_variable_is_coerced():
    assert evaluate("amount * 2.0", VARS, {"amount": Decimal("1.25")}) == 2.5


def test_integral_float_of_an_integer_variable_is_coerced():
    assert evaluate("count + 1", VARS, {"count": 3.0}) == 4


def test_date_value_of_a_date_variable_becomes_an_iso_string():
    assert evaluate('due < "2026-01-01"', VARS, {"due": datetime.date(2025, 6, 1)}) is True


def test_tuples_inside_maps_become_lists():
    assert evaluate("size(requester.roles)", VARS, {"requester": {"roles": ("a", "b")}}) == 2


def test_result_is_plain_python():
    result = evaluate('{"total": amount * 2.0, "tags": ["a"]}', VARS, {"amount": 2})
    assert result == {"total": 4.0, "tags": ["a"]}


def test_undeclared_data_is_ignored():
    assert evaluate("amount", VARS, {"amount": 1.0, "stranger": object()}) == 1.0


def test_division_by_zero_raises_expression_error():
    with pytest.raises(ExpressionError, match="divide by zero") as caught:
        evaluate("count / 0", VARS, {"count": 1})
    assert caught.value.line is None


def test_missing_variable_raises_expression_error():
    with pytest.raises(ExpressionError, match="amount"):
        evaluate("amount > 1.0", VARS, {})


def test_none_value_is_treated_as_missing():
    with pytest.raises(ExpressionError, match="amount"):
        evaluate("amount > 1.0", VARS, {"amount": None})


def test_missing_map_key_raises_expression_error():
    with pytest.raises(ExpressionError, match="department"):
        evaluate("requester.department", VARS, {"requester": {}})


def test_iteration_budget_stops_a_large_comprehension():
    with pytest.raises(ExpressionError, match="Iteration budget"):
        evaluate("items.map(x, items.map(y, x))", VARS, {"items": list(range(200))})


def test_evaluate_refuses_an_ill_typed_expression_with_position():
    with pytest.raises(ExpressionError) as caught:
        evaluate('amount > "1"', VARS, {"amount": 1.0})
    assert caught.value.line == 1


def test_compiled_expressions_are_cached():
    evaluate("count * 3", VARS, {"count": 1})
    hits = expressions._compile.cache_info().hits
    evaluate("count * 3", dict(reversed(list(VARS.items()))), {"count": 2})
    assert expressions._compile.cache_info().hits == hits + 1


def test_cel_error_values_are_not_returned():
    # Guard the fact evaluate relies on: cel returns errors as values, not exceptions.
    value = cel.NewEnv(variables={}).compile("1 / 0").eval(data={})
    assert value.type() == cel.Type.ERROR


# --- map_literal_entries


def split_map_literal(source: str) -> dict[str, str]:
    return {entry.key: entry.value for entry in map_literal_entries(source)}


def test_split_map_literal_returns_each_value_source():
    assert split_map_literal('{"a": x + 1, "b": "s"}') == {"a": "x + 1", "b": '"s"'}


def test_split_map_literal_respects_nesting_and_commas_in_strings():
    source = """{
        "approval": {"outcome": "approved", "by": "baton"},
        'note': "a, b: c}",
        "total": [1, 2].map(x, x * 2),
        "pick": amount > 1.0 ? "big" : "small",
    }"""
    assert split_map_literal(source) == {
        "approval": '{"outcome": "approved", "by": "baton"}',
        "note": '"a, b: c}"',
        "total": "[1, 2].map(x, x * 2)",
        "pick": 'amount > 1.0 ? "big" : "small"',
    }


def test_split_map_literal_skips_comments():
    assert split_map_literal('{\n  // the total\n  "total": 1.0 // with tax\n}') == {"total": "1.0"}


def test_split_map_literal_handles_escaped_quotes():
    assert split_map_literal(r'{"say": "he said \"hi, there\""}') == {"say": r'"he said \"hi, there\""'}


def test_split_map_literal_of_an_empty_map_is_empty():
    assert split_map_literal("{}") == {}


@pytest.mark.parametrize(
    "source",
    [
        "amount + 1",
        '{"a": 1} + 1',
        '{"a": 1',
        "{a: 1}",
        '{"not valid": 1}',
        '{"1st": 1}',
        '{"in": 1}',
        '{"a": 1, "a": 2}',
        '{"a": }',
        '{"a" 1}',
        '{"a": "unterminated}',
        "",
    ],
)
def test_split_map_literal_refuses_anything_but_a_map_of_named_values(source):
    with pytest.raises(ExpressionError) as caught:
        split_map_literal(source)
    assert caught.value.line is not None


def test_split_map_literal_reports_where_a_bad_key_is():
    with pytest.raises(ExpressionError) as caught:
        split_map_literal('{\n  "ok": 1,\n  "not ok": 2\n}')
    assert (caught.value.line, caught.value.column) == (3, 3)


def test_map_literal_entries_locate_each_value():
    entries = expressions.map_literal_entries('{"a": 1,\n "b":  x}')
    assert [(e.key, e.line, e.column) for e in entries] == [("a", 1, 7), ("b", 2, 8)]


def test_money_kept_as_exact_text_is_compared_as_a_number():
    assert evaluate("amount > 1000.0", {"amount": "number"}, {"amount": "2000.00"}) is True
    assert evaluate("amount * 2.0", {"amount": "number"}, {"amount": "0.01"}) == 0.02
