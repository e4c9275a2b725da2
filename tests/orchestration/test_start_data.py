"""Start data is checked against the start form: numbers must be real, finite numbers."""

from __future__ import annotations

import pytest

from orchestration.engine.start_data import StartDataError, clean_message_data, clean_start_data

NODE = {
    "id": "start",
    "name": "Start",
    "kind": "start",
    "incoming": [],
    "outgoing": [],
    "config": {
        "fields": [
            {
                "name": "amount",
                "label": "Amount",
                "type": "number",
                "required": True,
                "choices": [],
                "min": 0.0,
            },
            {"name": "count", "label": "Count", "type": "integer", "required": False, "choices": []},
        ]
    },
}


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-Infinity", "1e400", "9" * 5000])
def test_a_number_that_is_not_finite_is_refused(value: str) -> None:
    with pytest.raises(StartDataError) as caught:
        clean_start_data(NODE, {"amount": value})  # type: ignore[arg-type]
    assert caught.value.errors == {"amount": ["Enter a number."]}


def test_a_huge_whole_number_for_an_integer_field_is_refused_not_crashed() -> None:
    with pytest.raises(StartDataError) as caught:
        clean_start_data(NODE, {"amount": "1", "count": "9" * 5000})  # type: ignore[arg-type]
    assert caught.value.errors == {"count": ["Enter a whole number."]}


def test_an_ordinary_number_passes() -> None:
    assert clean_start_data(NODE, {"amount": "12.5", "count": "3"}) == {"amount": 12.5, "count": 3}  # type: ignore[arg-type]


MONEY_NODE = {
    "id": "start",
    "name": "Start",
    "kind": "start",
    "incoming": [],
    "outgoing": [],
    "config": {
        "fields": [
            {
                "name": "amount",
                "label": "Amount",
                "type": "money",
                "required": True,
                "choices": [],
                "min": 0.01,
                "currency": "currency",
            },
            {"name": "currency", "label": "Currency", "type": "string", "required": False, "choices": []},
        ]
    },
}


@pytest.mark.parametrize(
    ("amount", "currency", "stored"),
    [
        ("2000", "USD", "2000.00"),
        (2000.5, "usd", "2000.50"),
        ("5000", "JPY", "5000"),
        ("1.125", "BHD", "1.125"),
    ],
)
def test_a_money_field_is_stored_as_exact_text_in_its_currency(amount, currency, stored):
    variables = clean_start_data(MONEY_NODE, {"amount": amount, "currency": currency})  # type: ignore[arg-type]

    assert variables == {"amount": stored, "currency": currency.upper()}


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("2000.004", "An amount in USD has at most 2 decimals."),
        ("12345678901234567890.123", "Must be at most USD 1,000,000,000,000.00."),
        ("1e20", "Must be at most USD 1,000,000,000,000.00."),
        (1e20, "Must be at most USD 1,000,000,000,000.00."),
        ("0.001", "An amount in USD has at most 2 decimals."),
        ("0", "Must be at least USD 0.01."),
    ],
)
def test_a_money_field_refuses_what_its_currency_cannot_hold(amount, error):
    with pytest.raises(StartDataError) as caught:
        clean_start_data(MONEY_NODE, {"amount": amount, "currency": "USD"})  # type: ignore[arg-type]
    assert caught.value.errors == {"amount": [error]}


@pytest.mark.parametrize(
    ("currency", "error"),
    [("", "Choose the currency of Amount."), ("ABC", "Enter a currency code such as USD or EUR.")],
)
def test_a_money_fields_currency_is_never_assumed(currency, error):
    with pytest.raises(StartDataError) as caught:
        clean_start_data(MONEY_NODE, {"amount": "500", "currency": currency})  # type: ignore[arg-type]
    assert caught.value.errors == {"currency": [error]}


TEXTS = {
    **NODE,
    "config": {
        "fields": [
            {"name": "item", "label": "Item", "type": "string", "required": True, "choices": []},
            {
                "name": "why",
                "label": "Why",
                "type": "text",
                "required": False,
                "choices": [],
                "max_length": 50,
            },
            {
                "name": "currency",
                "label": "Currency",
                "type": "choice",
                "required": True,
                "choices": ["USD", "EUR"],
                "default": "USD",
            },
        ]
    },
}


def test_a_text_field_takes_its_kinds_default_maximum() -> None:
    assert clean_start_data(TEXTS, {"item": "x" * 200})["item"] == "x" * 200  # type: ignore[arg-type]
    with pytest.raises(StartDataError) as caught:
        clean_start_data(TEXTS, {"item": "x" * 1000})  # type: ignore[arg-type]
    assert caught.value.errors == {"item": ["Use at most 200 characters; this has 1,000."]}


def test_a_text_field_takes_the_maximum_its_author_set_and_says_who_needs_it() -> None:
    field = TEXTS["config"]["fields"][1]
    with pytest.raises(StartDataError) as caught:
        clean_start_data(TEXTS, {"item": "Laptop", "why": "y" * 100_000})  # type: ignore[arg-type]
    assert caught.value.errors == {"why": ["Use at most 50 characters; this has 100,000."]}
    limited = {**TEXTS, "config": {"fields": [{**field, "max_length_reason": "Place order accepts no more"}]}}
    with pytest.raises(StartDataError) as caught:
        clean_start_data(limited, {"why": "y" * 51})  # type: ignore[arg-type]
    assert caught.value.errors == {
        "why": ["Use at most 50 characters (Place order accepts no more); this has 51."]
    }


def test_a_required_field_sent_blank_is_refused_not_given_its_default() -> None:
    with pytest.raises(StartDataError) as caught:
        clean_start_data(TEXTS, {"item": "Laptop", "currency": ""})  # type: ignore[arg-type]
    assert caught.value.errors == {"currency": ["This field is required."]}


def test_a_field_left_out_takes_its_default() -> None:
    assert clean_start_data(TEXTS, {"item": "Laptop"})["currency"] == "USD"  # type: ignore[arg-type]


# --- what a message carries

CARRIED = [
    {"name": "order_id", "label": "order_id", "type": "string", "required": True, "choices": []},
    {"name": "lines", "label": "lines", "type": "list", "required": False, "choices": []},
    {"name": "customer", "label": "customer", "type": "map", "required": True, "choices": []},
    {"name": "urgent", "label": "urgent", "type": "boolean", "required": False, "choices": []},
]


def test_a_message_declaring_no_fields_passes_any_names_as_before() -> None:
    assert clean_message_data([], {"anything": [1, 2], "else": "x"}) == {"anything": [1, 2], "else": "x"}


def test_a_message_keeps_its_lists_and_records_whole() -> None:
    data = {"order_id": " A-1 ", "lines": [{"sku": "X"}], "customer": {"name": "Acme", "tags": []}}

    assert clean_message_data(CARRIED, data) == {  # type: ignore[arg-type]
        "order_id": "A-1",
        "lines": [{"sku": "X"}],
        "customer": {"name": "Acme", "tags": []},
        "urgent": False,  # a yes/no left out is no, as on a start form
    }


def test_a_message_names_every_field_it_refuses() -> None:
    with pytest.raises(StartDataError) as caught:
        clean_message_data(CARRIED, {"lines": {"sku": "X"}, "colour": "red", "urgent": "maybe"})  # type: ignore[arg-type]

    assert caught.value.errors == {
        "colour": ["Not a field this message carries."],
        "order_id": ["This field is required."],
        "lines": ["Expected a list."],
        "customer": ["This field is required."],
        "urgent": ["Enter true or false."],
    }


def test_message_data_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(StartDataError) as caught:
        clean_message_data(CARRIED, ["A-1"])  # type: ignore[arg-type]

    assert caught.value.errors == {"variables": ["Expected an object of field values."]}
