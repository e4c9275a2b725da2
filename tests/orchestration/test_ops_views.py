"""The operations console's pages: the instance list with its filters, counts and access rules."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from guardian.shortcuts import assign_perm

from orchestration.engine import cancel_instance, start_instance
from orchestration.models import OPEN_STEP_STATUSES, ProcessInstance, Step
from orchestration.ops import instances as rows
from orchestration.ops import views
from tests import bpmn
from tests.orchestration.factories import publish
from tests.orchestration.ops_data import OpsData, make_ops_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def data() -> OpsData:
    return make_ops_data()


def _client(data: OpsData, name: str) -> Client:
    client = Client()
    client.force_login(data.people[name])
    return client


def _titles(response: Any) -> list[str]:
    return sorted(instance.title for instance, _ in response.context["rows"])


def test_the_console_start_page_leads_to_its_problems_reports_and_version_moves(data: OpsData) -> None:
    page = _client(data, "owner").get("/operations/").content.decode()

    # Reports and Problems were reachable only by typing their address.
    for href, words in (
        ("/operations/incidents/", "Problems"),
        ("/operations/reports/", "Reports"),
        ("/operations/move-to-version/", "New versions"),
    ):
        assert f'href="{href}"' in page and words in page
    assert 'class="nav-link active" href="/operations/"' in page  # Requests: where one is


def test_operator_sees_every_request_of_their_workflows_in_plain_words(data: OpsData) -> None:
    stuck = data.start("Printer paper", 0, key="PO-7")
    data.start("Desk lamp", 4)
    data.start("Chair", 2, by="victor")
    start_instance(data.other, {}, initiator=data.people["olga"])

    response = _client(data, "owner").get("/operations/")

    assert response.status_code == 200
    assert _titles(response) == ["Chair", "Desk lamp", "Printer paper"]
    page = response.content.decode()
    assert "Divide the budget" in page and "Needs attention" in page and "Share out" in page
    assert 'Approval: <span class="fw-medium">Manager approval</span>' in page
    assert "Alice Example" in page and stuck.reference in page and "PO-7" in page
    # The id is in links and in the value of the box that chooses the request to move, never in words.
    assert str(stuck.id) not in page.replace(f"/operations/requests/{stuck.id}/", "").replace(
        f'value="{stuck.id}"', ""
    )
    assert 'href="/operations/"' in page  # the navigation offers the console
    assert response.context["counts"] == {
        "all": 3,
        "running": 3,
        "attention": 1,
        "completed": 0,
        "cancelled": 0,
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=lamp", ["Desk lamp"]),
        ("status=cancelled", ["Chair"]),
        ("status=running", ["Desk lamp", "Printer paper"]),
        ("has_incident=true", ["Printer paper"]),
        ("status=running&has_incident=true", ["Printer paper"]),
        ("has_incident=false", ["Chair", "Desk lamp"]),
        ("step=approval", ["Desk lamp"]),
        ("step=divide", ["Printer paper"]),
        ("initiator=victor", ["Chair"]),
        ("initiator=alice", ["Desk lamp", "Printer paper"]),
        ("reference=PO-7", ["Printer paper"]),
        ("workflow=divide&version=1", ["Chair", "Desk lamp", "Printer paper"]),
        ("version=2", []),
        ("started_from=2000-01-01&started_to=9999-12-31", ["Chair", "Desk lamp", "Printer paper"]),
        ("started_to=2000-01-01", []),
    ],
)
def test_filters_narrow_the_list(data: OpsData, query: str, expected: list[str]) -> None:
    data.start("Printer paper", 0, key="PO-7")
    data.start("Desk lamp", 4)
    chair = data.start("Chair", 2, by="victor")
    cancel_instance(chair.id, actor=data.people["owner"], reason="Bought elsewhere")

    response = _client(data, "owner").get(f"/operations/?{query}")

    assert response.status_code == 200
    assert _titles(response) == expected
    assert response.context["page"].paginator.count == len(expected)


def test_a_request_number_finds_its_request_and_counts_ignore_the_status_filter(data: OpsData) -> None:
    lamp = data.start("Desk lamp", 4)
    data.start("Printer paper", 0)

    response = _client(data, "owner").get(f"/operations/?reference=%23{lamp.reference}&status=completed")
    found = _client(data, "owner").get(f"/operations/?reference={lamp.reference.upper()}")

    assert _titles(response) == [] and response.context["counts"]["running"] == 1
    assert _titles(found) == ["Desk lamp"]


def test_sorting_orders_the_list(data: OpsData) -> None:
    for item in ("B second", "A first", "C third"):
        data.start(item, 1)

    newest = _client(data, "owner").get("/operations/")
    oldest = _client(data, "owner").get("/operations/?sort=started")

    assert [i.title for i, _ in newest.context["rows"]] == ["C third", "A first", "B second"]
    assert [i.title for i, _ in oldest.context["rows"]] == ["B second", "A first", "C third"]


def test_a_page_costs_the_same_queries_however_many_requests(
    data: OpsData, django_assert_max_num_queries: Any
) -> None:
    client = _client(data, "owner")
    data.start("One", 0)
    # 12 statements; the status counts' time budget adds a savepoint and its settings inside a test's transaction.
    with django_assert_max_num_queries(16) as few:
        client.get("/operations/?q=e")
    for n in range(30):
        data.start(f"Item {n}", n % 3)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/operations/?q=e")

    assert len(response.context["rows"]) == 25  # a full page


def test_counts_past_the_cap_read_as_more_and_the_pages_still_go_on(
    data: OpsData, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rows, "COUNT_CAP", 2)
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    for item in ("A", "B", "C", "D"):
        data.start(item, 1)
    data.start("Stuck", 0)
    client = _client(data, "owner")

    first = client.get("/operations/")
    deep = client.get("/operations/?page=4")

    assert first.context["count_words"] == {
        "all": "2+",
        "running": "2+",
        "attention": "1",
        "completed": "0",
        "cancelled": "0",
    }
    page = first.content.decode()
    assert 'data-testid="count-all">2+<' in page and 'data-testid="count-attention">1<' in page
    assert "1\N{EN DASH}1 of more than 2" in page and "Page 1</span>" in page and "page=2" in page
    # A deep page counts as far as itself: here that reaches the end, so the pager is exact again.
    assert deep.context["more_than"] == "" and "Page 4 of 5" in deep.content.decode()
    assert [i.title for i, _ in deep.context["rows"]] == ["B"]


def test_a_few_requests_are_counted_per_status_in_one_reading(data: OpsData) -> None:
    data.start("Desk lamp", 4)
    data.start("Lamp shade", 0)
    data.start("Chair", 4)

    counts = rows.capped_status_counts(ProcessInstance.objects.filter(variables__item__icontains="lamp"))

    assert counts == {"all": 2, "running": 2, "attention": 1, "completed": 0, "cancelled": 0}


def test_status_tabs_past_their_time_budget_are_left_out_and_the_page_still_answers(
    data: OpsData, monkeypatch: pytest.MonkeyPatch
) -> None:
    data.start("Desk lamp", 4)
    original = rows._within_budget
    client = _client(data, "owner")

    def all_tabs_too_slow(db: str, budget_ms: int, sql: str, params: list[Any]) -> Any:
        return None if "CASE WHEN" in sql else original(db, budget_ms, sql, params)

    monkeypatch.setattr(rows, "_within_budget", all_tabs_too_slow)
    some = client.get("/operations/")
    monkeypatch.setattr(rows, "_within_budget", lambda *args: None)
    none = client.get("/operations/?status=running")

    assert some.context["count_words"] == {
        "all": "1",
        "running": "",
        "attention": "",
        "completed": "",
        "cancelled": "",
    }
    assert 'data-testid="count-running"></span>' in some.content.decode()  # an empty badge is not shown
    assert none.status_code == 200 and set(none.context["count_words"].values()) == {""}
    assert [i.title for i, _ in none.context["rows"]] == ["Desk lamp"]  # the pager counted by itself


def test_when_nothing_was_counted_in_time_the_pager_reads_only_as_far_as_the_next_page(
    data: OpsData, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    monkeypatch.setattr(rows, "_within_budget", lambda *args: None)
    for item in ("A", "B", "C", "D", "E"):
        data.start(item, 1)
    client = _client(data, "owner")

    first = client.get("/operations/")
    last = client.get("/operations/?page=3")

    assert [i.title for i, _ in first.context["rows"]] == ["E", "D"]
    assert first.context["more_than"] == "2" and "of more than 2" in first.content.decode()
    assert [i.title for i, _ in last.context["rows"]] == ["A"] and last.context["more_than"] == ""
    assert "Page 3 of 3" in last.content.decode()


def test_postgresql_cancels_counting_past_the_budget_and_the_request_goes_on() -> None:
    if connection.vendor != "postgresql":  # SQLite has no statement timeout: counts there take their time
        assert rows._within_budget("default", 1, "SELECT 1", []) == (1,)
        return
    assert rows._within_budget("default", 20, "SELECT pg_sleep(0.5)", []) is None
    assert rows._within_budget("default", 1_000, "SELECT 2", []) == (2,)
    with connection.cursor() as cursor:  # the test's transaction goes on, without the budget
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone() == ("0",)


def test_waiting_at_matches_the_step_name_of_each_workflow_not_another_with_the_same_block_id(
    data: OpsData,
) -> None:
    # "approve" is also a block of this workflow, named otherwise: "approval" must not find it.
    payments = publish(
        bpmn.definitions(
            bpmn.start(),
            bpmn.user_task("approve", name="Pay the invoice", assignee="owner"),
            bpmn.end(),
            *bpmn.chain("start", "approve", "end"),
        ),
        key="payments",
        name="Payments",
        owner=data.people["owner"],
    )
    start_instance(payments, {}, initiator=data.people["alice"])
    data.start("Desk lamp", 4)
    client = _client(data, "owner")

    by_name = client.get("/operations/?step=APPROVAL")
    by_other_name = client.get("/operations/?step=invoice")
    by_id = client.get("/operations/?step=approve")

    assert _titles(by_name) == ["Desk lamp"]
    assert by_name.context["counts"] == {
        "all": 1,
        "running": 1,
        "attention": 0,
        "completed": 0,
        "cancelled": 0,
    }
    assert _titles(by_other_name) == ["Payments"]
    assert _titles(by_id) == ["Desk lamp", "Payments"]


def test_malformed_filters_are_a_400_naming_them(data: OpsData) -> None:
    response = _client(data, "owner").get("/operations/?started_from=yesterday&version=x&status=lost")

    assert response.status_code == 400
    errors = response.context["filters"].form.errors
    assert set(errors) == {"started_from", "version", "status"}


def test_people_who_operate_nothing_may_not_open_the_console(data: OpsData) -> None:
    data.start("Desk lamp", 4)
    assign_perm("orchestration.view_workflow", data.people["victor"], data.divide.workflow)

    for name in ("alice", "victor"):
        response = _client(data, name).get("/operations/")
        assert response.status_code == 403
        assert "Desk lamp" not in response.content.decode()
        assert 'href="/operations/"' not in _client(data, name).get("/requests/").content.decode()


def test_instance_page_is_404_for_outsiders_and_403_for_those_who_see_but_do_not_operate(
    data: OpsData,
) -> None:
    lamp = data.start("Desk lamp", 0)
    url = f"/operations/requests/{lamp.id}/"

    assert _client(data, "olga").get(url).status_code == 404  # operates another workflow only
    assert _client(data, "victor").get(url).status_code == 404
    assert _client(data, "alice").get(url).status_code == 403  # her own request: the request page is hers
    assert _client(data, "owner").get(url).status_code == 200
    assert (
        _client(data, "owner").get("/operations/requests/00000000-0000-0000-0000-000000000000/").status_code
        == 404
    )
    assert ProcessInstance.objects.filter(id=lamp.id).exists()


# --- one request and its fixes -----------------------------------------------------------


def _url(instance: ProcessInstance, rest: str = "") -> str:
    return f"/operations/requests/{instance.id}/{rest}"


def test_instance_page_shows_the_error_in_full_the_data_with_types_the_steps_and_the_history(
    data: OpsData,
) -> None:
    stuck = data.start("Printer paper", 0, key="PO-7")

    response = _client(data, "owner").get(_url(stuck))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Cannot compute variable &#x27;share&#x27;: divide by zero" in page
    assert [(i.label, i.type, i.value) for i in response.context["items"]] == [
        ("Item", "Text", "Printer paper"),
        ("Count", "Whole number", 0),
    ]
    assert [row.step.node_id for row in response.context["steps"]] == ["start", "divide"]
    # A step is named, then said what it is, once: "Share out Set data", but "Start", not "Start Start".
    assert (
        'data-testid="step-title">Share out</span> <span class="small text-body-secondary">Set data' in page
    )
    assert 'data-testid="step-title">Start</span></div>' in page
    assert [e.event.kind for e in response.context["events"]][:1] == ["instance.started"]
    assert 'id="designer-config"' in page and "designer/canvas.js" in page
    path = _client(data, "owner").get(_url(stuck, "path/")).json()
    assert path["instance"]["incidents"] == ["divide"] and path["instance"]["visited"] == ["start"]


def test_instance_page_names_who_has_the_open_approval(data: OpsData) -> None:
    waiting = data.start("Desk lamp", 4)

    response = _client(data, "owner").get(_url(waiting))

    [row] = [r for r in response.context["steps"] if r.step.node_id == "approve"]
    assert [t["assignee"] for t in row.tasks] == ["owner"]
    assert "With Owner Example" in response.content.decode()


def test_fixing_the_data_and_retrying_in_the_page_completes_the_step(data: OpsData) -> None:
    stuck = data.start("Printer paper", 0)
    incident = stuck.incidents.get()
    client = _client(data, "owner")

    refused = client.post(
        _url(stuck, f"incidents/{incident.id}/retry/"),
        {"v_item": "Printer paper", "v_count": "none", "reason": "Count fixed"},
    )
    retried = client.post(
        _url(stuck, f"incidents/{incident.id}/retry/"),
        {"v_item": "Printer paper", "v_count": "5", "reason": "Count fixed"},
    )

    assert refused.status_code == 400 and "Enter a whole number." in refused.content.decode()
    assert retried.status_code == 302
    stuck.refresh_from_db()
    assert stuck.variables["count"] == 5 and stuck.variables["share"] == 20 and not stuck.has_incident
    page = client.get(_url(stuck)).content.decode()
    assert "Retrying Share out (Count fixed)" in page and "<del" in page


def test_skipping_cancelling_and_moving_in_the_page(data: OpsData) -> None:
    stuck = data.start("Printer paper", 0)
    lamp = data.start("Desk lamp", 4)
    chair = data.start("Chair", 4)
    client = _client(data, "owner")
    incident = stuck.incidents.get()

    no_reason = client.post(_url(stuck, f"incidents/{incident.id}/skip/"), {"v_share": "7"})
    skipped = client.post(
        _url(stuck, f"incidents/{incident.id}/skip/"), {"v_share": "7", "reason": "By hand"}
    )
    cancelled = client.post(_url(lamp, "cancel/"), {"reason": "Bought elsewhere"})
    approve = chair.steps.get(node_id="approve")
    moved = client.post(
        _url(chair, "move/"), {"step": approve.id, "target": "end", "reason": "Signed on paper"}
    )

    assert no_reason.status_code == 400 and "This field is required." in no_reason.content.decode()
    assert [skipped.status_code, cancelled.status_code, moved.status_code] == [302, 302, 302]
    stuck.refresh_from_db()
    lamp.refresh_from_db()
    chair.refresh_from_db()
    assert stuck.variables["share"] == 7
    assert lamp.status == ProcessInstance.Status.CANCELLED
    assert chair.status == ProcessInstance.Status.COMPLETED


def test_people_who_may_not_operate_get_404_or_403_from_every_fix(data: OpsData) -> None:
    stuck = data.start("Printer paper", 0)
    incident = stuck.incidents.get()
    step = stuck.steps.get(node_id="divide")
    posts = {
        _url(stuck, f"incidents/{incident.id}/retry/"): {"reason": "x"},
        _url(stuck, f"incidents/{incident.id}/skip/"): {"reason": "x"},
        _url(stuck, "cancel/"): {"reason": "x"},
        _url(stuck, "move/"): {"step": step.id, "target": "end", "reason": "x"},
    }

    for name, expected in (("olga", 404), ("victor", 404), ("alice", 403)):
        client = _client(data, name)
        assert client.get(_url(stuck, "path/")).status_code == expected
        for url, body in posts.items():
            response = client.post(url, body)
            assert response.status_code == expected, (name, url)
            assert "divide by zero" not in response.content.decode()

    stuck.refresh_from_db()
    assert stuck.status == ProcessInstance.Status.RUNNING and stuck.has_incident


def test_the_open_step_index_covers_exactly_the_open_statuses() -> None:
    # The index's condition spells the statuses out (a Meta cannot read Step.OPEN_STATUSES).
    assert set(OPEN_STEP_STATUSES) == set(Step.OPEN_STATUSES)


def test_skipping_an_ask_ai_step_offers_each_answer_fields_allowed_values() -> None:
    triage = publish(
        Path("orchestration/fixtures/invoice_triage.bpmn").read_text(), key="triage", name="Triage"
    )
    graph = triage.graph
    incident = SimpleNamespace(id=1, step=SimpleNamespace(node_id="Task_read_invoice"))

    form = views._skip_form(
        None, graph, incident, {"v_category": "Travel", "v_vendor": "ACME", "reason": "x"}
    )

    assert form.is_valid(), form.errors
    assert form.values() == {"category": "Travel", "vendor": "ACME"}
    html = str(form["v_category"])
    assert "<select" in html and '<option value="IT hardware">IT hardware</option>' in html
    assert "<select" not in str(form["v_vendor"])  # free text stays free
    refused = views._skip_form(None, graph, incident, {"v_category": "Cars", "reason": "x"})
    assert not refused.is_valid() and "v_category" in refused.errors
