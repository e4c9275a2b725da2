"""Out of office: a delegate decides on behalf of the person away, tasks follow the absence, tasks forwarded."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from approvals.actions import InvalidDecision, complete_task, forward_task
from approvals.delegation import (
    OUT_OF_OFFICE_EVENT,
    Absence,
    OutOfOfficeError,
    absence_history,
    check_absence,
    end_out_of_office,
    hand_over_open_tasks,
    set_out_of_office,
)
from approvals.models import ApprovalTask, Profile
from orchestration.engine import start_instance
from orchestration.models import Event, ProcessInstance, Workflow
from tests.approvals.conftest import approval_flow
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


@pytest.fixture
def dana(org: dict[str, Any]) -> Any:
    user = get_user_model().objects.create_user("delegate", first_name="Dana", last_name="Delegate")
    Profile.objects.create(user=user)
    return user


def _request(org: dict[str, Any], amount: int, rule: str = "authority_chain") -> ProcessInstance:
    groups = "Finance" if rule == "group" else ""
    version = Workflow.objects.filter(key=f"buy-{rule}").first()
    version = (
        version.published_version if version else publish(approval_flow(rule, groups), key=f"buy-{rule}")
    )
    return start_instance(version, {"item": "Laptop", "amount": amount}, initiator=org["employee"])


def _open_task(instance: ProcessInstance) -> ApprovalTask:
    return ApprovalTask.objects.get(instance=instance, status=ApprovalTask.Status.OPEN)


def _away(user: Any, delegate: Any, starts: datetime.date, ends: datetime.date) -> None:
    set_out_of_office(user, Absence(starts, ends, delegate))


def test_a_delegate_approves_with_the_managers_limit_and_no_extra_level(org, dana):
    today = timezone.localdate()
    _away(org["manager"], dana, today, today + DAY)
    instance = _request(org, 1500)
    task = _open_task(instance)
    assert (task.assignee, task.on_behalf_of, task.chain_level) == (dana, org["manager"], 1)
    assert (
        "delegated to Dana Delegate, who decides on Max Manager's behalf; Max Manager's limit USD 2,000.00 covers it"
        in (task.reason)
    )

    complete_task(task.id, dana, "approved")

    instance.refresh_from_db()
    assert instance.outcome == "approved"  # the director was never asked
    assert not ApprovalTask.objects.filter(instance=instance, assignee=org["director"]).exists()
    assert instance.variables["approval"] == {
        "outcome": "approved",
        "comment": "",
        "by": "delegate",
        "on_behalf_of": "manager",
        "level": 1,
    }
    done = Event.objects.get(instance=instance, kind="step.completed", step__node_id="approve")
    assert done.message == "Manager approval: approved by Dana Delegate on behalf of Max Manager"


def test_a_delegates_approval_over_the_managers_limit_goes_to_the_next_level_quoting_the_managers_limit(
    org, dana
):
    today = timezone.localdate()
    _away(org["manager"], dana, today, today + DAY)
    instance = _request(org, 5000)

    complete_task(_open_task(instance).id, dana, "approved")

    second = _open_task(instance)
    assert (second.assignee, second.chain_level, second.on_behalf_of) == (org["director"], 2, None)
    assert second.reason.startswith(
        "Level 2 of Emma Employee's management chain: Max Manager's limit USD 2,000.00 does not cover"
    )
    escalated = Event.objects.get(instance=instance, kind="task.escalated")
    assert "approved at level 1 by Dana Delegate on behalf of Max Manager" in escalated.message


def test_open_tasks_move_to_the_delegate_when_the_absence_starts_today_and_return_when_it_ends(org, dana):
    instance = _request(org, 1500)
    task = _open_task(instance)
    assert task.assignee == org["manager"]
    today = timezone.localdate()

    _away(org["manager"], dana, today, today + DAY)

    task.refresh_from_db()
    assert (task.assignee, task.on_behalf_of, task.delegated) == (dana, org["manager"], True)
    moved = Event.objects.get(instance=instance, kind="task.delegated")
    assert moved.message.startswith("Manager approval handed to Dana Delegate: Max Manager is out of office")

    end_out_of_office(org["manager"])

    task.refresh_from_db()
    assert (task.assignee, task.on_behalf_of, task.delegated) == (org["manager"], None, False)
    assert Event.objects.filter(instance=instance, kind="task.returned").count() == 1


def test_a_later_absence_moves_tasks_on_its_first_day_and_returns_them_after_its_last(org, dana):
    today = timezone.localdate()
    _away(org["manager"], dana, today + DAY, today + 2 * DAY)
    task = _open_task(_request(org, 1500))
    assert task.assignee == org["manager"]  # not away yet

    assert hand_over_open_tasks(today + DAY) == 1
    task.refresh_from_db()
    assert (task.assignee, task.on_behalf_of) == (dana, org["manager"])
    assert hand_over_open_tasks(today + 2 * DAY) == 0  # still away: nothing to do

    assert hand_over_open_tasks(today + 3 * DAY) == 1
    task.refresh_from_db()
    assert (task.assignee, task.on_behalf_of) == (org["manager"], None)


def test_a_task_never_moves_to_a_delegate_who_made_the_request(org):
    instance = _request(org, 1500)
    today = timezone.localdate()

    _away(org["manager"], org["employee"], today, today + DAY)

    assert _open_task(instance).assignee == org["manager"]
    assert not Event.objects.filter(instance=instance, kind="task.delegated").exists()


def test_a_task_never_moves_to_a_delegate_who_already_approved_the_request(org):
    # Four eyes apply to the delegate in person: the director away, delegating to the
    # manager who approved level 1, keeps level 2.
    today = timezone.localdate()
    instance = _request(org, 5000)
    complete_task(_open_task(instance).id, org["manager"], "approved")

    _away(org["director"], org["manager"], today, today + DAY)

    assert _open_task(instance).assignee == org["director"]


@pytest.mark.parametrize(
    ("starts", "ends", "who", "field", "words"),
    [
        (0, 1, "manager", "delegate", "You cannot be your own delegate"),
        (2, 1, "delegate", "ends", "The last day is before the first day"),
        (-3, -1, "delegate", "ends", "These dates are over already"),
    ],
)
def test_an_absence_is_refused_in_plain_words(org, dana, starts, ends, who, field, words):
    today = timezone.localdate()
    delegate = dana if who == "delegate" else org[who]
    with pytest.raises(OutOfOfficeError) as refused:
        check_absence(org["manager"], Absence(today + starts * DAY, today + ends * DAY, delegate))
    assert refused.value.errors[field].startswith(words)


def test_a_delegation_loop_is_refused_naming_the_people(org, dana):
    today = timezone.localdate()
    _away(dana, org["director"], today, today + 5 * DAY)
    _away(org["director"], org["manager"], today + DAY, today + 2 * DAY)

    with pytest.raises(OutOfOfficeError) as refused:
        check_absence(org["manager"], Absence(today + 2 * DAY, today + 3 * DAY, dana))

    assert refused.value.errors["delegate"].startswith(
        "Max Manager → Dana Delegate → Dana Director → Max Manager: your tasks would come back to you"
    )
    # Away at other times, no loop.
    check_absence(org["manager"], Absence(today + 3 * DAY, today + 4 * DAY, dana))


def test_setting_and_ending_an_absence_is_kept_in_the_persons_history(org, dana):
    today = timezone.localdate()
    _away(org["manager"], dana, today, today + DAY)
    end_out_of_office(org["manager"])

    history = list(absence_history(org["manager"]))
    assert [e.kind for e in history] == [OUT_OF_OFFICE_EVENT] * 2
    assert history[0].message == "Max Manager is back: out of office ended"
    assert history[1].message.startswith("Max Manager is out of office from ")
    assert history[1].data["delegate"] == "delegate" and history[1].actor == org["manager"]


def test_the_holder_forwards_a_task_with_a_reason_and_the_new_holder_decides_on_their_behalf(org, dana):
    instance = _request(org, 1500)
    task = _open_task(instance)

    forward_task(task.id, org["manager"], dana, "Dana looks after laptops")

    task.refresh_from_db()
    assert (task.assignee, task.on_behalf_of, task.delegated) == (dana, org["manager"], False)
    assert task.reason == "Forwarded by Max Manager: Dana looks after laptops"
    event = Event.objects.get(instance=instance, kind="task.forwarded")
    assert event.message == (
        "Manager approval forwarded from Max Manager to Dana Delegate on behalf of Max Manager "
        "by Max Manager: Dana looks after laptops"
    )
    complete_task(task.id, dana, "approved")
    instance.refresh_from_db()
    assert instance.outcome == "approved"  # with Max's limit, at level 1


def test_only_the_holder_forwards_and_always_with_a_reason(org, dana):
    task = _open_task(_request(org, 1500))

    with pytest.raises(InvalidDecision, match="Say why"):
        forward_task(task.id, org["manager"], dana, "  ")
    with pytest.raises(PermissionDenied, match="Only the person holding"):
        forward_task(task.id, dana, org["director"], "not mine")
    with pytest.raises(PermissionDenied, match="made this request"):
        forward_task(task.id, org["manager"], org["employee"], "you decide")


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_out_of_office_page_saves_an_absence_and_shows_errors_by_field(org, dana):
    client = _client(org["manager"])
    today = timezone.localdate()
    assert b"Out of office" in client.get("/out-of-office/").content

    bad = client.post("/out-of-office/", {"starts": today, "ends": today, "delegate": org["manager"].pk})
    assert bad.status_code == 400  # oneself is not in the list of people to choose
    assert "delegate" in bad.context["form"].errors
    late = client.post("/out-of-office/", {"starts": today + DAY, "ends": today, "delegate": dana.pk})
    assert late.status_code == 400
    assert late.context["form"].errors["ends"] == ["The last day is before the first day: check the dates."]
    junk = client.post("/out-of-office/", {"starts": "soon", "ends": "", "delegate": "x"})
    assert junk.status_code == 400 and set(junk.context["form"].errors) == {"starts", "ends", "delegate"}
    assert junk.context["form"].errors["ends"] == ["Give your last day away."]

    saved = client.post("/out-of-office/", {"starts": today, "ends": today + DAY, "delegate": dana.pk})

    assert saved.status_code == 302
    profile = Profile.objects.get(user=org["manager"])
    assert (profile.delegate, profile.out_of_office_from) == (dana, today)
    page = client.get("/out-of-office/").content.decode()
    assert "Dana Delegate</strong> decides for you" in page


def test_the_forward_form_needs_a_reason_and_a_person(org, dana):
    task = _open_task(_request(org, 1500))
    client = _client(org["manager"])

    refused = client.post(f"/tasks/{task.id}/forward/", {"to": dana.pk, "reason": ""})
    assert refused.status_code == 400 and "reason" in refused.context["forward_form"].errors

    done = client.post(f"/tasks/{task.id}/forward/", {"to": dana.pk, "reason": "Holiday cover"})
    assert done.status_code == 302
    page = _client(dana).get(f"/tasks/{task.id}/").content.decode()
    assert "Forwarded by Max Manager: Holiday cover" in page


def test_an_absence_set_in_the_admin_is_recorded_and_moves_open_tasks(org, dana):
    task = _open_task(_request(org, 1500))
    admin = get_user_model().objects.create_superuser("root", first_name="Ada", last_name="Admin")
    profile = Profile.objects.get(user=org["manager"])
    today = timezone.localdate()

    response = _client(admin).post(
        f"/admin/approvals/profile/{profile.pk}/change/",
        {
            "user": org["manager"].pk,
            "manager": org["director"].pk,
            "title": "",
            "department": "",
            "cost_centre": "",
            "out_of_office_from": today.isoformat(),
            "out_of_office_to": (today + DAY).isoformat(),
            "delegate": dana.pk,
        },
    )

    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.assignee, task.on_behalf_of) == (dana, org["manager"])
    (event,) = absence_history(org["manager"])
    assert event.actor == admin and event.message.startswith("Out of office of Max Manager set from ")
    assert event.message.endswith("delegate Dana Delegate, by Ada Admin")
    page = _client(admin).get(f"/admin/approvals/profile/{profile.pk}/change/").content.decode()
    assert "Out-of-office history" in page and "delegate Dana Delegate, by Ada Admin" in page


def test_the_nightly_command_moves_tasks_of_absences_that_began(org, dana):
    task = _open_task(_request(org, 1500))
    Profile.objects.filter(user=org["manager"]).update(
        out_of_office_from=timezone.localdate(), out_of_office_to=timezone.localdate(), delegate=dana
    )
    out = io.StringIO()

    call_command("baton_out_of_office", stdout=out)

    assert out.getvalue() == "1 task changed hands.\n"
    task.refresh_from_db()
    assert task.assignee == dana


def test_the_delegates_inbox_and_the_api_say_on_whose_behalf(org, dana):
    today = timezone.localdate()
    _away(org["manager"], dana, today, today)
    task = _open_task(_request(org, 1500))
    client = _client(dana)

    inbox = client.get("/inbox/").content.decode()
    api = client.get(f"/api/tasks/{task.id}/").json()

    assert 'data-testid="on-behalf">on behalf of Max Manager</span>' in inbox
    assert (api["assignee"], api["on_behalf_of"]) == ("delegate", "manager")


def test_changing_the_delegate_during_an_absence_moves_the_tasks_to_the_new_one(org, dana):
    today = timezone.localdate()
    task = _open_task(_request(org, 1500))
    _away(org["manager"], dana, today, today + DAY)

    _away(org["manager"], org["cfo"], today, today + DAY)

    task.refresh_from_db()
    assert (task.assignee, task.on_behalf_of) == (org["cfo"], org["manager"])
    assert hand_over_open_tasks(today) == 0  # settled: a second sweep changes nothing


def test_cancelling_a_planned_absence_is_recorded_as_such(org, dana):
    today = timezone.localdate()
    _away(org["manager"], dana, today + DAY, today + 2 * DAY)

    end_out_of_office(org["manager"])

    assert absence_history(org["manager"])[0].message == "Max Manager cancelled a planned out of office"
    assert not Profile.objects.get(user=org["manager"]).is_out_of_office(today + DAY)


# --- claimed group tasks follow their holder's absence; the delegator hears of what came back ----


def test_a_claimed_group_task_goes_back_to_the_queue_when_its_holder_is_away(org, dana):
    from approvals.actions import claim_task

    gus = get_user_model().objects.create_user("gus", first_name="Gus", last_name="Gray")
    gus.groups.add(org["fiona"].groups.get())
    instance = _request(org, 50, "group")  # the Finance queue
    task = _open_task(instance)
    claim_task(task.id, org["fiona"])
    today = timezone.localdate()

    _away(org["fiona"], dana, today, today + DAY)

    task.refresh_from_db()
    assert (task.assignee, task.candidate_group.name, task.on_behalf_of) == (None, "Finance", None)
    released = Event.objects.get(instance=instance, kind="task.released")
    assert (
        released.message
        == "Manager approval back in the Finance queue: fiona, who had taken it, is out of office"
    )
    assert _open_task(instance).id == task.id  # still waiting, now for any Finance member
    claim_task(task.id, gus)
    complete_task(task.id, gus, "approved")
    instance.refresh_from_db()
    assert instance.outcome == "approved"

    end_out_of_office(org["fiona"])  # nothing comes back: the queue gave it to someone in the office
    assert not Event.objects.filter(instance=instance, kind="task.returned").exists()


def test_a_claimed_group_task_waits_while_its_holder_plans_a_later_absence(org, dana):
    from approvals.actions import claim_task

    task = _open_task(_request(org, 50, "group"))
    claim_task(task.id, org["fiona"])
    today = timezone.localdate()
    _away(org["fiona"], dana, today + DAY, today + 2 * DAY)
    task.refresh_from_db()
    assert task.assignee == org["fiona"]  # not away yet

    assert hand_over_open_tasks(today + DAY) == 1
    task.refresh_from_db()
    assert task.assignee is None


def test_the_delegator_gets_one_email_listing_the_requests_back_in_their_inbox(
    mailed_org, dana, eager_email, django_capture_on_commit_callbacks, settings
):
    org = mailed_org
    settings.BATON_BASE_URL = "http://testserver"
    dana.email = "dana@example.com"
    dana.save(update_fields=["email"])
    tasks = [_open_task(_request(org, amount)) for amount in (1500, 1600, 1700)]
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        _away(org["manager"], dana, today, today + DAY)
    complete_task(tasks[2].id, dana, "approved")  # decided while away: not back
    eager_email.clear()

    with django_capture_on_commit_callbacks(execute=True):
        end_out_of_office(org["manager"])

    [message] = eager_email
    assert message.to == ["manager@example.com"]
    assert message.subject == "2 requests are back in your inbox"
    assert "Welcome back" in message.body
    for task in tasks[:2]:
        assert f"http://testserver/tasks/{task.id}/" in message.body
    assert "USD 1,500.00" in message.body and "USD 1,600.00" in message.body
    assert f"/tasks/{tasks[2].id}/" not in message.body
    html, mime = message.alternatives[0]
    assert mime == "text/html" and "Open your inbox" in html


def test_no_return_email_when_nothing_came_back(
    mailed_org, dana, eager_email, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    _away(mailed_org["manager"], dana, today, today + DAY)
    with django_capture_on_commit_callbacks(execute=True):
        end_out_of_office(mailed_org["manager"])
    assert eager_email == []


def test_the_return_email_leaves_out_a_task_decided_before_it_was_sent(mailed_org, dana):
    from approvals.notifications import send_returned_email

    task = _open_task(_request(mailed_org, 1500))
    complete_task(task.id, mailed_org["manager"], "approved")
    assert send_returned_email(mailed_org["manager"].pk, [task.id]) == 0
