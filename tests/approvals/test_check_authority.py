"""The signature authority connector: the requester's highest applicable authority limit."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from approvals.models import AuthorityLimit
from orchestration.connectors import registry
from orchestration.connectors.base import ConnectorError

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def people(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    django_user_model.objects.create_user("bob")
    AuthorityLimit.objects.create(user=alice, amount=Decimal("5000"), currency="EUR")


def check(data: dict) -> dict:
    return registry.get("approvals.check_authority").run({}, data, "key")


def test_registered_under_its_name():
    assert registry.get("approvals.check_authority").label == "Check signature authority"


@pytest.mark.parametrize(("amount", "covered"), [(4999.99, True), (5000, True), ("5000.01", False)])
def test_amount_within_the_requesters_limit_is_covered(amount, covered):
    assert check({"amount": amount, "currency": "EUR", "requester": "alice"}) == {
        "covered": covered,
        "limit": "EUR 5,000.00",
        "currency": "EUR",
    }


def test_user_without_a_limit_covers_nothing():
    assert check({"amount": 1, "currency": "EUR", "requester": "bob"}) == {
        "covered": False,
        "limit": "none",
        "currency": "EUR",
    }


def test_a_limit_in_another_currency_covers_nothing():
    assert check({"amount": 1, "currency": "USD", "requester": "alice"}) == {
        "covered": False,
        "limit": "none",
        "currency": "USD",
    }


def test_a_groups_limit_counts_for_its_members(django_user_model):
    buyers = Group.objects.create(name="Buyers")
    django_user_model.objects.get(username="bob").groups.add(buyers)
    AuthorityLimit.objects.create(group=buyers, amount=Decimal("800"), currency="EUR")

    assert check({"amount": 700, "currency": "EUR", "requester": "bob"})["covered"] is True


def test_a_category_limit_applies_only_to_its_category(django_user_model):
    bob = django_user_model.objects.get(username="bob")
    AuthorityLimit.objects.create(user=bob, amount=Decimal("3000"), currency="EUR", category="IT")

    assert check({"amount": 2000, "currency": "EUR", "requester": "bob", "category": "it"})["covered"]
    assert not check({"amount": 2000, "currency": "EUR", "requester": "bob", "category": "Travel"})["covered"]
    assert not check({"amount": 2000, "currency": "EUR", "requester": "bob"})["covered"]


def test_an_expired_limit_covers_nothing(django_user_model):
    bob = django_user_model.objects.get(username="bob")
    AuthorityLimit.objects.create(
        user=bob,
        amount=Decimal("3000"),
        currency="EUR",
        valid_to=timezone.localdate() - datetime.timedelta(days=1),
    )

    assert check({"amount": 1, "currency": "EUR", "requester": "bob"})["limit"] == "none"


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
        {"amount": 1, "currency": "euros", "requester": "alice"},
        {"amount": 1, "currency": "EUR", "requester": "alice", "category": 7},
        {"amount": 1e20, "currency": "EUR", "requester": "alice"},
        {"amount": 1, "currency": "ABC", "requester": "alice"},
        {"amount": 1, "currency": "EUR"},
    ],
)
def test_invalid_inputs_are_not_retryable(data):
    with pytest.raises(ConnectorError) as failure:
        check(data)
    assert not failure.value.retryable
