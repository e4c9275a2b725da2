"""The admin's "who can approve X for Z?" check walks the chain like the Approval block does."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from approvals.chain import route
from approvals.models import ExchangeRate, Profile

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_of(org) -> Client:
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "x")
    client = Client()
    client.force_login(admin)
    return client


def test_route_climbs_until_a_limit_covers_the_amount(org):
    found = route(org["employee"], Decimal("5000"), "USD")

    assert [(s.approver.username, s.level) for s in found.levels] == [("manager", 1), ("director", 2)]
    assert found.covered_by is not None and found.covered_by.approver == org["director"]


def test_route_ends_without_cover_when_nobody_can_approve(org):
    found = route(org["employee"], Decimal("2000000"), "USD")

    assert [s.approver.username for s in found.levels] == ["manager", "director", "cfo"]
    assert found.covered_by is None


def test_admin_check_shows_the_chain_and_the_covering_limit(org, admin_client_of):
    page = admin_client_of.get(
        "/admin/approvals/authoritylimit/who-can-approve/",
        {"requester": org["employee"].pk, "amount": "5000", "currency": "usd"},
    )

    assert page.status_code == 200
    html = page.content.decode()
    assert "Dana Director covers it at level 2 (USD 25,000.00)" in html
    assert "Max Manager" in html


def test_admin_check_names_the_people_in_a_manager_loop(org, admin_client_of):
    Profile.objects.filter(user=org["cfo"]).update(manager=org["employee"])

    page = admin_client_of.get(
        "/admin/approvals/authoritylimit/who-can-approve/",
        {"requester": org["employee"].pk, "amount": "5000", "currency": "USD"},
    )

    assert "loops" in page.content.decode()


def test_admin_check_is_for_staff_only(org):
    client = Client()
    client.force_login(org["employee"])

    response = client.get("/admin/approvals/authoritylimit/who-can-approve/")

    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_limits_list_links_to_the_check(admin_client_of):
    page = admin_client_of.get("/admin/approvals/authoritylimit/")

    assert b"/admin/approvals/authoritylimit/who-can-approve/" in page.content


def test_within_the_requesters_own_limit_the_check_says_approved_at_once_as_the_process_does(
    org, admin_client_of
):
    from orchestration.connectors import registry

    found = route(org["employee"], Decimal("300"), "USD")
    process = registry.get("approvals.check_authority").run(
        {}, {"amount": 300.0, "currency": "USD", "requester": "employee"}, "key"
    )
    page = admin_client_of.get(
        "/admin/approvals/authoritylimit/who-can-approve/",
        {"requester": org["employee"].pk, "amount": "300", "currency": "USD"},
    ).content.decode()

    assert found.levels == [] and found.own is not None and found.own.covers
    assert process["covered"] is True
    assert "Emma Employee signs for it alone: approved at once, no approver needed" in page
    assert "Max Manager covers it" not in page


def test_the_check_converts_at_the_rate_in_force_and_names_it(org, admin_client_of):
    ExchangeRate.objects.create(currency="GBP", rate=Decimal("1.25"), valid_from=datetime.date(2026, 1, 1))

    page = admin_client_of.get(
        "/admin/approvals/authoritylimit/who-can-approve/",
        {"requester": org["employee"].pk, "amount": "1800", "currency": "gbp", "on_date": "2026-06-01"},
    ).content.decode()

    assert "Dana Director covers it at level 2 (USD 25,000.00)" in page
    assert "GBP 1,800.00 is USD 2,250.00 at the rate of 1 Jan 2026 (1 GBP = 1.25 USD)" in page


@pytest.mark.parametrize(
    ("amount", "currency", "field", "error"),
    [
        ("2000.004", "USD", "amount", "An amount in USD has at most 2 decimals."),
        ("1e20", "USD", "amount", "Must be at most USD 1,000,000,000,000.00."),
        ("100", "ABC", "currency", "Enter a currency code such as USD, EUR or JPY."),
    ],
)
def test_the_check_refuses_an_amount_no_request_could_have(
    org, admin_client_of, amount, currency, field, error
):
    page = admin_client_of.get(
        "/admin/approvals/authoritylimit/who-can-approve/",
        {"requester": org["employee"].pk, "amount": amount, "currency": currency},
    )

    assert page.status_code == 200
    assert page.context["form"].errors[field] == [error]


def test_the_check_says_in_words_when_a_rate_is_missing(org, admin_client_of):
    page = admin_client_of.get(
        "/admin/approvals/authoritylimit/who-can-approve/",
        {"requester": org["employee"].pk, "amount": "100", "currency": "EUR"},
    )

    assert page.status_code == 200
    assert "There is no exchange rate from EUR to USD in force on" in page.content.decode()


def test_administrators_keep_exchange_rates_in_the_admin(admin_client_of):
    added = admin_client_of.post(
        "/admin/approvals/exchangerate/add/", {"currency": "eur", "rate": "1.08", "valid_from": "2026-12-01"}
    )
    listed = admin_client_of.get("/admin/approvals/exchangerate/").content.decode()

    assert added.status_code == 302, added.context["adminform"].form.errors
    assert ExchangeRate.objects.get().base == "USD"
    assert "1 EUR = 1.08 USD" in listed
