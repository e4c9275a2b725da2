"""The inbox's request numbers, search, CSV export and saved views; my requests' search; the task API's numbers."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from approvals.links import link_url
from approvals.models import ApprovalTask, SavedInboxView
from orchestration.engine import start_instance
from orchestration.models import ProcessInstance
from tests.approvals.conftest import approval_flow
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def purchase(org: dict[str, Any]) -> Any:
    version = publish(approval_flow(), key="buy", name="Buy something")
    assign_perm("orchestration.start_workflow", org["employee"], version.workflow)
    assign_perm("orchestration.view_workflow", org["employee"], version.workflow)
    return version


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _request(
    version: Any, requester: Any, amount: str = "1500", item: str = "Laptop", **data: Any
) -> ProcessInstance:
    return start_instance(
        version, {"item": item, "amount": amount, **data}, initiator=requester, trigger="manual"
    )


def _rows(response: Any) -> list[dict[str, str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


# --- numbers on the pages and in the search -----------------------------------------------------


def test_the_inbox_task_page_and_request_page_show_the_request_number(org, purchase):
    instance = _request(purchase, org["employee"])
    task = ApprovalTask.objects.get(instance=instance)
    manager = _client(org["manager"])

    for page in (
        manager.get("/inbox/"),
        manager.get(f"/tasks/{task.id}/"),
        _client(org["employee"]).get(f"/requests/{instance.id}/"),
        _client(org["employee"]).get("/requests/"),
    ):
        assert page.status_code == 200
        assert instance.reference in page.content.decode()


def test_the_inbox_search_finds_a_request_by_its_number(org, purchase):
    wanted = _request(purchase, org["employee"], item="Chair")
    other = _request(purchase, org["employee"], item="Desk")

    page = _client(org["manager"]).get("/inbox/", {"q": wanted.reference})
    short = _client(org["manager"]).get("/inbox/", {"q": f"#{wanted.number}"})

    assert [t.instance_id for t in page.context["page"]] == [wanted.id]
    assert [t.instance_id for t in short.context["page"]] == [wanted.id]
    assert other.reference not in page.content.decode()


def test_my_requests_search_by_number_or_item(org, purchase):
    wanted = _request(purchase, org["employee"], item="Chair")
    _request(purchase, org["employee"], item="Desk")
    employee = _client(org["employee"])

    by_number = employee.get("/requests/", {"q": wanted.reference.lower()})
    by_item = employee.get("/requests/", {"q": "chai"})
    nothing = employee.get("/requests/", {"q": "REQ-1999-000001"})

    assert [row[0].pk for row in by_number.context["rows"]] == [wanted.pk]
    assert [row[0].pk for row in by_item.context["rows"]] == [wanted.pk]
    assert nothing.context["rows"] == [] and "No requests match" in nothing.content.decode()


def test_my_requests_search_ignores_a_nul_character(org, purchase):
    wanted = _request(purchase, org["employee"], item="Chair")

    response = _client(org["employee"]).get("/requests/", {"q": "Cha\x00ir"})

    assert response.status_code == 200
    assert [row[0].pk for row in response.context["rows"]] == [wanted.pk]


def test_the_task_api_gives_and_filters_by_the_request_number(org, purchase):
    wanted = _request(purchase, org["employee"], item="Chair")
    _request(purchase, org["employee"], item="Desk")
    api = APIClient()
    api.force_authenticate(org["manager"])

    listed = api.get("/api/tasks/", {"request_number": wanted.reference})
    malformed = api.get("/api/tasks/", {"request_number": "chair"})

    assert [row["request_number"] for row in listed.json()["results"]] == [wanted.reference]
    assert malformed.status_code == 400 and "request_number" in malformed.json()


# --- CSV export -----------------------------------------------------------------------------------


def test_the_csv_holds_the_filtered_inbox_with_number_title_amount_requester_step_due_and_status(
    org, purchase
):
    chair = _request(purchase, org["employee"], item="Chair", amount="1500")
    _request(purchase, org["employee"], item="Desk", amount="1800")
    big = _request(
        purchase, org["employee"], item="=HYPERLINK(1)", amount="5000"
    )  # the director's, not manager's

    everything = _rows(_client(org["manager"]).get("/inbox/export.csv"))
    filtered = _rows(_client(org["manager"]).get("/inbox/export.csv", {"q": "chair", "tab": "mine"}))

    by_title = {row["Title"]: row for row in everything}
    assert set(by_title) == {"Chair", "Desk", "'=HYPERLINK(1)"}  # a formula stays text
    row = by_title["Chair"]
    task = ApprovalTask.objects.get(instance=chair)
    assert row == {
        "Request number": chair.reference,
        "Title": "Chair",
        "Amount": "1500.00",
        "Currency": "USD",
        "Requester": "Emma Employee",
        "Step": "Manager approval",
        "Due date": row["Due date"],
        "Status": "Waiting for you",
    }
    assert task.due_at is not None and row["Due date"].startswith(f"{task.due_at:%Y-%m-}")
    assert [r["Request number"] for r in filtered] == [chair.reference]
    assert big.reference in {r["Request number"] for r in everything}


def test_a_person_exports_only_their_own_tasks(org, purchase):
    mine = _request(purchase, org["employee"], item="Chair", amount="1500")
    directors = _request(purchase, org["manager"], item="Server", amount="1500")  # the manager's own request

    manager_rows = _rows(_client(org["manager"]).get("/inbox/export.csv"))
    director_rows = _rows(_client(org["director"]).get("/inbox/export.csv"))
    employee_rows = _rows(_client(org["employee"]).get("/inbox/export.csv"))

    assert [r["Request number"] for r in manager_rows] == [mine.reference]
    assert [r["Request number"] for r in director_rows] == [directors.reference]
    assert employee_rows == []


def test_the_export_needs_a_sign_in(purchase):
    assert Client().get("/inbox/export.csv").status_code == 302


# --- saved views ------------------------------------------------------------------------------------


def test_a_person_saves_the_current_filters_as_a_view_and_opens_it(org, purchase):
    manager = _client(org["manager"])

    saved = manager.post(
        "/inbox/views/", {"name": "Big ones", "query": "tab=mine&amount_min=1000&sort=-amount&evil=1&page=3"}
    )

    view = SavedInboxView.objects.get(user=org["manager"])
    assert view.name == "Big ones" and saved.url == f"/inbox/views/{view.id}/"
    opened = manager.get(saved.url)
    assert opened.status_code == 302
    assert opened.url == "/inbox/?tab=mine&amount_min=1000&sort=-amount"
    inbox = manager.get("/inbox/")
    assert "Big ones" in inbox.content.decode() and f"/inbox/views/{view.id}/" in inbox.content.decode()


def test_saving_a_view_under_an_existing_name_replaces_it_and_a_blank_name_is_refused(org, purchase):
    manager = _client(org["manager"])
    manager.post("/inbox/views/", {"name": "Mine", "query": "tab=mine"})
    manager.post("/inbox/views/", {"name": "Mine", "query": "tab=queue"})
    refused = manager.post("/inbox/views/", {"name": "  ", "query": "tab=done"}, follow=True)

    assert list(SavedInboxView.objects.values_list("name", "query")) == [("Mine", "tab=queue")]
    assert "Give the view a name." in refused.content.decode()


def test_nobody_sees_opens_or_deletes_another_persons_view(org, purchase):
    view = SavedInboxView.objects.create(user=org["manager"], name="Max's view", query="tab=mine")
    director = _client(org["director"])

    assert "Max&#x27;s view" not in director.get("/inbox/").content.decode()
    assert director.get(f"/inbox/views/{view.id}/").status_code == 404
    assert director.post(f"/inbox/views/{view.id}/delete/").status_code == 404
    assert SavedInboxView.objects.filter(pk=view.pk).exists()

    deleted = _client(org["manager"]).post(f"/inbox/views/{view.id}/delete/")
    assert deleted.status_code == 302 and not SavedInboxView.objects.filter(pk=view.pk).exists()
    assert get_user_model().objects.filter(pk=org["manager"].pk).exists()


def test_the_page_an_email_link_opens_shows_the_request_number(org, purchase, settings):
    settings.BATON_BASE_URL = "http://testserver"
    instance = _request(purchase, org["employee"])
    task = ApprovalTask.objects.get(instance=instance)

    page = _client(org["manager"]).get(
        link_url(task, org["manager"], "approve").removeprefix("http://testserver")
    )

    assert page.status_code == 200 and instance.reference in page.content.decode()
