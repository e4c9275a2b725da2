"""Sharing actions: roles map to exact permissions both ways, each change is audited, and who may share."""

from __future__ import annotations

from itertools import pairwise, permutations
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from guardian.shortcuts import assign_perm, get_group_perms, get_user_perms

from orchestration.access import has_workflow_perm, visible_workflows
from orchestration.definitions import WORKFLOW_PERMISSIONS, create_workflow
from orchestration.models import Event, Workflow
from orchestration.sharing import (
    ROLE_PERMISSIONS,
    Role,
    SharingError,
    access_list,
    can_share,
    share_workflow,
    unshare_workflow,
)
from tests import bpmn

pytestmark = pytest.mark.django_db

FLOW = bpmn.definitions(bpmn.start("start"), bpmn.end("end"), *bpmn.chain("start", "end"))


@pytest.fixture
def people() -> dict[str, Any]:
    users = get_user_model()
    return {
        name: users.objects.create_user(name, first_name=name.title(), last_name="Tester")
        for name in ("owen", "erin", "olly", "pia", "desmond", "rita", "stan")
    }


@pytest.fixture
def employees(people: dict[str, Any]) -> Group:
    group = Group.objects.create(name="Employees")
    people["erin"].groups.add(group)
    return group


@pytest.fixture
def workflow(people: dict[str, Any]) -> Workflow:
    return create_workflow("purchase", "Purchase request", FLOW, owner=people["owen"]).workflow


def user_perms(user: Any, workflow: Workflow) -> set[str]:
    return set(get_user_perms(user, workflow).values_list("codename", flat=True))


def group_perms(group: Group, workflow: Workflow) -> set[str]:
    return set(get_group_perms(group, workflow).values_list("codename", flat=True))


def sharing_events(workflow: Workflow) -> list[Event]:
    return list(workflow.events.filter(kind__startswith="workflow.").exclude(kind="workflow.created"))


# --- roles and permissions -------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_sharing_with_a_group_grants_exactly_the_roles_permissions(
    role: Role, workflow: Workflow, employees: Group, people: dict[str, Any]
) -> None:
    share_workflow(workflow, group=employees, role=role, actor=people["owen"])

    assert group_perms(employees, workflow) == ROLE_PERMISSIONS[role]
    member = get_user_model().objects.get(pk=people["erin"].pk)  # fresh: no permission cache
    for perm in WORKFLOW_PERMISSIONS:
        assert has_workflow_perm(member, perm, workflow) is (perm in ROLE_PERMISSIONS[role])


def test_roles_are_a_ladder_each_including_the_one_before() -> None:
    ladder = [ROLE_PERMISSIONS[role] for role in Role]
    assert ladder[0] == {"view_workflow", "start_workflow"}
    assert all(lower < higher for lower, higher in pairwise(ladder))
    assert ladder[-1] == set(WORKFLOW_PERMISSIONS)


@pytest.mark.parametrize(("before", "after"), list(permutations(Role, 2)))
def test_changing_a_persons_role_leaves_exactly_the_new_roles_permissions(
    before: Role, after: Role, workflow: Workflow, people: dict[str, Any]
) -> None:
    share_workflow(workflow, user=people["pia"], role=before, actor=people["owen"])
    share_workflow(workflow, user=people["pia"], role=after, actor=people["owen"])

    assert user_perms(people["pia"], workflow) == ROLE_PERMISSIONS[after]
    [entry] = access_list(workflow)
    assert entry.user == people["pia"] and entry.role == after
    last = sharing_events(workflow)[-1]
    assert last.data["role"] == after.value and last.data["previous"] == before.value


def test_removing_access_takes_every_sharing_permission_and_leaves_others_alone(
    workflow: Workflow, people: dict[str, Any]
) -> None:
    share_workflow(workflow, user=people["pia"], role=Role.OPERATE, actor=people["owen"])
    assign_perm("orchestration.delete_workflow", people["pia"], workflow)

    assert unshare_workflow(workflow, user=people["pia"], actor=people["owen"]) is True

    assert user_perms(people["pia"], workflow) == {"delete_workflow"}
    assert access_list(workflow) == []
    assert unshare_workflow(workflow, user=people["pia"], actor=people["owen"]) is False


def test_a_person_removed_keeps_what_their_group_has(
    workflow: Workflow, employees: Group, people: dict[str, Any]
) -> None:
    share_workflow(workflow, group=employees, role=Role.REQUEST, actor=people["owen"])
    share_workflow(workflow, user=people["erin"], role=Role.DESIGN, actor=people["owen"])

    unshare_workflow(workflow, user=people["erin"], actor=people["owen"])

    erin = get_user_model().objects.get(pk=people["erin"].pk)
    assert has_workflow_perm(erin, "start_workflow", workflow)
    assert not has_workflow_perm(erin, "design_workflow", workflow)


def test_removing_the_last_publisher_but_the_owner_is_allowed(
    workflow: Workflow, people: dict[str, Any]
) -> None:
    share_workflow(workflow, user=people["pia"], role=Role.PUBLISH, actor=people["owen"])

    unshare_workflow(workflow, user=people["pia"], actor=people["owen"])

    assert not has_workflow_perm(people["pia"], "publish_workflow", workflow)
    assert has_workflow_perm(people["owen"], "publish_workflow", workflow)


def test_a_group_member_can_find_and_start_a_workflow_shared_for_requests(
    workflow: Workflow, employees: Group, people: dict[str, Any]
) -> None:
    erin = people["erin"]
    assert workflow not in visible_workflows(erin)

    share_workflow(workflow, group=employees, role=Role.REQUEST, actor=people["owen"])

    erin = get_user_model().objects.get(pk=erin.pk)
    assert workflow in visible_workflows(erin)
    assert has_workflow_perm(erin, "start_workflow", workflow)


# --- the owner -------------------------------------------------------------------------------


def test_the_owners_access_cannot_be_removed_or_changed(workflow: Workflow, people: dict[str, Any]) -> None:
    owner = people["owen"]
    with pytest.raises(SharingError, match="always keeps full access"):
        unshare_workflow(workflow, user=owner, actor=owner)
    with pytest.raises(SharingError, match="always keeps full access"):
        share_workflow(workflow, user=owner, role=Role.REQUEST, actor=owner)

    assert user_perms(owner, workflow) == set(WORKFLOW_PERMISSIONS)
    assert sharing_events(workflow) == []


# --- the audit trail -------------------------------------------------------------------------


def test_each_change_writes_an_event_saying_who_changed_what_for_whom(
    workflow: Workflow, employees: Group, people: dict[str, Any]
) -> None:
    owner = people["owen"]
    share_workflow(workflow, group=employees, role=Role.REQUEST, actor=owner)
    share_workflow(workflow, group=employees, role=Role.REQUEST, actor=owner)  # no change: no event
    share_workflow(workflow, group=employees, role=Role.DESIGN, actor=owner)
    unshare_workflow(workflow, group=employees, actor=owner)

    events = sharing_events(workflow)
    assert [(e.kind, e.message) for e in events] == [
        ("workflow.shared", "Employees can now request Purchase request"),
        ("workflow.shared", "Employees can now design Purchase request"),
        ("workflow.unshared", "Employees no longer has access to Purchase request"),
    ]
    assert all(e.actor == owner and e.actor_label == "owen" for e in events)
    assert events[0].data == {
        "role": "request",
        "previous": None,
        "group": "Employees",
        "group_id": employees.pk,
    }
    assert events[1].data["previous"] == "request"
    assert events[2].data == {"previous": "design", "group": "Employees", "group_id": employees.pk}


# --- who may share ---------------------------------------------------------------------------


@pytest.fixture
def team(workflow: Workflow, people: dict[str, Any]) -> dict[str, Any]:
    """olly operates, desmond designs, pia publishes, rita may only request; stan is a superuser."""
    owner = people["owen"]
    for name, role in (
        ("olly", Role.OPERATE),
        ("desmond", Role.DESIGN),
        ("pia", Role.PUBLISH),
        ("rita", Role.REQUEST),
    ):
        share_workflow(workflow, user=people[name], role=role, actor=owner)
    people["stan"].is_superuser = True
    people["stan"].save()
    return {name: get_user_model().objects.get(pk=user.pk) for name, user in people.items()}


@pytest.mark.parametrize("name", ["owen", "olly", "stan"])
def test_the_owner_operators_and_superusers_may_share(
    name: str, workflow: Workflow, employees: Group, team: dict[str, Any]
) -> None:
    actor = team[name]
    assert can_share(actor, workflow)

    share_workflow(workflow, group=employees, role=Role.PUBLISH, actor=actor)

    assert group_perms(employees, workflow) == ROLE_PERMISSIONS[Role.PUBLISH]
    assert sharing_events(workflow)[-1].actor == actor


@pytest.mark.parametrize("name", ["desmond", "pia", "rita", "erin"])
def test_designers_publishers_and_requesters_may_not_share(
    name: str, workflow: Workflow, employees: Group, team: dict[str, Any]
) -> None:
    actor = team[name]
    assert not can_share(actor, workflow)
    events = len(sharing_events(workflow))

    with pytest.raises(PermissionDenied):
        share_workflow(workflow, group=employees, role=Role.REQUEST, actor=actor)
    with pytest.raises(PermissionDenied):
        unshare_workflow(workflow, user=team["rita"], actor=actor)

    assert group_perms(employees, workflow) == set()
    assert user_perms(team["rita"], workflow) == ROLE_PERMISSIONS[Role.REQUEST]
    assert len(sharing_events(workflow)) == events


def test_operating_through_a_group_is_enough_to_share(
    workflow: Workflow, employees: Group, people: dict[str, Any]
) -> None:
    share_workflow(workflow, group=employees, role=Role.OPERATE, actor=people["owen"])
    erin = get_user_model().objects.get(pk=people["erin"].pk)

    share_workflow(workflow, user=people["rita"], role=Role.REQUEST, actor=erin)

    assert user_perms(people["rita"], workflow) == ROLE_PERMISSIONS[Role.REQUEST]


# --- the list --------------------------------------------------------------------------------


def test_access_list_shows_groups_then_people_by_name_without_the_owner_or_group_members(
    workflow: Workflow, employees: Group, people: dict[str, Any]
) -> None:
    owner = people["owen"]
    finance = Group.objects.create(name="finance")
    share_workflow(workflow, group=finance, role=Role.PUBLISH, actor=owner)
    share_workflow(workflow, group=employees, role=Role.REQUEST, actor=owner)
    share_workflow(workflow, user=people["rita"], role=Role.DESIGN, actor=owner)
    share_workflow(workflow, user=people["desmond"], role=Role.OPERATE, actor=owner)
    assign_perm("orchestration.view_workflow", people["pia"], workflow)  # granted in the admin

    entries = access_list(workflow)

    assert [e.name for e in entries] == [
        "Employees",
        "finance",
        "Desmond Tester",
        "Pia Tester",
        "Rita Tester",
    ]
    assert [e.description for e in entries] == [
        "Can request",
        "Can publish",
        "Can operate",
        "Custom: view",
        "Can design",
    ]
    assert entries[3].role is None


def test_a_role_nobody_knows_and_naming_both_a_group_and_a_user_are_refused(
    workflow: Workflow, employees: Group, people: dict[str, Any]
) -> None:
    with pytest.raises(SharingError, match="no role"):
        share_workflow(workflow, group=employees, role="admin", actor=people["owen"])
    with pytest.raises(ValueError, match="exactly one"):
        share_workflow(workflow, group=employees, user=people["pia"], role=Role.REQUEST, actor=people["owen"])
    assert group_perms(employees, workflow) == set()
