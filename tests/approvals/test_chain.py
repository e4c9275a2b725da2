"""Who approves: manager chains, authority limits, delegation, and the reasons given."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from approvals import chain
from approvals.models import AuthorityLimit, Profile

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 24)


def person(username: str, manager: Any = None, limit: str = "", **profile: Any) -> Any:
    """A user named "<Username> <Surname>" with a profile and, if given, a USD limit."""
    user = get_user_model().objects.create_user(username, first_name=username.title(), last_name="Smith")
    Profile.objects.create(user=user, manager=manager, **profile)
    if limit:
        AuthorityLimit.objects.create(user=user, amount=Decimal(limit), currency="USD")
    return user


@pytest.fixture
def org() -> dict[str, Any]:
    """employee → manager (2,000) → director (25,000) → cfo (1,000,000)."""
    cfo = person("cfo", limit="1000000")
    director = person("director", cfo, limit="25000")
    manager = person("manager", director, limit="2000")
    employee = person("employee", manager, limit="500")
    return {"cfo": cfo, "director": director, "manager": manager, "employee": employee}


# --- manager chain ------------------------------------------------------------------------


def test_manager_chain_lists_managers_nearest_first(org):
    assert chain.manager_chain(org["employee"]) == [org["manager"], org["director"], org["cfo"]]
    assert chain.manager_chain(org["cfo"]) == []


def test_manager_chain_ends_at_a_manager_without_a_profile():
    boss = get_user_model().objects.create_user("boss")
    worker = person("worker", boss)

    assert chain.manager_chain(worker) == [boss]


def test_manager_chain_loop_raises_naming_the_people(org):
    # A bulk update skips Profile.clean, so the chain itself guards against loops.
    Profile.objects.filter(user=org["cfo"]).update(manager=org["manager"])

    with pytest.raises(chain.ManagerCycle) as caught:
        chain.manager_chain(org["employee"])

    assert str(caught.value) == "Manager chain loops: manager → director → cfo → manager"


def test_profile_refuses_a_manager_cycle_naming_the_people(org):
    profile = Profile.objects.get(user=org["cfo"])
    profile.manager = org["manager"]

    with pytest.raises(ValidationError) as caught:
        profile.full_clean()

    assert caught.value.message_dict["manager"] == ["Manager chain loops: cfo → manager → director → cfo"]


def test_profile_refuses_being_ones_own_manager_or_delegate(org):
    profile = Profile.objects.get(user=org["cfo"])
    profile.manager = org["cfo"]
    profile.delegate = org["cfo"]

    with pytest.raises(ValidationError) as caught:
        profile.full_clean()

    assert caught.value.message_dict == {
        "manager": ["Manager chain loops: cfo → cfo"],
        "delegate": ["A person cannot delegate to themselves."],
    }


# --- authority limits ------------------------------------------------------------------------


def test_authority_is_the_highest_of_own_and_group_limits(org):
    directors = Group.objects.create(name="Directors")
    org["manager"].groups.add(directors)
    AuthorityLimit.objects.create(group=directors, amount=Decimal("10000"), currency="USD")

    limit = chain.authority_of(org["manager"], "USD", on_date=TODAY)

    assert limit is not None and limit.group == directors and limit.amount == Decimal("10000")
    assert chain.covers(org["manager"], Decimal("10000"), "usd", on_date=TODAY)
    assert not chain.covers(org["manager"], Decimal("10000.01"), "USD", on_date=TODAY)


def test_a_eur_limit_does_not_cover_usd(org):
    AuthorityLimit.objects.create(user=org["employee"], amount=Decimal("9000"), currency="EUR")

    assert chain.covers(org["employee"], Decimal("8000"), "EUR", on_date=TODAY)
    assert not chain.covers(org["employee"], Decimal("800"), "USD", on_date=TODAY)


def test_a_category_limit_applies_to_its_category_only(org):
    AuthorityLimit.objects.create(user=org["employee"], amount=Decimal("3000"), currency="USD", category="IT")

    assert chain.covers(org["employee"], Decimal("2500"), "USD", "IT", TODAY)
    assert not chain.covers(org["employee"], Decimal("2500"), "USD", "Travel", TODAY)
    assert not chain.covers(org["employee"], Decimal("2500"), "USD", "", TODAY)
    # The limit for any category still applies to IT.
    assert chain.covers(org["employee"], Decimal("400"), "USD", "Travel", TODAY)


def test_limits_apply_only_between_their_dates(org):
    AuthorityLimit.objects.create(
        user=org["employee"],
        amount=Decimal("5000"),
        currency="USD",
        valid_from=datetime.date(2026, 11, 1),
        valid_to=datetime.date(2026, 11, 30),
    )

    assert chain.covers(org["employee"], Decimal("4000"), "USD", on_date=datetime.date(2026, 11, 1))
    assert chain.covers(org["employee"], Decimal("4000"), "USD", on_date=datetime.date(2026, 11, 30))
    assert not chain.covers(org["employee"], Decimal("4000"), "USD", on_date=datetime.date(2026, 10, 31))
    assert not chain.covers(org["employee"], Decimal("4000"), "USD", on_date=datetime.date(2026, 12, 1))


def test_an_inactive_user_has_no_authority(org):
    org["cfo"].is_active = False
    org["cfo"].save()

    assert chain.authority_of(org["cfo"], "USD", on_date=TODAY) is None


def test_a_limit_belongs_to_a_user_or_a_group_not_both(org):
    with pytest.raises(IntegrityError):
        AuthorityLimit.objects.create(
            user=org["cfo"], group=Group.objects.create(name="Finance"), amount=1, currency="USD"
        )


def test_a_limit_needs_a_holder(org):
    with pytest.raises(ValidationError) as caught:
        AuthorityLimit(amount=1, currency="USD").full_clean()

    assert "A limit belongs to either a user or a group." in caught.value.messages


# --- delegation ------------------------------------------------------------------------------


def _away(user: Any, delegate: Any, start: datetime.date, end: datetime.date) -> None:
    Profile.objects.filter(user=user).update(
        delegate=delegate, out_of_office_from=start, out_of_office_to=end
    )


def test_out_of_office_approver_is_replaced_by_their_delegate(org):
    _away(org["manager"], org["director"], datetime.date(2026, 11, 20), datetime.date(2026, 11, 28))

    approver, reason = chain.resolve_approver(org["manager"], TODAY)

    assert approver == org["director"]
    assert reason == "Manager Smith is out of office until 28 Nov 2026; delegated to Director Smith"


@pytest.mark.parametrize("day", [datetime.date(2026, 11, 19), datetime.date(2026, 11, 29)])
def test_delegation_applies_only_within_the_dates(org, day):
    _away(org["manager"], org["director"], datetime.date(2026, 11, 20), datetime.date(2026, 11, 28))

    assert chain.resolve_approver(org["manager"], day) == (org["manager"], "")


def test_delegates_who_are_away_too_pass_it_on_and_a_loop_stops(org):
    period = (datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
    _away(org["manager"], org["director"], *period)
    _away(org["director"], org["cfo"], *period)
    assert chain.resolve_approver(org["manager"], TODAY)[0] == org["cfo"]

    _away(org["cfo"], org["manager"], *period)
    approver, reason = chain.resolve_approver(org["manager"], TODAY)

    assert approver == org["cfo"]
    assert reason.endswith("but their delegate Manager Smith delegates back, so it stays here")


def test_away_without_a_delegate_keeps_the_task(org):
    _away(org["manager"], None, datetime.date(2026, 11, 1), None)

    approver, reason = chain.resolve_approver(org["manager"], TODAY)

    assert approver == org["manager"]
    assert reason == "Manager Smith is out of office without an active delegate, so the task waits for them"


# --- the authority chain ------------------------------------------------------------------------


def test_level_one_is_the_requesters_manager_saying_why(org):
    found = chain.next_level(org["employee"], 0, Decimal("5000"), "USD", on_date=TODAY)

    assert found is not None
    assert (found.approver, found.level, found.limit.amount) == (org["manager"], 1, Decimal("2000"))
    assert found.reason == (
        "Level 1 of Employee Smith's management chain: Manager Smith's limit USD 2,000.00 does not cover "
        "USD 5,000.00, so the next level decides after them"
    )


def test_manager_over_limit_escalates_to_next_level(org):
    found = chain.next_level(
        org["employee"], 1, Decimal("5000"), "USD", on_date=TODAY, approved_by=[org["manager"]]
    )

    assert found is not None and (found.approver, found.level) == (org["director"], 2)
    assert found.reason == (
        "Level 2 of Employee Smith's management chain: Manager Smith's limit USD 2,000.00 does not cover "
        "USD 5,000.00; Director Smith's limit USD 25,000.00 covers it"
    )


def test_chain_ends_without_a_covering_limit(org):
    found = chain.next_level(
        org["employee"], 3, Decimal("2000000"), "USD", on_date=TODAY, approved_by=[org["cfo"]]
    )

    assert found is None
    assert chain.chain_ended(org["employee"], 3, Decimal("2000000"), "USD", "Finance") == (
        "Employee Smith's management chain ends after level 3 without a limit covering USD 2,000,000.00; "
        "routed to the fallback group Finance"
    )


def test_requester_without_a_manager_has_no_chain(org):
    assert chain.next_level(org["cfo"], 0, Decimal("5"), "USD", on_date=TODAY) is None


def test_delegation_to_the_requester_skips_that_level(org):
    _away(org["manager"], org["employee"], datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))

    found = chain.next_level(org["employee"], 0, Decimal("5000"), "USD", on_date=TODAY)

    assert found is not None and (found.approver, found.level) == (org["director"], 2)
    assert "Employee Smith is the requester and cannot approve their own request, so level 1 is skipped" in (
        found.reason
    )


def test_a_delegate_decides_a_level_with_the_managers_limit_adding_no_level(org):
    dana = get_user_model().objects.create_user("dana", first_name="Dana", last_name="Delegate")
    _away(org["manager"], dana, datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))

    found = chain.next_level(org["employee"], 0, Decimal("1500"), "USD", on_date=TODAY)

    assert found is not None
    assert (found.approver, found.on_behalf_of, found.level, found.covered) == (dana, org["manager"], 1, True)
    assert found.limit.user == org["manager"]
    assert (
        "delegated to Dana Delegate, who decides on Manager Smith's behalf; Manager Smith's limit USD 2,000.00 covers it"
        in (found.reason)
    )


def test_someone_who_already_approved_is_not_asked_again(org):
    # The manager's delegate is the director, who then sits on level 2 as well.
    _away(org["manager"], org["director"], datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
    AuthorityLimit.objects.filter(user=org["director"]).update(amount=Decimal("3000"))

    found = chain.next_level(
        org["employee"], 1, Decimal("5000"), "USD", on_date=TODAY, approved_by=[org["director"]]
    )

    assert found is not None and (found.approver, found.level) == (org["cfo"], 3)
    assert "Director Smith has already approved, so level 2 is skipped" in found.reason


def test_inactive_managers_are_skipped(org):
    org["manager"].is_active = False
    org["manager"].save()

    found = chain.next_level(org["employee"], 0, Decimal("100"), "USD", on_date=TODAY)

    assert found is not None and (found.approver, found.level) == (org["director"], 2)
    assert "Manager Smith (level 1) is no longer active" in found.reason
