"""Incident groups: grouping, bulk retry and skip (page and API), permissions, and the operators' email."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client as PageClient
from guardian.shortcuts import assign_perm

from orchestration.engine import start_instance
from orchestration.models import Event, Incident, ProcessInstance, WorkflowVersion
from orchestration.ops.incidents import TOLD, error_digest, incident_groups, tell_operators
from tests import bpmn
from tests.orchestration.conftest import Client
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


def _divide_flow(process: str = "flow") -> str:
    """Dividing by a count of zero fails inline: an incident without any worker."""
    return bpmn.definitions(
        bpmn.start("start", bpmn.field("count", "integer", required=True)),
        bpmn.script("divide", '{"share": 100 / count}', name="Share out"),
        bpmn.end(),
        *bpmn.chain("start", "divide", "end"),
        process_id=process,
    )


@pytest.fixture
def people() -> dict[str, Any]:
    users = get_user_model()
    people = {
        name: users.objects.create_user(name, email=f"{name}@example.com")
        for name in ("owner", "alice", "victor", "olga", "opal", "gus")
    }
    people["nomail"] = users.objects.create_user("nomail")
    return people


@pytest.fixture
def divide(people: dict[str, Any]) -> WorkflowVersion:
    version = publish(_divide_flow(), key="divide", name="Share out money", owner=people["owner"])
    operators = Group.objects.create(name="Operators")
    people["gus"].groups.add(operators)
    assign_perm("orchestration.change_workflow", operators, version.workflow)
    assign_perm("orchestration.view_workflow", operators, version.workflow)
    assign_perm("orchestration.change_workflow", people["nomail"], version.workflow)
    assign_perm("orchestration.view_workflow", people["victor"], version.workflow)
    return version


def _fail(version: WorkflowVersion, people: dict[str, Any], n: int = 1) -> list[ProcessInstance]:
    return [start_instance(version, {"count": 0}, initiator=people["alice"]) for _ in range(n)]


def _page(user: Any) -> PageClient:
    client = PageClient()
    client.force_login(user)
    return client


def test_open_incidents_are_grouped_by_workflow_block_and_error_with_counts(
    people: dict[str, Any], divide: WorkflowVersion
) -> None:
    _fail(divide, people, 3)
    other = publish(_divide_flow("other"), key="other", owner=people["owner"])
    _fail(other, people, 1)

    groups = incident_groups(people["owner"])

    assert [(g.workflow_key, g.node_id, g.block, g.count) for g in groups] == [
        ("other", "divide", "Share out", 1),
        ("divide", "divide", "Share out", 3),
    ]
    three = groups[1]
    assert "divide by zero" in three.error and three.first_seen <= three.last_seen
    assert incident_groups(people["owner"], workflow="other")[0].count == 1


def test_the_page_lists_groups_only_for_operators(people: dict[str, Any], divide: WorkflowVersion) -> None:
    instances = _fail(divide, people, 2)

    operator = _page(people["gus"]).get("/operations/incidents/")
    initiator = _page(people["alice"]).get("/operations/incidents/")
    viewer = _page(people["victor"]).get("/operations/incidents/")

    assert operator.status_code == 200
    body = operator.content.decode()
    assert "Share out" in body and "2 requests" in body and "divide by zero" in body
    assert all(f"Request {i.reference}" in body and f"/requests/{i.id}/" in body for i in instances)
    assert [initiator.status_code, viewer.status_code] == [404, 404]
    assert "divide by zero" not in initiator.content.decode() + viewer.content.decode()


def test_skip_all_moves_every_instance_of_the_group_on_with_who_and_why(
    people: dict[str, Any], divide: WorkflowVersion
) -> None:
    instances = _fail(divide, people, 3)
    error = Incident.objects.filter(instance=instances[0]).get().error

    response = _page(people["gus"]).post(
        "/operations/incidents/fix/",
        {
            "workflow": "divide",
            "node_id": "divide",
            "group": error_digest(error),  # the page names the group by a digest of its error
            "action": "skip",
            "reason": "Shares are paid by hand",
        },
        follow=True,
    )

    assert response.status_code == 200
    assert "Skipped 3 of 3." in response.content.decode()
    for instance in instances:
        instance.refresh_from_db()
        assert instance.status == ProcessInstance.Status.COMPLETED and not instance.has_incident
        event = Event.objects.get(instance=instance, kind="incident.skipped")
        assert event.actor == people["gus"] and event.data["reason"] == "Shares are paid by hand"
        assert "Shares are paid by hand" in event.message
    assert incident_groups(people["gus"]) == []


def test_a_group_dealt_with_meanwhile_is_nothing_to_do_on_the_page(
    people: dict[str, Any], divide: WorkflowVersion
) -> None:
    client = _page(people["gus"])
    form = {"workflow": "divide", "node_id": "divide", "group": "0" * 32, "action": "retry", "reason": "x"}

    response = client.post("/operations/incidents/fix/", form, follow=True)

    assert response.status_code == 200
    assert "Nothing to do: these problems were already dealt with." in response.content.decode()


def test_retry_all_reports_instances_that_fail_again_at_once(
    api: Client, people: dict[str, Any], divide: WorkflowVersion
) -> None:
    instances = _fail(divide, people, 2)
    error = Incident.objects.filter(instance=instances[0]).get().error

    response = api(people["owner"]).post(
        "/api/incident-groups/retry/",
        {"workflow": "divide", "node_id": "divide", "error": error, "reason": "try again"},
        format="json",
    )

    assert response.status_code == 200, response.data
    assert len(response.data["done"]) == 2 and response.data["failed"] == []
    assert sorted(response.data["failed_again"]) == sorted(response.data["done"])
    assert Event.objects.filter(kind="incident.retried", actor=people["owner"]).count() == 2
    # The old incidents are resolved; the same problem stands as a group of two new ones.
    [group] = api(people["owner"]).get("/api/incident-groups/").data
    assert group["count"] == 2 and group["workflow"] == "divide" and group["node_name"] == "Share out"
    assert sorted(r["id"] for r in group["requests"]) == sorted(str(i.id) for i in instances)
    assert {r["initiator"] for r in group["requests"]} == {"alice"}


def test_an_incident_fixed_meanwhile_is_reported_not_fatal(
    api: Client, people: dict[str, Any], divide: WorkflowVersion
) -> None:
    from orchestration.engine import skip_incident

    instances = _fail(divide, people, 2)
    incidents = list(Incident.objects.filter(instance__in=instances).order_by("created_at", "id"))
    error = incidents[0].error

    # Someone skips the first while the bulk action runs: the engine refuses it under the lock.
    from orchestration.ops import incidents as module

    real = module._ACTIONS["skip"]

    def racing(incident_id: int, **kwargs: Any) -> Any:
        if incident_id == incidents[0].id:
            skip_incident(incident_id, actor=people["owner"])
        return real(incident_id, **kwargs)

    module._ACTIONS["skip"] = racing
    try:
        result = module.fix_group(people["owner"], "divide", "divide", error, "skip", reason="why")
    finally:
        module._ACTIONS["skip"] = real

    assert result.done == [incidents[1].id]
    assert result.failed == [(incidents[0].id, "The incident was already skipped.")]
    assert result.instances[incidents[0].id] == incidents[0].instance_id
    assert result.summary == "Skipped 1 of 2; 1 could not be skipped."


def test_bulk_actions_are_404_for_outsiders_and_403_for_viewers(
    api: Client, people: dict[str, Any], divide: WorkflowVersion
) -> None:
    instances = _fail(divide, people, 1)
    error = Incident.objects.get(instance=instances[0]).error
    body = {"workflow": "divide", "node_id": "divide", "error": error, "reason": "no"}

    outsider = api(people["olga"]).post("/api/incident-groups/skip/", body, format="json")
    viewer = api(people["victor"]).post("/api/incident-groups/skip/", body, format="json")
    initiator_page = _page(people["alice"]).post(
        "/operations/incidents/fix/", {**body, "group": error_digest(error), "action": "skip"}
    )
    listed = api(people["olga"]).get("/api/incident-groups/")

    assert [outsider.status_code, viewer.status_code, initiator_page.status_code] == [404, 403, 404]
    assert listed.status_code == 200 and listed.data == []
    assert Incident.objects.get(instance=instances[0]).resolved_at is None


def test_bulk_fix_refuses_missing_fields_naming_them(
    api: Client, people: dict[str, Any], divide: WorkflowVersion
) -> None:
    api_answer = api(people["owner"]).post(
        "/api/incident-groups/retry/", {"workflow": "divide"}, format="json"
    )
    page_answer = _page(people["owner"]).post(
        "/operations/incidents/fix/", {"workflow": "divide", "action": "explode"}
    )

    assert api_answer.status_code == 400 and {"node_id", "error", "reason"} <= set(api_answer.data)
    assert page_answer.status_code == 400
    assert "action" in page_answer.content.decode() and "reason" in page_answer.content.decode()


def test_operators_get_one_email_per_new_group_not_per_incident(
    people: dict[str, Any],
    divide: WorkflowVersion,
    eager_email: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        instances = _fail(divide, people, 3)

    # Three incidents, one group: each operator (the owner, the Operators group's member) once; not the
    # viewer, the requester, nor an operator without an address.
    assert sorted(to for m in eager_email for to in m.to) == ["gus@example.com", "owner@example.com"]
    message = eager_email[0]
    assert re.fullmatch(r"\[REQ-\d{4}-\d{6}\] Problem in Share out money: Share out failed", message.subject)
    assert "divide by zero" in message.body and "/operations/incidents/?workflow=divide" in message.body
    assert Event.objects.filter(kind=TOLD).count() == 1 and len(instances) == 3


def test_a_group_dealt_with_and_failing_again_later_is_new(
    people: dict[str, Any],
    divide: WorkflowVersion,
    eager_email: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    from orchestration.ops.incidents import fix_group, operators_of

    assert sorted(u.username for u in operators_of(divide.workflow)) == ["gus", "owner"]  # not "nomail"
    with django_capture_on_commit_callbacks(execute=True):
        instances = _fail(divide, people, 2)
    assert sorted(to for m in eager_email for to in m.to) == ["gus@example.com", "owner@example.com"]

    error = Incident.objects.filter(instance=instances[0]).get().error
    with django_capture_on_commit_callbacks(execute=True):
        fix_group(people["owner"], "divide", "divide", error, "skip", reason="paid by hand")
        _fail(divide, people, 1)

    assert len(eager_email) == 4  # the group was gone, so the new incident opens it again
    assert Event.objects.filter(kind=TOLD).count() == 2


def test_notices_of_one_group_send_one_email_in_any_order_and_however_often_delivered(
    people: dict[str, Any], divide: WorkflowVersion, mailoutbox: list[Any]
) -> None:
    # Both instances failed before either notice ran (both were queued: neither saw the other).
    instances = _fail(divide, people, 2)
    first, second = Incident.objects.filter(instance__in=instances).order_by("created_at", "id")

    sent = [tell_operators(second.id), tell_operators(first.id), tell_operators(first.id)]

    assert sent == [0, 2, 0]
    assert len(mailoutbox) == 2  # one per operator, once


def test_a_notice_after_the_operators_were_told_of_a_later_one_sends_nothing(
    people: dict[str, Any], divide: WorkflowVersion, mailoutbox: list[Any]
) -> None:
    # The later incident's transaction committed first and its notice ran before the earlier one existed.
    instances = _fail(divide, people, 2)
    first, second = Incident.objects.filter(instance__in=instances).order_by("created_at", "id")
    Event.objects.create(workflow=divide.workflow, kind=TOLD, data={"incident": second.id})

    assert tell_operators(first.id) == 0 and mailoutbox == []


def test_the_requester_reads_that_the_operators_were_told(
    people: dict[str, Any],
    divide: WorkflowVersion,
    eager_email: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        [instance] = _fail(divide, people, 1)

    page = _page(people["alice"]).get(f"/requests/{instance.id}/")

    assert "have it in their list of requests needing attention" in page.content.decode()
    assert eager_email  # and they were
