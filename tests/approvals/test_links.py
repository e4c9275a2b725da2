"""Signed one-click links: bound to a task, a person, an action and a version; confirmed by POST only."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import unquote

import pytest
from django.core import signing
from django.test import Client

from approvals import links
from approvals.actions import claim_task, complete_task
from approvals.models import ApprovalTask
from orchestration.engine import start_instance
from orchestration.models import ProcessInstance
from tests.approvals.conftest import approval_flow
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


def _request(org: dict[str, Any], amount: float = 1500, rule: str = "authority_chain") -> ProcessInstance:
    version = publish(approval_flow(rule, groups="Finance" if rule == "group" else ""), key=f"buy-{rule}")
    return start_instance(version, {"item": "Laptop", "amount": amount}, initiator=org["employee"])


def _task(instance: ProcessInstance) -> ApprovalTask:
    return ApprovalTask.objects.get(instance=instance, status=ApprovalTask.Status.OPEN)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _path(task: ApprovalTask, user: Any, action: links.Action) -> str:
    return f"/tasks/link/{links.make_token(task, user, action)}/"


def _state(response: Any) -> str:
    return response.context["state"]


# --- tokens -------------------------------------------------------------------------------------


def test_a_token_reads_back_as_task_user_action_and_version(org):
    task = _task(_request(org))

    claim = links.read_token(links.make_token(task, org["manager"], "reject"))

    assert claim == links.LinkClaim(task.id, org["manager"].pk, "reject", 0)


def test_a_token_with_a_changed_character_is_invalid(org):
    token = links.make_token(_task(_request(org)), org["manager"], "approve")
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")

    with pytest.raises(links.LinkInvalid):
        links.read_token(tampered)


def test_a_payload_signed_for_another_purpose_is_invalid(org):
    task = _task(_request(org))
    forged = signing.dumps({"t": task.id, "u": org["manager"].pk, "a": "approve", "v": 0})

    with pytest.raises(links.LinkInvalid):
        links.read_token(forged)


def test_a_token_older_than_the_maximum_age_has_expired(org, settings, monkeypatch):
    settings.BATON_LINK_MAX_AGE_SECONDS = 3600
    task = _task(_request(org))
    real_time = time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() - 3601)
    old = links.make_token(task, org["manager"], "approve")
    monkeypatch.setattr(signing.time, "time", lambda: real_time() - 3500)
    recent = links.make_token(task, org["manager"], "approve")
    monkeypatch.undo()

    with pytest.raises(links.LinkExpired):
        links.read_token(old)
    assert links.read_token(recent).task_id == task.id


def test_links_last_seven_days_by_default(settings):
    del settings.BATON_LINK_MAX_AGE_SECONDS

    assert links.max_age() == 7 * 24 * 3600


def test_link_urls_are_absolute_on_the_configured_site(org, settings):
    settings.BATON_BASE_URL = "https://baton.example.com/"
    task = _task(_request(org))

    url = links.link_url(task, org["manager"], "open")

    assert url.startswith("https://baton.example.com/tasks/link/")
    assert links.read_token(url.rsplit("/", 2)[1]).action == "open"


# --- the confirm page ---------------------------------------------------------------------------


def test_opening_an_approve_link_shows_a_confirm_page_and_decides_nothing(org):
    task = _task(_request(org))

    page = _client(org["manager"]).get(_path(task, org["manager"], "approve"))

    assert page.status_code == 200 and _state(page) == "confirm"
    html = page.content.decode()
    assert "Confirm approval" in html and "Signed in as <strong>Max Manager</strong>" in html
    assert "Laptop" in html and "USD 1,500.00" in html and "Emma Employee" in html
    task.refresh_from_db()
    assert task.status == ApprovalTask.Status.OPEN and task.lock_version == 0


def test_confirming_an_approve_link_approves_and_the_process_moves_on(org):
    instance = _request(org)
    task = _task(instance)

    response = _client(org["manager"]).post(_path(task, org["manager"], "approve"), {"comment": "OK"})

    assert response.status_code == 302 and response.url == f"/tasks/{task.id}/"
    task.refresh_from_db()
    assert (task.status, task.outcome, task.decided_by, task.comment) == (
        ApprovalTask.Status.COMPLETED,
        "approved",
        org["manager"],
        "OK",
    )
    instance.refresh_from_db()
    assert instance.outcome == "approved"


def test_a_reject_link_needs_a_comment_and_stays_usable_until_one_is_given(org):
    instance = _request(org)
    task = _task(instance)
    client = _client(org["manager"])
    path = _path(task, org["manager"], "reject")

    blank = client.post(path, {"comment": "  "})

    assert blank.status_code == 400 and "A rejection needs a comment" in blank.content.decode()
    task.refresh_from_db()
    assert task.status == ApprovalTask.Status.OPEN

    done = client.post(path, {"comment": "Too expensive"})

    assert done.status_code == 302
    instance.refresh_from_db()
    assert instance.outcome == "rejected" and instance.variables["approval"]["comment"] == "Too expensive"


def test_the_action_comes_from_the_link_not_the_form(org):
    task = _task(_request(org))

    _client(org["manager"]).post(
        _path(task, org["manager"], "reject"), {"comment": "No", "outcome": "approved"}
    )

    task.refresh_from_db()
    assert task.outcome == "rejected"


def test_a_link_works_once(org):
    task = _task(_request(org))
    client = _client(org["manager"])
    path = _path(task, org["manager"], "approve")
    client.post(path)

    again = client.post(path)

    assert again.status_code == 409 and _state(again) == "decided"
    assert "Already approved by you" in again.content.decode()
    assert ApprovalTask.objects.filter(instance=task.instance, outcome="approved").count() == 1


def test_a_link_to_a_task_someone_else_decided_says_who(org):
    org["cfo"].groups.add(org["fiona"].groups.get())
    task = _task(_request(org, rule="group"))
    complete_task(task.id, org["fiona"], "approved", comment="Done")

    page = _client(org["cfo"]).get(_path(task, org["cfo"], "approve"))

    assert page.status_code == 409 and _state(page) == "decided"
    assert page.context["task"].decided_by == org["fiona"]
    assert "Already approved by fiona" in page.content.decode()


def test_a_link_from_before_the_task_changed_no_longer_acts(org):
    task = _task(_request(org, rule="group"))
    path = _path(task, org["fiona"], "approve")
    claim_task(task.id, org["fiona"])

    response = _client(org["fiona"]).post(path)

    assert _state(response) == "changed"
    task.refresh_from_db()
    assert task.status == ApprovalTask.Status.OPEN


def test_someone_elses_link_is_refused_with_a_way_to_switch_user(org):
    task = _task(_request(org))
    path = _path(task, org["manager"], "approve")

    page = _client(org["director"]).get(path)
    posted = _client(org["director"]).post(path)

    assert page.status_code == 403 and _state(page) == "wrong_user"
    html = page.content.decode()
    assert "Sign out and switch user" in html and f"?next={path}" in unquote(html)
    assert "Laptop" not in html  # nothing about the task for the wrong person
    assert posted.status_code == 403
    task.refresh_from_db()
    assert task.status == ApprovalTask.Status.OPEN


def test_a_signed_out_person_signs_in_first_and_comes_back(org):
    task = _task(_request(org))
    path = _path(task, org["manager"], "approve")

    response = Client().get(path)

    assert response.status_code == 302 and unquote(response.url) == f"/accounts/login/?next={path}"


def test_an_expired_link_gets_a_page_not_an_error(org, settings):
    settings.BATON_LINK_MAX_AGE_SECONDS = -1
    task = _task(_request(org))

    page = _client(org["manager"]).post(_path(task, org["manager"], "approve"))

    assert page.status_code == 410 and "This link has expired" in page.content.decode()
    task.refresh_from_db()
    assert task.status == ApprovalTask.Status.OPEN


def test_a_tampered_link_gets_a_page_not_an_error(org):
    page = _client(org["manager"]).get("/tasks/link/not-a-real-token/")

    assert page.status_code == 400 and "This link is not valid" in page.content.decode()


def test_an_open_link_leads_to_the_task(org):
    task = _task(_request(org))

    response = _client(org["manager"]).get(_path(task, org["manager"], "open"))

    assert response.status_code == 302 and response.url == f"/tasks/{task.id}/"


def test_a_link_for_a_task_no_longer_yours_acts_on_nothing(org):
    task = _task(_request(org, rule="group"))
    path = _path(task, org["fiona"], "approve")
    org["fiona"].groups.clear()

    response = _client(org["fiona"]).post(path)

    assert _state(response) == "not_yours"
    task.refresh_from_db()
    assert task.status == ApprovalTask.Status.OPEN


def test_a_link_to_a_deleted_task_says_so(org):
    task = _task(_request(org))
    path = _path(task, org["manager"], "approve")
    task.instance.delete()

    page = _client(org["manager"]).get(path)

    assert _state(page) == "gone" and "no longer exists" in page.content.decode()
