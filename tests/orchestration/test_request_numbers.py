"""Request numbers: given by the database when a request is written, unique under concurrent starts, searchable."""

from __future__ import annotations

import datetime
import threading
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from orchestration import request_numbers
from orchestration.bpmn.compiler import compile_bpmn
from orchestration.engine import start_instance
from orchestration.engine.dry_run import replay, try_draft
from orchestration.models import ProcessInstance
from tests import bpmn
from tests.orchestration.factories import publish

FLOW = bpmn.definitions(
    bpmn.start("start", bpmn.field("item", required=True)),
    bpmn.end("end"),
    bpmn.flow("start", "end"),
)


def _start(version: Any, item: str = "Lamp", **kwargs: Any) -> ProcessInstance:
    return start_instance(version, {"item": item}, **kwargs)


# --- the rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "parsed"),
    [
        ("REQ-2026-000123", (2026, 123)),
        ("req-2026-123", (2026, 123)),
        (" REQ 2026-000123 ", (2026, 123)),
        ("#123", (None, 123)),
        ("000123", (None, 123)),
        ("REQ-123", (None, 123)),
        ("Laptop", None),
        ("REQ-2026-", None),
        ("12.5", None),
        ("", None),
    ],
)
def test_a_request_number_is_read_as_people_type_it(typed, parsed):
    assert request_numbers.parse(typed) == parsed


def test_the_number_shows_the_year_the_request_was_made_and_six_digits_at_least():
    made = datetime.datetime(2026, 12, 31, 23, 30, tzinfo=datetime.UTC)
    assert request_numbers.format_number(123, made) == "REQ-2026-000123"
    assert request_numbers.format_number(1234567, made) == "REQ-2026-1234567"
    assert request_numbers.format_number(None, made) == ""
    assert request_numbers.format_number(-42, made) == ""  # a dry run's placeholder: not a number people see


# --- given by the database ----------------------------------------------------------------------


@pytest.mark.django_db
def test_each_request_gets_the_next_number_in_the_insert_that_writes_it():
    version = publish(FLOW, key="lamp")

    first = _start(version)
    with CaptureQueriesContext(connection) as queries:
        second = _start(version)

    assert isinstance(first.number, int) and second.number == first.number + 1
    assert second.reference == f"REQ-{second.started_at.year}-{second.number:06d}"
    # The number came back from the INSERT that writes the request: no statement of its own.
    statements = [
        q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    assert [sql.split()[0] + " " + sql.split()[2] for sql in statements] == [
        'INSERT "orchestration_processinstance"',
        'INSERT "orchestration_step"',
        'INSERT "orchestration_event"',
    ]
    [written] = [sql for sql in statements if '"orchestration_processinstance"' in sql]
    assert "RETURNING" in written and '"number"' in written.split("RETURNING")[1]
    assert ProcessInstance.objects.get(pk=second.pk).number == second.number


@pytest.mark.django_db
def test_a_number_is_never_given_again_even_after_its_request_is_deleted():
    version = publish(FLOW, key="lamp")
    last = _start(version)
    ProcessInstance.objects.filter(pk=last.pk).delete()

    assert _start(version).number == last.number + 1


@pytest.mark.django_db
def test_test_runs_and_replays_leave_no_gap_in_the_numbers_of_real_requests():
    # On PostgreSQL a rolled-back nextval stays drawn: a dry run must not draw one at all.
    version = publish(FLOW, key="lamp")
    designer = get_user_model().objects.create_user("dana")
    graph = compile_bpmn(FLOW).graph
    before = _start(version)

    for item in ("Desk", "Chair"):
        run = try_draft(version.workflow, FLOW, graph, {"item": item}, [], user=designer)
        assert run.status == ProcessInstance.Status.COMPLETED
    assert replay(version.workflow, FLOW, graph).same == 1

    assert _start(version).number == before.number + 1


@pytest.mark.django_db(transaction=True)
def test_requests_started_at_the_same_moment_get_different_numbers():
    version = publish(FLOW, key="lamp")
    threads_count = 4
    barrier = threading.Barrier(threads_count)
    numbers: list[int] = []
    errors: list[BaseException] = []

    def start(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            for i in range(5):
                numbers.append(_start(version, item=f"Lamp {n}-{i}").number)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=start, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(numbers) == 20 and len(set(numbers)) == 20
    stored = list(ProcessInstance.objects.values_list("number", flat=True))
    assert sorted(stored) == sorted(numbers)


# --- searchable and shown ---------------------------------------------------------------------


@pytest.fixture
def alice(db: Any) -> Any:
    return get_user_model().objects.create_user("alice", first_name="Alice", password="pw")


@pytest.mark.django_db
def test_the_api_gives_and_filters_by_the_request_number(alice):
    version = publish(FLOW, key="lamp", owner=alice)
    wanted = _start(version, initiator=alice)
    _start(version, initiator=alice)
    api = APIClient()
    api.force_authenticate(alice)

    listed = api.get("/api/instances/", {"request_number": wanted.reference})
    short = api.get("/api/instances/", {"request_number": str(wanted.number)})
    wrong_year = api.get(
        "/api/instances/", {"request_number": f"REQ-{wanted.started_at.year - 1}-{wanted.number}"}
    )
    malformed = api.get("/api/instances/", {"request_number": "Lamp"})
    detail = api.get(f"/api/instances/{wanted.id}/")

    assert [row["request_number"] for row in listed.json()["results"]] == [wanted.reference]
    assert [row["id"] for row in short.json()["results"]] == [str(wanted.id)]
    assert wrong_year.json()["results"] == []
    assert malformed.status_code == 400 and "request_number" in malformed.json()
    assert detail.json()["request_number"] == wanted.reference


@pytest.mark.django_db
def test_the_operations_list_finds_a_request_by_its_number(alice):
    version = publish(FLOW, key="lamp", owner=alice)
    wanted = _start(version, item="Lamp", initiator=alice)
    other = _start(version, item="Desk", initiator=alice)
    client = Client()
    client.force_login(alice)

    by_number = client.get("/operations/", {"reference": wanted.reference, "status": "completed"})
    by_search = client.get("/operations/", {"q": wanted.reference.lower(), "status": "completed"})

    for page in (by_number, by_search):
        assert page.status_code == 200
        rows = list(page.context["page"])
        assert [i.pk for i in rows] == [wanted.pk], page.context.get("filter_errors")
        assert wanted.reference in page.content.decode() and other.reference not in page.content.decode()


# --- read by the workflow's own steps ---------------------------------------------------------

TELLS_THE_NUMBER = bpmn.definitions(
    bpmn.start("start", bpmn.field("item", required=True)),
    bpmn.script("note", '{"ref": "Request " + request_number}'),
    bpmn.service(
        "tell",
        "email",
        tag="sendTask",
        inputs={"to": '"alice@example.com"', "subject": '"Your request " + request_number + ": " + item'},
    ),
    bpmn.end("end"),
    *bpmn.chain("start", "note", "tell", "end"),
)


@pytest.mark.django_db
def test_a_new_requests_own_steps_read_its_number_in_the_run_that_starts_it():
    version = publish(TELLS_THE_NUMBER, key="tells")
    assert version.graph["reads_request_number"] is True

    instance = _start(version)

    stored = ProcessInstance.objects.get(pk=instance.pk)
    assert stored.variables["ref"] == f"Request {stored.reference}" and stored.number == instance.number
    tell = stored.steps.get(node_id="tell")
    assert tell.input["subject"] == f"Your request {stored.reference}: Lamp"
    assert stored.lock_version == instance.lock_version  # written early, then brought up to date


@pytest.mark.django_db
def test_a_later_run_reads_the_number_of_the_request_it_moves():
    from approvals.actions import complete_task
    from approvals.models import ApprovalTask

    bob = get_user_model().objects.create_user("bob")
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("item", required=True)),
        bpmn.user_task("approve", assignee="bob"),
        bpmn.script("note", '{"ref": request_number}'),
        bpmn.end("end"),
        *bpmn.chain("start", "approve", "note", "end"),
    )
    instance = _start(publish(xml, key="later"))

    complete_task(ApprovalTask.objects.get(instance=instance).pk, bob, "approved")

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert instance.variables["ref"] == instance.reference


def test_only_the_variable_itself_counts_as_reading_the_number():
    from orchestration.expressions import reads

    assert reads('"#" + request_number', "request_number")
    assert not reads("order.request_number", "request_number")
    assert not reads('"request_number"', "request_number")


def _try(version: Any, xml: str, item: str) -> Any:
    from orchestration.bpmn.compiler import compile_bpmn
    from orchestration.engine.dry_run import try_draft

    designer, _ = get_user_model().objects.get_or_create(username="designer")
    return try_draft(version.workflow, xml, compile_bpmn(xml).graph, {"item": item}, [], user=designer)


@pytest.mark.django_db
def test_a_test_run_shows_a_stand_in_for_the_number():
    version = publish(TELLS_THE_NUMBER, key="tells")

    tried = _try(version, TELLS_THE_NUMBER, "Desk")

    tell = next(step for step in tried.steps if step.node_id == "tell")
    assert tell.input["subject"] == f"Your request REQ-{tell.created_at.year}-000000: Desk"


@pytest.mark.integration
def test_a_notify_email_sent_by_the_worker_carries_the_request_number(live_engine):
    import email
    import uuid
    from pathlib import Path

    from django.conf import settings

    from tests.conftest import wait_until_completed

    item = f"Lamp {uuid.uuid4().hex[:8]}"
    instance = _start(publish(TELLS_THE_NUMBER, key="tells"), item=item)
    wait_until_completed([instance])

    folder = Path(settings.EMAIL_FILE_PATH)
    chunks = [c for path in folder.glob("*.log") for c in path.read_text(errors="replace").split("-" * 79)]
    [message] = [email.message_from_string(c.strip()) for c in chunks if item in c]
    instance.refresh_from_db()
    assert " ".join(str(message["Subject"]).split()) == f"Your request {instance.reference}: {item}"
