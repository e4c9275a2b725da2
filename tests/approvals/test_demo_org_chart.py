"""The demo company's org chart and limits, as ``baton_demo`` loads them."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from approvals import chain
from approvals.chain import route
from approvals.models import AuthorityLimit, ExchangeRate, Profile

pytestmark = pytest.mark.django_db


def test_demo_loads_the_management_chain_and_limits_and_is_safe_to_run_twice():
    call_command("baton_demo", stdout=StringIO())
    call_command("baton_demo", stdout=StringIO())

    users = get_user_model().objects
    employee = users.get(username="employee")
    assert [u.username for u in chain.manager_chain(employee)] == ["manager", "director", "cfo"]
    assert [u.username for u in chain.manager_chain(users.get(username="buyer"))] == [
        "manager",
        "director",
        "cfo",
    ]
    assert Profile.objects.count() == 5
    assert dict(AuthorityLimit.objects.values_list("user__username", "amount")) == {
        "employee": Decimal("500"),
        "manager": Decimal("2000"),
        "director": Decimal("25000"),
        "cfo": Decimal("1000000"),
    }
    assert AuthorityLimit.objects.count() == 4  # in the base currency only: run twice, no duplicates
    assert set(AuthorityLimit.objects.values_list("currency", flat=True)) == {"USD"}
    # Other currencies are converted, never taken at face value (GBP 2,000 is not USD 2,000).
    assert {r.currency: r.rate for r in ExchangeRate.objects.all()} == {
        "EUR": Decimal("1.08"),
        "GBP": Decimal("1.27"),
    }
    assert route(employee, Decimal("1800"), "GBP").covered_by.approver.username == "director"
    assert not AuthorityLimit.objects.filter(group__name="Finance").exists()
