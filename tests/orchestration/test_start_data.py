"""Start data is checked against the start form: numbers must be real, finite numbers."""

from __future__ import annotations

import pytest

from orchestration.engine.start_data import StartDataError, clean_start_data

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
