"""The admin's org chart: the demo company as a tree, and "Who can approve?" highlighted on it."""

from __future__ import annotations

import datetime
from decimal import Decimal
from io import StringIO
from typing import Any

import lxml.html
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from approvals.chain import route
from approvals.models import Profile

pytestmark = pytest.mark.django_db

CHART = "/admin/approvals/profile/org-chart/"


@pytest.fixture
def demo() -> dict[str, Any]:
    call_command("baton_demo", stdout=StringIO())
    return {u.username: u for u in get_user_model().objects.all()}


@pytest.fixture
def admin_page(demo: dict[str, Any]) -> Client:
    client = Client()
    client.force_login(demo["admin"])
    return client


def _tree(client: Client, **query: Any) -> Any:
    response = client.get(CHART, query)
    assert response.status_code == 200
    return lxml.html.fromstring(response.content.decode())


def _reports(doc: Any, username: str) -> list[str]:
    return [li.get("data-person") for li in _person(doc, username).xpath("./details/ul/li")]


def _person(doc: Any, username: str) -> Any:
    return doc.xpath(f'//li[@data-person="{username}"]')[0]


def _card(doc: Any, username: str) -> str:
    return str(_person(doc, username).xpath('./div[contains(@class, "org-node")]')[0].text_content())


def _marks(doc: Any) -> dict[str, list[str]]:
    found = {}
    for li in doc.xpath("//li[@data-person]"):
        marks = li.xpath('./div[contains(@class, "org-node")]//*[@data-testid="org-mark"]')
        if marks:
            found[li.get("data-person")] = [m.text_content() for m in marks]
    return found


def test_the_demo_company_is_shown_as_a_tree_with_titles_and_limits(admin_page):
    doc = _tree(admin_page)

    roots = [li.get("data-person") for li in doc.xpath('//ul[@id="org-tree"]/li')]
    assert roots == ["chair", "cfo"]
    assert _reports(doc, "cfo") == ["director", "legal"]
    assert _reports(doc, "director") == ["manager"]
    assert _reports(doc, "manager") == ["employee", "buyer"]  # by name: Emma, Ivan
    manager = _card(doc, "manager")
    assert "Max Manager" in manager and "Marketing manager · Marketing" in manager
    assert "USD 2,000.00" in manager
    assert "USD 1,000,000.00" in _card(doc, "cfo")


def test_a_person_away_shows_who_decides_for_them(admin_page, demo):
    today = timezone.localdate()
    Profile.objects.filter(user=demo["manager"]).update(
        out_of_office_from=today, out_of_office_to=today + datetime.timedelta(days=3), delegate=demo["buyer"]
    )

    doc = _tree(admin_page)

    manager = _card(doc, "manager")
    assert "Out of office until" in manager and "Ivan Buyer decides" in manager


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("300", {"employee": ["Requester · signs alone"]}),
        ("1500", {"employee": ["Requester"], "manager": ["Level 1 · approves"]}),
        ("5000", {"employee": ["Requester"], "manager": ["Level 1"], "director": ["Level 2 · approves"]}),
        (
            "30000",
            {
                "employee": ["Requester"],
                "manager": ["Level 1"],
                "director": ["Level 2"],
                "cfo": ["Level 3 · approves"],
            },
        ),
    ],
)
def test_who_can_approve_highlights_the_chain_the_process_uses(admin_page, demo, amount, expected):
    found = route(demo["employee"], Decimal(amount), "USD")

    doc = _tree(admin_page, requester=demo["employee"].pk, amount=amount, currency="usd")

    assert _marks(doc) == expected
    levels = [(s.approver.username, s.level, s.covered) for s in found.levels]
    shown = [li.text_content() for li in doc.xpath('//*[@data-testid="org-answer-level"]')]
    assert len(shown) == len(levels)
    for (username, _level, covered), text in zip(levels, shown, strict=True):
        assert demo[username].get_full_name() in text and ("approves" in text) == covered
    # The highlighted people are in open branches, down to the last level.
    for username in expected:
        assert all(d.get("open") is not None for d in _person(doc, username).iterancestors("details"))


def test_the_chain_through_a_delegate_marks_both_and_the_delegate_decides(admin_page, demo):
    today = timezone.localdate()
    Profile.objects.filter(user=demo["manager"]).update(
        out_of_office_from=today, out_of_office_to=today, delegate=demo["buyer"]
    )

    doc = _tree(admin_page, requester=demo["employee"].pk, amount="1500", currency="USD")

    marks = _marks(doc)
    assert marks["manager"] == ["Level 1 · away, Ivan Buyer decides"]
    assert marks["buyer"] == ["Level 1 · approves for Max Manager"]


def test_an_unusable_amount_is_a_field_error_not_a_failure(admin_page, demo):
    response = admin_page.get(CHART, {"requester": demo["employee"].pk, "amount": "lots", "currency": "USD"})

    assert response.status_code == 200
    assert b"errorlist" in response.content and b"org-answer" not in response.content


def test_a_manager_loop_keeps_everyone_on_the_chart(admin_page, demo):
    Profile.objects.filter(user=demo["cfo"]).update(manager=demo["employee"])

    doc = _tree(admin_page, requester=demo["employee"].pk, amount="5000", currency="USD")

    assert len(doc.xpath("//li[@data-person]")) == 7
    assert "Manager chain loops" in doc.text_content()


def test_staff_who_may_view_profiles_see_it_and_others_are_refused(demo):
    users = get_user_model().objects
    viewer = users.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_profile"))
    staff = users.create_user("staffer", is_staff=True)
    clients = {}
    for user in (viewer, staff, demo["employee"]):
        clients[user.username] = Client()
        clients[user.username].force_login(user)

    assert clients["viewer"].get(CHART).status_code == 200
    assert clients["staffer"].get(CHART).status_code == 403
    refused = clients["employee"].get(CHART)
    assert refused.status_code == 302 and "/admin/login/" in refused["Location"]
    anonymous = Client().get(CHART)
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]


def test_the_chart_is_linked_from_the_index_profiles_and_users(admin_page, demo):
    profile = Profile.objects.get(user=demo["buyer"])
    for url in ("/admin/", "/admin/approvals/profile/", "/admin/auth/user/"):
        assert CHART.encode() in admin_page.get(url).content, url
    for url in (
        f"/admin/approvals/profile/{profile.pk}/change/",
        f"/admin/auth/user/{demo['buyer'].pk}/change/",
    ):
        assert f'href="{CHART}#org-buyer"'.encode() in admin_page.get(url).content, url
    assert 'id="org-buyer"' in admin_page.get(CHART).content.decode()


def test_a_limit_typed_in_lower_case_is_accepted_and_stored_upper_case(admin_page, demo):
    response = admin_page.post(
        "/admin/approvals/authoritylimit/add/",
        {"user": demo["legal"].pk, "amount": "750", "currency": "usd", "category": "Travel"},
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    assert demo["legal"].authority_limits.get(category="Travel").currency == "USD"


def test_a_final_approvers_currency_in_lower_case_is_accepted(admin_page, demo):
    from django.contrib.auth.models import Group

    response = admin_page.post(
        "/admin/approvals/finalapprovers/add/",
        {"group": Group.objects.get(name="Board").pk, "currency": "eur", "category": "", "position": "5"},
    )

    assert response.status_code == 302, response.content.decode()[:3000]


def test_asked_for_a_later_date_the_tree_shows_who_is_away_then(admin_page, demo):
    later = timezone.localdate() + datetime.timedelta(days=30)
    Profile.objects.filter(user=demo["manager"]).update(
        out_of_office_from=later, out_of_office_to=later, delegate=demo["buyer"]
    )

    today = _tree(admin_page, requester=demo["employee"].pk, amount="1500", currency="USD")
    then = _tree(
        admin_page, requester=demo["employee"].pk, amount="1500", currency="USD", on_date=later.isoformat()
    )

    assert "Out of office" not in _card(today, "manager") and _marks(today)["manager"] == [
        "Level 1 · approves"
    ]
    assert "Ivan Buyer decides" in _card(then, "manager")
    assert _marks(then)["buyer"] == ["Level 1 · approves for Max Manager"]
