"""The signature authority stub: limits from BATON_DEMO_AUTHORITY_LIMITS, otherwise 0."""

from __future__ import annotations

import pytest

from orchestration.connectors import registry
from orchestration.connectors.base import ConnectorError

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def people(django_user_model, settings):
    django_user_model.objects.create_user("alice")
    django_user_model.objects.create_user("bob")
    settings.BATON_DEMO_AUTHORITY_LIMITS = {"alice": 5000}


def check(data: dict) -> dict:
    return registry.get("approvals.check_authority").run({}, data, "key")


def test_registered_under_its_name():
    assert registry.get("approvals.check_authority").label == "Check signature authority"


@pytest.mark.parametrize(("amount", "covered"), [(4999.99, True), (5000, True), ("5000.01", False)])
def test_amount_within_the_requesters_limit_is_covered(amount, covered):
    assert check({"amount": amount, "currency": "EUR", "requester": "alice"}) == {
        "covered": covered,
        "limit": 5000.0,
        "currency": "EUR",
    }


def test_user_without_a_limit_covers_nothing():
    assert check({"amount": 1, "currency": "EUR", "requester": "bob"}) == {
        "covered": False,
        "limit": 0.0,
        "currency": "EUR",
    }


def test_without_the_setting_every_limit_is_zero(settings):
    del settings.BATON_DEMO_AUTHORITY_LIMITS

    assert check({"amount": 1, "currency": "EUR", "requester": "alice"})["limit"] == 0.0


def test_unknown_requester_is_not_retryable():
    with pytest.raises(ConnectorError) as failure:
        check({"amount": 1, "currency": "EUR", "requester": "mallory"})

    assert not failure.value.retryable
    assert "mallory" in str(failure.value)


@pytest.mark.parametrize(
    "data",
    [
        {"amount": "lots", "currency": "EUR", "requester": "alice"},
        {"amount": True, "currency": "EUR", "requester": "alice"},
        {"amount": None, "currency": "EUR", "requester": "alice"},
        {"amount": 1, "requester": "alice"},
        {"amount": 1, "currency": "EUR"},
    ],
)
def test_invalid_inputs_are_not_retryable(data):
    with pytest.raises(ConnectorError) as failure:
        check(data)
    assert not failure.value.retryable
