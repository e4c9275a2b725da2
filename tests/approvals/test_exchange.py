"""Exchange rates: requests in another currency are compared with base-currency limits after conversion."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from approvals.actions import complete_task
from approvals.exchange import NoRate, rate_on, to_base
from approvals.models import ApprovalTask, AuthorityLimit, ExchangeRate
from orchestration.connectors import registry
from orchestration.connectors.base import ConnectorError
from orchestration.engine import start_instance
from orchestration.engine.context import Run
from orchestration.models import Incident, ProcessInstance
from orchestration.templatetags.moments import when
from tests.approvals.conftest import approval_flow
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
LAST_MONTH = TODAY - datetime.timedelta(days=30)


def _rate(currency: str, rate: str, valid_from: datetime.date) -> ExchangeRate:
    return ExchangeRate.objects.create(currency=currency, rate=Decimal(rate), valid_from=valid_from)


def _request(org: dict[str, Any], amount: str, currency: str) -> ProcessInstance:
    version = publish(approval_flow().replace('choices="USD,EUR"', 'choices="USD,EUR,GBP"'), key="buy")
    return start_instance(
        version, {"item": "Laptop", "amount": amount, "currency": currency}, initiator=org["employee"]
    )


def _open_task(instance: ProcessInstance) -> ApprovalTask:
    return ApprovalTask.objects.select_related("assignee").get(
        instance=instance, status=ApprovalTask.Status.OPEN
    )


def test_the_rate_in_force_is_the_latest_from_on_or_before_the_date():
    _rate("EUR", "1.05", LAST_MONTH)
    newer = _rate("EUR", "1.10", TODAY - datetime.timedelta(days=1))
    _rate("EUR", "1.20", TODAY + datetime.timedelta(days=1))

    assert rate_on("eur", TODAY) == newer
    assert rate_on("EUR", LAST_MONTH - datetime.timedelta(days=1)) is None


def test_a_conversion_rounds_half_up_to_the_base_currencys_minor_units():
    _rate("JPY", "0.006712", LAST_MONTH)

    conversion = to_base(Decimal("12345"), "JPY", TODAY)

    assert conversion.converted == Decimal("82.86")  # 82.859640
    assert conversion.describe() == f"USD 82.86 at the rate of {when(LAST_MONTH)} (1 JPY = 0.006712 USD)"


def test_a_gbp_request_is_compared_with_usd_limits_at_the_rate_of_its_date(org):
    _rate("GBP", "1.25", LAST_MONTH)
    instance = _request(org, "1800.00", "GBP")  # USD 2,250.00: above the manager's USD 2,000.00

    first = _open_task(instance)
    assert first.assignee == org["manager"]
    expected_rate = f"USD 2,250.00 at the rate of {when(LAST_MONTH)} (1 GBP = 1.25 USD)"
    assert (
        f"Max Manager's limit USD 2,000.00 does not cover GBP 1,800.00, which is {expected_rate}"
        in first.reason
    )
    assert first.limit_applied.startswith("USD 2,000.00 for Max Manager; the request counts as USD 2,250.00")

    # The request was made last month; a rate entered since then does not change how it is judged.
    ProcessInstance.objects.filter(pk=instance.pk).update(
        started_at=timezone.now() - datetime.timedelta(days=30)
    )
    _rate("GBP", "1.00", LAST_MONTH + datetime.timedelta(days=1))
    complete_task(first.id, org["manager"], "approved")

    second = _open_task(instance)
    assert second.assignee == org["director"]
    assert "Dana Director's limit USD 25,000.00 covers GBP 1,800.00, which is USD 2,250.00" in second.reason


def test_a_limit_in_the_requests_own_currency_comes_before_the_base_currency(org):
    _rate("EUR", "1.10", LAST_MONTH)
    AuthorityLimit.objects.create(user=org["manager"], amount=Decimal("1000"), currency="EUR")

    task = _open_task(_request(org, "1500", "EUR"))

    assert task.assignee == org["manager"]
    assert "Max Manager's limit EUR 1,000.00 does not cover EUR 1,500.00, so" in task.reason


def test_a_request_in_a_currency_without_a_rate_is_an_incident_in_plain_words(org):
    instance = _request(org, "1500", "GBP")

    assert not ApprovalTask.objects.filter(instance=instance, status=ApprovalTask.Status.OPEN).exists()
    incident = Incident.objects.get(instance=instance)
    assert incident.error.startswith(f"There is no exchange rate from GBP to USD in force on {when(TODAY)}")
    assert "Approvals → Exchange rates" in incident.error


def test_the_signature_authority_check_converts_too_and_says_how(org):
    _rate("GBP", "1.25", LAST_MONTH)
    check = registry.get("approvals.check_authority")

    result = check.run({}, {"amount": 400.0, "currency": "GBP", "requester": "employee"}, "key")

    assert result["covered"] is True and result["limit"] == "USD 500.00"
    assert result["exchange_rate"].startswith("GBP 400.00 is USD 500.00 at the rate of")
    with pytest.raises(ConnectorError) as failure:
        check.run({}, {"amount": 400.0, "currency": "EUR", "requester": "employee"}, "key")
    assert not failure.value.retryable and "no exchange rate from EUR to USD" in str(failure.value)


def test_the_signature_check_converts_at_the_rate_of_the_requests_date_as_the_chain_does(org):
    _rate("GBP", "1.25", LAST_MONTH)
    _rate("GBP", "1.50", TODAY)  # a newer rate, in force only since today
    check = registry.get("approvals.check_authority")
    data = {"amount": "400.00", "currency": "GBP", "requester": "employee"}

    made_last_week = check.run(
        {}, {**data, "requested_on": (TODAY - datetime.timedelta(days=7)).isoformat()}, "k"
    )
    made_today = check.run({}, {**data, "requested_on": TODAY.isoformat()}, "k")
    not_given = check.run({}, data, "k")

    # GBP 400 at 1.25 is USD 500 (the employee's limit); at 1.50 it is USD 600.
    assert made_last_week["covered"] is True and "1 GBP = 1.25 USD" in made_last_week["exchange_rate"]
    assert made_today["covered"] is False and "1 GBP = 1.5 USD" in made_today["exchange_rate"]
    assert not_given == made_today
    with pytest.raises(ConnectorError) as failure:
        check.run({}, {**data, "requested_on": "last week"}, "k")
    assert "'requested_on' must be a date" in str(failure.value)


def test_the_process_hands_the_signature_check_the_day_the_request_was_made(org):
    instance = _request(org, "1000", "USD")
    instance.started_at = timezone.now() - datetime.timedelta(days=3)
    run = Run(instance=instance, graph=instance.version.graph)

    assert run.scope()["requested_on"] == timezone.localdate(instance.started_at).isoformat()
    assert run.scope()["requested_on"] != TODAY.isoformat()


def test_a_rate_is_for_another_currency_than_the_base_and_one_per_day():
    with pytest.raises(ValidationError) as same:
        ExchangeRate(currency="usd", rate=Decimal("1"), valid_from=TODAY).full_clean()
    assert "USD is the base currency" in str(same.value)
    with pytest.raises(ValidationError):
        ExchangeRate(currency="ABC", rate=Decimal("1"), valid_from=TODAY).full_clean()
    _rate("EUR", "1.1", TODAY)
    with pytest.raises(ValidationError) as twice:
        ExchangeRate(currency="EUR", rate=Decimal("1.2"), valid_from=TODAY).full_clean()
    assert "already has a rate from that date" in str(twice.value)


def test_no_rate_is_raised_by_the_conversion_itself():
    with pytest.raises(NoRate):
        to_base(Decimal("1"), "EUR", TODAY)
