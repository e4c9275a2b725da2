"""The org chart in the admin: profiles on the user page, limits, and refused manager loops."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.test import Client

from approvals.actions import claim_task, complete_task, reassign_task
from approvals.models import ApprovalTask, AuthorityLimit, FinalApprovers, Profile
from orchestration.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def org() -> dict[str, Any]:
    users = get_user_model().objects
    director = users.create_user("director", first_name="Dana", last_name="Director")
    manager = users.create_user("manager", first_name="Max", last_name="Manager")
    employee = users.create_user("employee", first_name="Emma", last_name="Employee")
    Profile.objects.create(user=director)
    Profile.objects.create(user=manager, manager=director)
    Profile.objects.create(user=employee, manager=manager, department="Marketing")
    AuthorityLimit.objects.create(user=manager, amount=Decimal("2000"), currency="USD")
    return {"director": director, "manager": manager, "employee": employee}


def test_user_page_shows_the_manager_chain_and_direct_reports(admin_client, org):
    page = admin_client.get(f"/admin/auth/user/{org['manager'].pk}/change/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "Dana Director" in html and "Emma Employee" in html and "Manager chain" in html


def test_profile_admin_refuses_a_manager_loop_naming_the_people(admin_client, org):
    profile = Profile.objects.get(user=org["director"])

    page = admin_client.post(
        f"/admin/approvals/profile/{profile.pk}/change/",
        {"user": org["director"].pk, "manager": org["employee"].pk},
    )

    assert page.status_code == 200
    assert "Manager chain loops: director → employee → manager → director" in page.content.decode()
    assert Profile.objects.get(pk=profile.pk).manager is None


@pytest.mark.parametrize(
    "url",
    ["/admin/approvals/authoritylimit/", "/admin/approvals/profile/", "/admin/auth/user/?q=Marketing"],
)
def test_org_chart_lists_render(admin_client, org, url):
    assert admin_client.get(url).status_code == 200


# --- approval tasks: read-only, changed only through the task actions --------------------------


@pytest.fixture
def queue(mailoutbox: list[Any]) -> dict[str, Any]:
    """A Finance-queue approval requested by Emma; Sam (staff who manage tasks) and Fiona are in Finance."""
    from django.contrib.auth.models import Group, Permission

    from orchestration.engine import start_instance
    from tests.approvals.conftest import approval_flow
    from tests.orchestration.factories import publish

    users = get_user_model().objects
    finance, legal = Group.objects.create(name="Finance"), Group.objects.create(name="Legal")
    staff = users.create_user("sam", first_name="Sam", last_name="Staff", is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_approvaltask", "change_approvaltask"])
    )
    fiona = users.create_user("fiona", email="fiona@example.com")
    rita = users.create_user("rita", first_name="Rita", last_name="Reviewer", email="rita@example.com")
    employee = users.create_user("employee")
    for user in (staff, fiona):
        user.groups.add(finance)
    version = publish(approval_flow("group", "Finance"), key="queue")
    instance = start_instance(version, {"item": "Audit", "amount": 10}, initiator=employee)
    task = ApprovalTask.objects.get(instance=instance)
    client = Client()
    client.force_login(staff)
    return {"task": task, "staff": staff, "fiona": fiona, "rita": rita, "legal": legal, "client": client}


def _act(queue: dict[str, Any], action: str, **extra: Any) -> Any:
    return queue["client"].post(
        "/admin/approvals/approvaltask/",
        {"action": action, "_selected_action": [queue["task"].pk], **extra},
        follow=True,
    )


def _events(task: ApprovalTask, kind: str) -> list[Event]:
    return list(Event.objects.filter(instance=task.instance_id, kind=kind))


def test_a_staff_edit_of_a_task_through_the_change_form_changes_nothing(queue):
    task = queue["task"]
    before = ApprovalTask.objects.filter(pk=task.pk).values().get()
    events = Event.objects.count()

    page = queue["client"].post(
        f"/admin/approvals/approvaltask/{task.pk}/change/",
        {
            # A complete form as an editable admin would accept it, so only read-only-ness can refuse it.
            "name": task.name,
            "status": ApprovalTask.Status.COMPLETED,
            "assignee": queue["rita"].pk,
            "candidate_group": queue["legal"].pk,
            "kind": ApprovalTask.Kind.RESUBMIT,
            "data": "{}",
            "subject": task.subject,
            "currency": task.currency,
            "outcome": "approved",
        },
    )

    assert page.status_code in (200, 302)
    assert ApprovalTask.objects.filter(pk=task.pk).values().get() == before
    assert Event.objects.count() == events
    assert ApprovalTask.objects.get(pk=task.pk).status == ApprovalTask.Status.OPEN


def test_the_task_admin_adds_and_deletes_nothing_and_offers_no_save(queue):
    client, task = queue["client"], queue["task"]

    assert client.get("/admin/approvals/approvaltask/add/").status_code == 403
    assert client.post(f"/admin/approvals/approvaltask/{task.pk}/delete/", {"post": "yes"}).status_code == 403
    page = client.get(f"/admin/approvals/approvaltask/{task.pk}/change/").content.decode()
    assert 'name="_save"' not in page and 'name="status"' not in page
    assert ApprovalTask.objects.filter(pk=task.pk).exists()


def test_claim_action_takes_the_queue_task_for_the_staff_member_with_an_event(queue):
    page = _act(queue, "claim")

    task = ApprovalTask.objects.get(pk=queue["task"].pk)
    assert task.assignee == queue["staff"] and task.candidate_group.name == "Finance"
    assert [e.actor for e in _events(task, "task.claimed")] == [queue["staff"]]
    assert "1 task(s) claimed." in page.content.decode()


def test_put_back_action_returns_someone_elses_claim_to_the_queue_with_an_event(queue):
    claim_task(queue["task"].pk, queue["fiona"])

    _act(queue, "release")

    task = ApprovalTask.objects.get(pk=queue["task"].pk)
    assert task.assignee is None and task.candidate_group.name == "Finance"
    assert [e.actor for e in _events(task, "task.released")] == [queue["staff"]]


def test_reassign_action_asks_for_a_person_then_hands_the_task_over_and_emails_them(
    queue, mailoutbox, eager_email, django_capture_on_commit_callbacks
):
    form = _act(queue, "reassign")
    assert form.status_code == 200 and "Reassign to" in form.content.decode()
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        _act(queue, "reassign", apply="yes", to_user=queue["rita"].pk, reason="Fiona is on leave")

    task = ApprovalTask.objects.get(pk=queue["task"].pk)
    assert task.assignee == queue["rita"] and task.reason == "Reassigned by Sam Staff: Fiona is on leave"
    [event] = _events(task, "task.reassigned")
    assert (
        event.actor == queue["staff"] and "to Rita Reviewer by Sam Staff: Fiona is on leave" in event.message
    )
    assert [(m.to, m.subject.split("] ")[1].split(":")[0]) for m in mailoutbox] == [
        (["rita@example.com"], "Approval needed")
    ]


def test_reassigning_a_closed_task_is_refused_with_a_message(queue):
    complete_task(queue["task"].pk, queue["fiona"], "approved")

    page = _act(queue, "reassign", apply="yes", to_user=queue["rita"].pk, reason="Too late")

    task = ApprovalTask.objects.get(pk=queue["task"].pk)
    assert task.assignee is None and not _events(task, "task.reassigned")
    assert "Already approved by fiona." in page.content.decode()


def test_reassign_needs_staff_who_manage_tasks(queue):
    with pytest.raises(PermissionDenied):
        reassign_task(queue["task"].pk, queue["fiona"], queue["rita"], "I want out")

    assert ApprovalTask.objects.get(pk=queue["task"].pk).assignee is None


def test_final_approvers_page_warns_when_a_fallback_group_is_all_in_someones_chain(admin_client, org):
    Group.objects.create(name="Finance").user_set.add(org["director"])

    page = admin_client.get("/admin/approvals/finalapprovers/")

    assert page.status_code == 200
    html = page.content.decode()
    assert (
        "Everyone in the Finance group (Dana Director) is in the management chain of Emma Employee, Max Manager"
        in html
    )


def test_final_approvers_page_warns_about_an_empty_final_group_and_not_a_safe_one(admin_client, org):
    Group.objects.create(name="Finance").user_set.add(get_user_model().objects.create_user("fiona"))
    FinalApprovers.objects.create(group=Group.objects.create(name="Board"), currency="USD")

    html = admin_client.get("/admin/approvals/finalapprovers/").content.decode()

    assert "The Board group has no active members" in html
    assert "Everyone in the Finance group" not in html


def test_a_fallback_group_warning_says_the_final_approvers_catch_it(admin_client, org):
    Group.objects.create(name="Finance").user_set.add(org["director"])
    board = Group.objects.create(name="Board")
    board.user_set.add(get_user_model().objects.create_user("chair"))
    FinalApprovers.objects.create(group=board)

    html = admin_client.get("/admin/approvals/finalapprovers/").content.decode()

    assert "Until then, the final approvers decide: Board." in html
    assert "Everyone in the Board group" not in html
