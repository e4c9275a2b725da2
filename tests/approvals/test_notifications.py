"""Emails to approvers: who gets them, what they say, and that they leave only after the commit."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from approvals import links, notifications
from approvals.actions import complete_task
from approvals.models import ApprovalTask, Profile
from orchestration.engine import start_instance
from orchestration.engine.dispatch import relay_outbox
from orchestration.models import ProcessInstance
from orchestration.templatetags.moments import when
from tests import bpmn
from tests.approvals.conftest import approval_flow
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://testserver/tasks/link/([^/\s\"]+)/")


def _request(
    org: dict[str, Any], amount: float, rule: str = "authority_chain", **data: Any
) -> ProcessInstance:
    version = publish(
        approval_flow(rule, groups="Finance" if rule == "group" else ""),
        key=f"buy-{rule}",
        name="Buy something",
    )
    return start_instance(version, {"item": "Laptop", "amount": amount, **data}, initiator=org["employee"])


def _task(instance: ProcessInstance) -> ApprovalTask:
    return ApprovalTask.objects.get(instance=instance, status=ApprovalTask.Status.OPEN)


def _claims(body: str) -> list[links.LinkClaim]:
    return [links.read_token(token) for token in LINK.findall(body)]


@pytest.fixture(autouse=True)
def _site(settings: Any) -> None:
    settings.BATON_BASE_URL = "http://testserver"


def test_a_task_for_a_person_emails_them_the_summary_and_their_own_links(
    mailed_org, eager_email, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        instance = _request(mailed_org, 5000)
    task = _task(instance)

    [message] = eager_email
    assert message.to == ["manager@example.com"]
    assert message.subject == f"[{instance.reference}] Approval needed: Laptop (USD 5,000.00)"
    assert instance.reference.startswith("REQ-")
    body = message.body
    assert f"Number:     {instance.reference}" in body and instance.reference in message.alternatives[0][0]
    for expected in ("Manager approval", "Buy something", "Emma Employee", "USD 5,000.00", task.reason):
        assert expected in body
    assert f"{task.due_at:%Y}" in body and "Due:" in body
    claims = _claims(body)
    assert [(c.task_id, c.user_id, c.action, c.version) for c in claims] == [
        (task.id, mailed_org["manager"].pk, action, 0) for action in ("approve", "reject", "open")
    ]
    html, mime = message.alternatives[0]
    assert (
        mime == "text/html" and ">Approve</a>" in html and ">Reject</a>" in html and "Open in Baton" in html
    )
    assert _claims(html) == claims


def test_a_group_queue_emails_each_active_member_with_an_address_except_the_requester(
    mailed_org, eager_email, django_capture_on_commit_callbacks
):
    finance = Group.objects.get(name="Finance")
    users = get_user_model()
    users.objects.create_user("frank").groups.add(finance)  # no email address
    users.objects.create_user("ivy", email="ivy@example.com", is_active=False).groups.add(finance)
    users.objects.create_user("gus", email="gus@example.com").groups.add(finance)
    mailed_org["employee"].groups.add(finance)  # the requester is in the group too

    with django_capture_on_commit_callbacks(execute=True):
        instance = _request(mailed_org, 50, rule="group")

    assert sorted(m.to[0] for m in eager_email) == ["fiona@example.com", "gus@example.com"]
    # Each member gets links bound to themselves.
    for message in eager_email:
        user = users.objects.get(email=message.to[0])
        assert {c.user_id for c in _claims(message.body)} == {user.pk}
        assert "a decision from the Finance group" in message.body
    assert _task(instance).candidate_group == finance


def test_an_approver_without_an_email_address_gets_none_and_the_task_opens_anyway(
    org, eager_email, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        instance = _request(org, 5000)

    assert eager_email == []
    assert _task(instance).assignee == org["manager"]


def test_nothing_is_sent_until_the_transaction_commits(
    mailed_org, eager_email, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _request(mailed_org, 5000)
        assert eager_email == []

    assert eager_email == []
    for callback in callbacks:
        callback()
    assert [m.to for m in eager_email] == [["manager@example.com"]]


def test_a_task_decided_before_the_email_goes_out_sends_nothing(
    mailed_org, eager_email, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        instance = _request(mailed_org, 1500)
    complete_task(_task(instance).id, mailed_org["manager"], "approved")

    for callback in callbacks:
        callback()

    assert eager_email == []


def test_a_lost_email_message_is_sent_again_by_the_relay_and_only_once(
    mailed_org, eager_email, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    from orchestration.tasks import deliver_task

    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("broker unreachable")

    with monkeypatch.context() as patched:
        patched.setattr(deliver_task, "apply_async", broker_down)
        with django_capture_on_commit_callbacks(execute=True):
            instance = _request(mailed_org, 5000)

    assert eager_email == []
    assert _task(instance).assignee == mailed_org["manager"]
    assert "Could not publish outbox task" in caplog.text
    later = timezone.now() + timedelta(minutes=5)
    assert relay_outbox(now=later) == 1
    assert [m.to for m in eager_email] == [["manager@example.com"]]
    assert relay_outbox(now=later + timedelta(hours=1)) == 0
    assert len(eager_email) == 1


def test_the_next_level_of_the_chain_is_emailed_when_the_level_below_approves(
    mailed_org, eager_email, django_capture_on_commit_callbacks
):
    instance = _request(mailed_org, 5000)
    with django_capture_on_commit_callbacks(execute=True):
        complete_task(_task(instance).id, mailed_org["manager"], "approved")

    [message] = eager_email
    assert message.to == ["director@example.com"]
    assert "Max Manager's limit USD 2,000.00 does not cover USD 5,000.00" in message.body
    assert {c.user_id for c in _claims(message.body)} == {mailed_org["director"].pk}


def test_emails_carry_the_summary_and_not_the_rest_of_the_request_data(
    mailed_org, eager_email, django_capture_on_commit_callbacks
):
    form = (
        bpmn.field("item", required=True),
        bpmn.field("amount", "number", required=True),
        bpmn.field("door_code", "string"),
    )
    xml = bpmn.definitions(
        bpmn.start("start", *form),
        bpmn.user_task("approve", name="Check", assignee="manager"),
        bpmn.end("end"),
        bpmn.flow("start", "approve"),
        bpmn.flow("approve", "end"),
    )
    version = publish(xml, key="door")
    with django_capture_on_commit_callbacks(execute=True):
        start_instance(
            version,
            {"item": "Badge", "amount": 10, "door_code": "4711-XYZ"},
            initiator=mailed_org["employee"],
        )

    [message] = eager_email
    assert "Badge" in message.body
    assert "4711-XYZ" not in message.body and "4711-XYZ" not in message.alternatives[0][0]


def test_recipients_of_a_task_with_neither_person_nor_group_are_nobody(mailed_org):
    instance = _request(mailed_org, 5000)
    task = _task(instance)
    task.assignee = None
    task.candidate_group = None

    assert notifications.recipients(task) == []


def test_a_request_sent_back_emails_the_requester_a_link_to_edit_it(
    mailed_org, eager_email, django_capture_on_commit_callbacks
):
    from approvals.actions import complete_task

    instance = _request(mailed_org, 5000)
    eager_email.clear()

    with django_capture_on_commit_callbacks(execute=True):
        complete_task(
            _task(instance).id, mailed_org["manager"], "changes_requested", comment="Get two quotes"
        )

    [message] = eager_email
    assert message.to == ["employee@example.com"]
    assert message.subject == f"[{instance.reference}] Changes requested: Laptop (USD 5,000.00)"
    assert f"Number:     {instance.reference}" in message.body
    assert "Max Manager asked for changes: Get two quotes" in message.body
    assert f"http://testserver/requests/{instance.id}/" in message.body
    assert LINK.findall(message.body) == []  # no one-click decision links for the requester


def test_a_multi_line_subject_still_gets_its_email_on_one_header_line(
    mailed_org, eager_email, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        instance = _request(mailed_org, 5000, item="Laptop\r\nBcc: attacker@example.com")

    [message] = eager_email
    assert (
        message.subject
        == f"[{instance.reference}] Approval needed: Laptop Bcc: attacker@example.com (USD 5,000.00)"
    )
    assert message.bcc == [] and message.to == ["manager@example.com"]


def test_an_email_gives_the_due_date_in_the_recipients_time_zone(
    mailed_org, eager_email, django_capture_on_commit_callbacks
):
    Profile.objects.filter(user=mailed_org["manager"]).update(time_zone="Asia/Tokyo")
    with django_capture_on_commit_callbacks(execute=True):
        instance = _request(mailed_org, 5000)
    task = _task(instance)

    [message] = eager_email
    with timezone.override("Asia/Tokyo"):
        due = when(task.due_at)
    assert due.endswith(" JST") and f"Due:        {due}" in message.body
