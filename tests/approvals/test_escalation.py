"""Due dates, reminders and escalation on timeout, fired by the engine's timers."""

from __future__ import annotations

import datetime
import email
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.utils import timezone

from approvals.actions import claim_task, complete_task
from approvals.models import ApprovalTask, Profile
from orchestration.engine import start_instance
from orchestration.engine.operations import retry_incident
from orchestration.engine.timers import fire_due_timers
from orchestration.models import Event, Incident, ProcessInstance, Step, Timer
from tests.approvals.conftest import approval_flow
from tests.conftest import wait_for
from tests.orchestration.factories import publish

DAY = datetime.timedelta(days=1)


def _request(org: dict[str, Any], amount: float, xml: str, item: str = "Laptop") -> ProcessInstance:
    version = publish(xml, key=f"buy-{uuid.uuid4().hex[:8]}")
    return start_instance(version, {"item": item, "amount": amount}, initiator=org["employee"])


def _open_task(instance: ProcessInstance) -> ApprovalTask:
    return ApprovalTask.objects.select_related("assignee", "candidate_group").get(
        instance=instance, status=ApprovalTask.Status.OPEN
    )


def _after(delta: datetime.timedelta) -> int:
    """Fire every timer due within ``delta`` from now, as the ticker would then."""
    return fire_due_timers(now=timezone.now() + delta + datetime.timedelta(seconds=1))


# --- in-process: the ticker's work, fired by hand ----------------------------------------------


@pytest.mark.django_db
def test_a_reminder_emails_the_current_approver_and_keeps_the_task(
    mailed_org, eager_email, django_capture_on_commit_callbacks
):
    instance = _request(mailed_org, 5000, approval_flow())
    task = _open_task(instance)

    with django_capture_on_commit_callbacks(execute=True):
        _after(DAY)

    [reminder] = eager_email
    assert reminder.to == ["manager@example.com"]
    assert reminder.subject == f"[{instance.reference}] Reminder: approval needed: Laptop (USD 5,000.00)"
    assert "A reminder: a request is still waiting for your decision." in reminder.body
    event = Event.objects.get(instance=instance, kind="task.reminder")
    assert event.message == "Manager approval: reminder sent to Max Manager"
    assert _open_task(instance) == task


@pytest.mark.django_db
def test_an_overdue_manager_passes_the_request_to_the_director(org):
    instance = _request(org, 5000, approval_flow())
    first = _open_task(instance)

    _after(2 * DAY)

    first.refresh_from_db()
    assert (first.status, first.outcome, first.decided_by) == (
        ApprovalTask.Status.CANCELLED,
        "escalated",
        None,
    )
    assert first.comment == "No decision by Max Manager within 2 days; escalated to Dana Director (level 2)"
    assert first.lock_version == 1
    second = _open_task(instance)
    assert (second.assignee, second.chain_level) == (org["director"], 2)
    assert second.reason.startswith(
        "No decision by Max Manager within 2 days; escalated to Dana Director (level 2). "
        "Level 2 of Emma Employee's management chain: Dana Director's limit USD 25,000.00 covers it"
    )
    event = Event.objects.get(instance=instance, kind="task.escalated_on_timeout")
    assert event.message == (
        "Manager approval: no decision by Max Manager within 2 days; escalated to Dana Director (level 2)"
    )
    assert event.data == {"task": first.id, "level": 1, "next_level": 2}


@pytest.mark.django_db
def test_the_next_approver_gets_a_fresh_due_date_and_reminder(org):
    instance = _request(org, 5000, approval_flow())
    _after(DAY)  # the manager's reminder
    before = timezone.now()

    _after(2 * DAY)

    pending = Timer.objects.filter(instance=instance, fired_at__isnull=True, cancelled_at__isnull=True)
    assert sorted(t.kind for t in pending) == [Timer.Kind.DUE, Timer.Kind.REMINDER]
    due = pending.get(kind=Timer.Kind.DUE)
    assert before + 2 * DAY <= due.due_at <= timezone.now() + 2 * DAY
    assert _open_task(instance).due_at == due.due_at


@pytest.mark.django_db
def test_a_timed_out_level_counts_as_no_approval(org):
    instance = _request(org, 30000, approval_flow())
    _after(2 * DAY)  # manager → director
    director_task = _open_task(instance)

    complete_task(director_task.id, org["director"], "approved")

    cfo_task = _open_task(instance)
    assert (cfo_task.assignee, cfo_task.chain_level) == (org["cfo"], 3)
    assert "already approved" not in cfo_task.reason
    complete_task(cfo_task.id, org["cfo"], "approved")
    instance.refresh_from_db()
    assert instance.outcome == "approved" and instance.variables["approval"]["level"] == 3
    approvers = ApprovalTask.objects.filter(instance=instance, outcome="approved").values_list(
        "decided_by__username", flat=True
    )
    assert sorted(approvers) == ["cfo", "director"]


@pytest.mark.django_db
def test_an_overdue_top_of_the_chain_goes_to_the_fallback_group(org):
    Profile.objects.filter(user=org["director"]).update(manager=None)
    instance = _request(org, 50000, approval_flow())
    _after(2 * DAY)  # manager → director

    _after(2 * DAY)  # director → nobody above: Finance

    queued = _open_task(instance)
    assert queued.assignee is None and queued.candidate_group.name == "Finance"
    assert queued.reason.startswith(
        "No decision by Dana Director within 2 days; escalated to the Finance group (level 3). "
        "Emma Employee's management chain ends after level 2"
    )


@pytest.mark.django_db
def test_an_overdue_named_approver_passes_the_request_to_the_escalation_group(org):
    Group.objects.create(name="Procurement").user_set.add(org["director"])
    instance = _request(org, 50, approval_flow("user", assignee="manager", escalateTo="Procurement"))

    _after(2 * DAY)

    queued = _open_task(instance)
    assert queued.assignee is None and queued.candidate_group.name == "Procurement"
    assert queued.reason == "No decision by Max Manager within 2 days; escalated to the Procurement group"
    assert Event.objects.filter(instance=instance, kind="task.escalated_on_timeout").count() == 1


@pytest.mark.django_db
def test_a_request_already_in_the_escalation_queue_is_marked_overdue_and_stays(org):
    instance = _request(org, 50, approval_flow("group", candidateGroups="Finance"))
    task = _open_task(instance)

    _after(2 * DAY)
    _after(4 * DAY)  # nothing more to fire: no loop

    assert _open_task(instance) == task
    assert ApprovalTask.objects.filter(instance=instance).count() == 1
    [overdue] = Event.objects.filter(instance=instance, kind="task.overdue")
    assert (
        overdue.message
        == "Manager approval: no decision by the Finance queue within 2 days; it stays in that queue"
    )
    assert not Timer.objects.filter(
        instance=instance, fired_at__isnull=True, cancelled_at__isnull=True
    ).exists()


@pytest.mark.django_db
def test_a_claimed_task_in_the_escalation_queue_stays_with_whoever_claimed_it(org):
    Profile.objects.filter(user=org["employee"]).update(manager=None)
    instance = _request(org, 5000, approval_flow())
    claim_task(_open_task(instance).id, org["fiona"])

    _after(2 * DAY)

    task = _open_task(instance)
    assert task.assignee == org["fiona"] and task.candidate_group.name == "Finance"
    assert ApprovalTask.objects.filter(instance=instance).count() == 1
    assert Event.objects.filter(instance=instance, kind="task.overdue").exists()


@pytest.mark.django_db
def test_escalation_emails_the_new_approver_and_tells_the_previous_one(
    mailed_org, eager_email, django_capture_on_commit_callbacks
):
    instance = _request(mailed_org, 5000, approval_flow(reminder=""))
    eager_email.clear()

    with django_capture_on_commit_callbacks(execute=True):
        _after(2 * DAY)

    by_address = {m.to[0]: m for m in eager_email}
    assert sorted(by_address) == ["director@example.com", "manager@example.com"]
    escalated = by_address["director@example.com"]
    assert (
        escalated.subject
        == f"[{instance.reference}] Escalated to you: approval needed: Laptop (USD 5,000.00)"
    )
    assert "No decision by Max Manager within 2 days" in escalated.body
    note = by_address["manager@example.com"]
    assert note.subject == f"[{instance.reference}] Passed on: Laptop (USD 5,000.00)"
    assert f"Number:     {instance.reference}" in note.body
    assert "passed on to Dana Director" in note.body and "/tasks/link/" not in note.body
    assert _open_task(instance).assignee == mailed_org["director"]


@pytest.mark.django_db
def test_an_escalation_group_that_does_not_exist_becomes_an_incident_and_closes_the_task(org):
    instance = _request(org, 50, approval_flow("user", assignee="manager", escalateTo="Ghosts"))
    task = _open_task(instance)

    _after(2 * DAY)

    task.refresh_from_db()
    assert task.status == ApprovalTask.Status.CANCELLED
    assert "could not be escalated: Nobody may decide this request: " in task.comment
    assert "but the group Ghosts does not exist" in task.comment
    incident = Incident.objects.get(instance=instance)
    assert incident.step.status == Step.Status.INCIDENT
    assert "Manager approval is overdue and could not be escalated" in incident.error

    Group.objects.create(name="Ghosts")
    retry_incident(incident.id)

    assert _open_task(instance).assignee == org["manager"]


@pytest.mark.django_db
def test_a_retried_chain_incident_resumes_above_the_last_approved_level(org):
    instance = _request(org, 5000, approval_flow())
    # The currency goes bad after the request started, so the next level cannot be worked out.
    ProcessInstance.objects.filter(pk=instance.pk).update(
        variables={**instance.variables, "currency": "dollars"}
    )
    complete_task(_open_task(instance).id, org["manager"], "approved")
    incident = Incident.objects.get(instance=instance, resolved_at__isnull=True)

    retry_incident(incident.id, variables={"currency": "USD"})

    resumed = _open_task(instance)
    assert (resumed.assignee, resumed.chain_level) == (org["director"], 2)
    assert resumed.reason.startswith("Level 2 of Emma Employee's management chain: Max Manager's limit")
    complete_task(resumed.id, org["director"], "approved")
    instance.refresh_from_db()
    assert instance.outcome == "approved" and instance.variables["approval"]["by"] == "director"


# --- end to end: the real ticker and worker ----------------------------------------------------


def _mails_about(marker: str) -> list[email.message.Message]:
    folder = Path(settings.EMAIL_FILE_PATH)
    if not folder.exists():
        return []
    found = []
    for path in folder.glob("*.log"):
        # The file backend writes each message followed by a line of dashes.
        for chunk in path.read_text(errors="replace").split("-" * 79):
            if marker in chunk:
                found.append(email.message_from_string(chunk.strip()))
    return found


def _subjects_to(marker: str, address: str) -> set[str]:
    # A long subject is folded over two header lines in the file.
    return {" ".join(str(m["Subject"]).split()) for m in _mails_about(marker) if m["To"] == address}


@pytest.mark.integration
def test_the_ticker_escalates_an_overdue_request_up_the_chain_to_the_finance_queue(live_engine, mailed_org):
    item = f"Desk {uuid.uuid4().hex[:8]}"
    instance = _request(mailed_org, 50000, approval_flow(due="PT1S", reminder=""), item=item)

    overdue = wait_for(
        lambda: Event.objects.filter(instance=instance, kind="task.overdue").first(),
        what="the request to reach the Finance queue and be marked overdue",
    )

    tasks = list(ApprovalTask.objects.filter(instance=instance).order_by("id"))
    assert [(t.assignee.username if t.assignee else t.candidate_group.name, t.status) for t in tasks] == [
        ("manager", "cancelled"),
        ("director", "cancelled"),
        ("cfo", "cancelled"),
        ("Finance", "open"),
    ]
    assert [t.chain_level for t in tasks] == [1, 2, 3, 4]
    assert (
        overdue.message
        == "Finance approval: no decision by the Finance queue within 1 second; it stays in that queue"
    )
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.RUNNING and not instance.has_incident
    # The worker sends the emails: the queue that has the request now is told.
    wait_for(
        lambda: (
            f"[{instance.reference}] Escalated to you: approval needed: {item} (USD 50,000.00)"
            in _subjects_to(item, "fiona@example.com")
        ),
        what="the escalation email to the Finance queue",
    )
    # Each one it passed on was told; the emails inviting a decision went only while the task was open.
    for previous in ("manager", "director", "cfo"):
        wait_for(
            lambda p=previous: (
                f"[{instance.reference}] Passed on: {item} (USD 50,000.00)"
                in _subjects_to(item, f"{p}@example.com")
            ),
            what=f"the note to {previous}",
        )


@pytest.mark.integration
def test_the_ticker_sends_a_reminder_and_the_approver_can_still_decide(live_engine, mailed_org):
    item = f"Chair {uuid.uuid4().hex[:8]}"
    instance = _request(mailed_org, 800, approval_flow(due="P1D", reminder="PT1S"), item=item)

    wait_for(
        lambda: (
            f"[{instance.reference}] Reminder: approval needed: {item} (USD 800.00)"
            in _subjects_to(item, "manager@example.com")
        ),
        what="the reminder email",
    )

    assert Event.objects.filter(instance=instance, kind="task.reminder").count() == 1
    task = _open_task(instance)
    complete_task(task.id, mailed_org["manager"], "approved")
    instance.refresh_from_db()
    assert instance.outcome == "approved"


@pytest.mark.django_db
def test_an_overdue_task_with_no_one_to_hand_it_to_stays_and_is_marked_overdue(org):
    instance = _request(org, 50, approval_flow("user", assignee="manager", escalateTo=""))
    task = _open_task(instance)

    _after(2 * DAY)

    task.refresh_from_db()
    assert task.status == ApprovalTask.Status.OPEN and task.assignee == org["manager"]
    event = Event.objects.get(instance=instance, kind="task.overdue")
    assert event.message == "Manager approval: no decision by Max Manager within 2 days; it stays with them"


@pytest.mark.django_db
def test_an_overdue_approval_by_everyone_is_marked_late_not_scattered_into_queues(org):
    board = Group.objects.create(name="Board")
    board.user_set.add(org["manager"], org["director"])
    instance = _request(org, 50, approval_flow("group", groups="Board", quorum="all"))

    _after(2 * DAY)

    open_tasks = ApprovalTask.objects.filter(instance=instance, status=ApprovalTask.Status.OPEN)
    assert sorted(t.assignee.username for t in open_tasks) == ["director", "manager"]
    assert Event.objects.filter(instance=instance, kind="task.overdue").count() == 2
