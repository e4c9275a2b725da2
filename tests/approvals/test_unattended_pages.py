"""Every page about a request renders when no person started it: webhook, schedule, message, call.

The wording for "no requester": a dash in lists, "the system" in sentences, the trigger
where a list names who started each instance, ``null`` in the API.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from approvals.links import make_token
from approvals.models import ApprovalTask
from orchestration.engine import correlate_message, start_instance
from orchestration.engine.timers import fire_due_timers
from orchestration.models import ProcessInstance, Timer
from tests import bpmn
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db

TRIGGERS = ["webhook", "timer", "message", "call"]


def _flow(start: str, *, messages: tuple[str, ...] = ()) -> str:
    return bpmn.definitions(
        start,
        bpmn.user_task("approve", name="Check the feed", groups="Finance"),
        bpmn.end(),
        *bpmn.chain("start", "approve", "end"),
        messages=messages,
    )


def _start(trigger: str, owner: Any) -> ProcessInstance:
    """An instance started the way ``trigger`` starts one, by the engine's own path; nobody initiates it."""
    if trigger == "webhook":
        version = publish(_flow(bpmn.start()), key="feed", owner=owner)
        return start_instance(version, {}, trigger="webhook", actor_label="webhook")
    if trigger == "timer":
        version = publish(_flow(bpmn.start(cron="0 9 * * 1")), key="feed", owner=owner)
        timer = Timer.objects.get(version=version, kind=Timer.Kind.SCHEDULE)
        assert fire_due_timers(now=timer.due_at) == 1
        return ProcessInstance.objects.get(version=version)
    if trigger == "message":
        publish(_flow(bpmn.start(message="order"), messages=("order",)), key="feed", owner=owner)
        return correlate_message("order", "", {})
    publish(_flow(bpmn.start()), key="feed", owner=owner)
    parent = bpmn.definitions(
        bpmn.start(), bpmn.call("sub", "feed"), bpmn.end(), *bpmn.chain("start", "sub", "end")
    )
    start_instance(publish(parent, key="parent", owner=owner), {}, trigger="webhook", actor_label="webhook")
    return ProcessInstance.objects.get(trigger="call")


@pytest.fixture(params=TRIGGERS)
def unattended(request: pytest.FixtureRequest, org: dict[str, Any]) -> dict[str, Any]:
    owner = get_user_model().objects.create_user("olivia", is_staff=True)
    instance = _start(request.param, owner)
    assert instance.initiator_id is None and instance.trigger == request.param
    task = ApprovalTask.objects.get(instance=instance, status=ApprovalTask.Status.OPEN)
    return {"instance": instance, "task": task, "owner": owner, "approver": org["fiona"]}


def _page(user: Any, url: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_the_approvers_inbox_names_no_requester_with_a_dash(unattended):
    assert _page(unattended["approver"], "/inbox/") is not None
    queue = _page(unattended["approver"], "/inbox/?tab=queue")

    assert "Check the feed" in queue and '<td class="d-none d-md-table-cell">—</td>' in queue


def test_the_task_page_says_the_system_requested_it(unattended):
    page = _page(unattended["approver"], f"/tasks/{unattended['task'].id}/")

    assert "requested by <strong>the system</strong>" in page


def test_the_emailed_link_page_renders_without_a_requester(unattended):
    token = make_token(unattended["task"], unattended["approver"], "approve")
    page = _page(unattended["approver"], f"/tasks/link/{token}/")

    assert "Check the feed" in page and "Requester" not in page


def test_the_request_page_says_the_system_submitted_it(unattended):
    page = _page(unattended["approver"], f"/requests/{unattended['instance'].id}/")

    assert " by the system</p>" in page


def test_the_designers_live_view_names_the_trigger_instead_of_a_person(unattended):
    instance = unattended["instance"]
    page = _page(unattended["owner"], f"/designer/{instance.workflow.key}/live/?instance={instance.id}")

    assert f"{instance.trigger.capitalize()} <span" in page


def test_the_instance_api_gives_no_initiator_and_the_trigger(unattended):
    client = Client()
    client.force_login(unattended["owner"])
    response = client.get(f"/api/instances/{unattended['instance'].id}/")

    assert response.status_code == 200
    assert (
        response.json()["initiator"] is None and response.json()["trigger"] == unattended["instance"].trigger
    )
