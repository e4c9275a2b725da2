"""Approvers from data: "each person in this list decides" and "one approval per cost centre"."""

from __future__ import annotations

import datetime
from typing import Any
from xml.sax.saxutils import quoteattr

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from approvals.actions import complete_task
from approvals.delegation import Absence, set_out_of_office
from approvals.models import ApprovalTask, Profile
from orchestration.bpmn.compiler import compile_bpmn
from orchestration.engine import start_instance
from orchestration.models import Incident, ProcessInstance
from tests import bpmn
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def people() -> dict[str, Any]:
    made = {}
    for name in ("ann", "bob", "cho", "req", "dan"):
        made[name] = User.objects.create_user(name, first_name=name.title(), last_name="Doe")
        Profile.objects.create(user=made[name])
    Group.objects.create(name="Finance").user_set.add(made["dan"])
    return made


def _each_decides(
    listed: str, *, rule: str = "from_data", expression: str = "item", sequential: bool = False
) -> str:
    approval = (
        f'<bpmn:userTask id="review" name="Review" baton:assigneeRule="{rule}" '
        f'baton:assigneeExpression={quoteattr(expression)} baton:escalateTo="Finance" baton:resultVariable="review"/>'
    )
    return bpmn.definitions(
        bpmn.start(),
        bpmn.script("list", f'{{"reviewers": [{listed}]}}', name="Reviewers"),
        bpmn.for_each(
            approval,
            "reviewers",
            sequential=sequential,
            output="decisions",
            output_item="result.review.outcome",
        ),
        bpmn.end(outcome="done"),
        *bpmn.chain("start", "list", "review", "end"),
    )


def _open(instance: ProcessInstance) -> list[ApprovalTask]:
    return list(
        ApprovalTask.objects.filter(instance=instance, status=ApprovalTask.Status.OPEN)
        .select_related("assignee", "candidate_group")
        .order_by("id")
    )


def test_each_person_in_the_list_gets_their_own_task_saying_why(people: dict[str, Any]) -> None:
    version = publish(_each_decides('"ann", "bob"'), key="each")
    instance = start_instance(version, {}, initiator=people["req"])

    tasks = _open(instance)

    assert [(t.assignee.username, t.name) for t in tasks] == [("ann", "Review: ann"), ("bob", "Review: bob")]
    assert tasks[0].reason == "Named in the request's data (one of the reviewers)"
    for task in reversed(tasks):
        complete_task(task.id, task.assignee, "approved")
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert instance.variables["decisions"] == ["approved", "approved"]


def test_one_approval_per_cost_centre_goes_to_each_centres_group(people: dict[str, Any]) -> None:
    Group.objects.create(name="cc-IT").user_set.add(people["ann"])
    Group.objects.create(name="cc-HR").user_set.add(people["bob"])
    version = publish(
        _each_decides('"IT", "HR"', rule="group_from_data", expression='"cc-" + item'), key="centres"
    )
    instance = start_instance(version, {}, initiator=people["req"])

    tasks = _open(instance)

    assert [(t.candidate_group.name, t.name) for t in tasks] == [
        ("cc-IT", "Review: IT"),
        ("cc-HR", "Review: HR"),
    ]
    assert tasks[0].reason == (
        "Queue of group cc-IT, named in the request's data (for IT, one of the reviewers)"
    )


def test_the_requester_named_in_the_list_cannot_approve_their_own_request(people: dict[str, Any]) -> None:
    version = publish(_each_decides('"req"'), key="self")
    instance = start_instance(version, {}, initiator=people["req"])

    (task,) = _open(instance)

    assert task.assignee is None and task.candidate_group.name == "Finance"
    assert "Req Doe is the requester and cannot approve it" in task.reason


def test_a_person_named_in_the_list_who_is_away_is_replaced_by_their_delegate(people: dict[str, Any]) -> None:
    today = timezone.localdate()
    set_out_of_office(people["ann"], Absence(today, today + datetime.timedelta(days=2), people["cho"]))
    version = publish(_each_decides('"ann"'), key="away")
    instance = start_instance(version, {}, initiator=people["req"])

    (task,) = _open(instance)

    assert task.assignee == people["cho"] and task.on_behalf_of == people["ann"]
    assert task.reason.startswith("Named in the request's data (one of the reviewers); ")


def test_one_after_another_each_decides_in_turn(people: dict[str, Any]) -> None:
    version = publish(_each_decides('"ann", "bob", "cho"', sequential=True), key="turns")
    instance = start_instance(version, {}, initiator=people["req"])

    order = []
    for _ in range(3):
        (task,) = _open(instance)
        order.append(task.assignee.username)
        complete_task(task.id, task.assignee, "approved")

    assert order == ["ann", "bob", "cho"]


@pytest.mark.parametrize(
    ("listed", "rule", "expression", "error"),
    [
        ('"ann", "zed"', "from_data", "item", "No user named 'zed' (one of the reviewers)."),
        (
            '"IT"',
            "group_from_data",
            '"cc-" + item',
            "No group named 'cc-IT' (for IT, one of the reviewers).",
        ),
        (
            '""',
            "from_data",
            "item",
            "The person who decides (one of the reviewers) is '', not a person's name.",
        ),
    ],
)
def test_an_unknown_approver_from_data_is_an_incident_naming_it(
    people: dict[str, Any], listed: str, rule: str, expression: str, error: str
) -> None:
    version = publish(_each_decides(listed, rule=rule, expression=expression), key="unknown")
    instance = start_instance(version, {}, initiator=people["req"])

    incident = Incident.objects.get(instance=instance)
    assert incident.error == error


def test_an_inactive_user_named_in_the_data_is_an_incident(people: dict[str, Any]) -> None:
    people["bob"].is_active = False
    people["bob"].save()
    instance = start_instance(publish(_each_decides('"bob"'), key="gone"), {}, initiator=people["req"])

    assert (
        Incident.objects.get(instance=instance).error == "No active user named 'bob' (one of the reviewers)."
    )


@pytest.mark.parametrize(
    ("attrs", "error"),
    [
        (
            'baton:assigneeRule="from_data"',
            "takes its person from the request's data but does not say from where.",
        ),
        (
            'baton:assigneeRule="group_from_data" baton:assigneeExpression="size(owners)"',
            "group that decides gives an integer; it must give a text.",
        ),
        (
            'baton:assigneeRule="from_data" baton:assigneeExpression="nobody"',
            "“nobody” is not a value this workflow knows",
        ),
    ],
)
def test_an_approver_from_data_is_checked_when_the_version_is_published(attrs: str, error: str) -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.script("owners", '{"owners": ["ann"]}'),
        f'<bpmn:userTask id="review" name="Review" {attrs}/>',
        bpmn.end(),
        *bpmn.chain("start", "owners", "review", "end"),
    )

    result = compile_bpmn(xml)

    assert any(error in str(problem) for problem in result.errors), [str(p) for p in result.errors]
