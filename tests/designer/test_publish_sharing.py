"""Publishing asks who may start requests: prefilled from the sharing, applied with the publish, named errors."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from guardian.shortcuts import get_group_perms, get_user_perms

from orchestration.definitions import create_workflow, current_draft, save_draft
from orchestration.models import Workflow, WorkflowVersion
from orchestration.sharing import EVERYONE, ROLE_PERMISSIONS, Role, share_workflow, unshare_workflow
from tests import bpmn

pytestmark = pytest.mark.django_db

FLOW = bpmn.definitions(bpmn.start("start"), bpmn.end("end"), *bpmn.chain("start", "end"))
BROKEN = bpmn.definitions(
    bpmn.start("start"), bpmn.user_task("approve", name="Approve"), *bpmn.chain("start", "approve")
)
REQUEST = set(ROLE_PERMISSIONS[Role.REQUEST])


@pytest.fixture
def people() -> dict[str, Any]:
    users = get_user_model()
    return {
        name: users.objects.create_user(name, first_name=first, last_name=last)
        for name, first, last in (
            ("dana", "Dana", "Owner"),
            ("pablo", "Pablo", "Publisher"),
            ("rita", "Rita", "Requester"),
            ("fay", "Fay", "Finance"),
            ("olga", "Olga", "Outsider"),
        )
    }


@pytest.fixture
def groups(people: dict[str, Any]) -> dict[str, Group]:
    made = {name: Group.objects.create(name=name) for name in ("Finance", "Sales", "Operations")}
    people["fay"].groups.add(made["Finance"])
    return made


@pytest.fixture
def workflow(people: dict[str, Any]) -> Workflow:
    """Purchase request, owned by dana, with a draft; pablo may publish it (but not share it)."""
    wf = create_workflow("purchase", "Purchase request", FLOW, owner=people["dana"]).workflow
    share_workflow(wf, user=people["pablo"], role=Role.PUBLISH, actor=people["dana"])
    return wf


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def publish(user: Any, workflow: Workflow, **fields: Any) -> Any:
    draft = current_draft(workflow)
    assert draft is not None
    data = {"draft": draft.pk, "revision": draft.revision, **fields}
    return client_for(user).post(reverse("designer:publish", args=[workflow.key]), data)


def published(workflow: Workflow) -> bool:
    return workflow.versions.filter(status=WorkflowVersion.Status.PUBLISHED).exists()


def checked(html: str, name: str) -> set[str]:
    """The values of the checked inputs called ``name`` in ``html``."""
    inputs = re.findall(rf'<input[^>]*name="{name}"[^>]*>', html)
    return {re.search(r'value="([^"]*)"', tag).group(1) for tag in inputs if " checked" in tag}  # type: ignore[union-attr]


def catalog_names(user: Any) -> str:
    return client_for(user).get(reverse("approvals:catalog")).content.decode()


def test_the_publish_dialog_is_prefilled_from_the_workflows_sharing(
    people: dict[str, Any], groups: dict[str, Group], workflow: Workflow
) -> None:
    share_workflow(workflow, group=groups["Finance"], role=Role.REQUEST, actor=people["dana"])
    share_workflow(workflow, user=people["rita"], role=Role.REQUEST, actor=people["dana"])
    share_workflow(workflow, group=groups["Operations"], role=Role.OPERATE, actor=people["dana"])

    html = client_for(people["dana"]).get(reverse("designer:edit", args=["purchase"])).content.decode()

    assert checked(html, "who") == {"chosen"}
    assert checked(html, "groups") == {str(groups["Finance"].pk)}
    assert checked(html, "people") == {str(people["rita"].pk)}
    assert "Who may start requests?" in html
    assert "Also able to start it, through their access under Sharing: Operations (can operate)" in html


def test_a_workflow_shared_with_everyone_is_prefilled_as_everyone(
    people: dict[str, Any], workflow: Workflow
) -> None:
    assert publish(people["dana"], workflow, who="everyone").status_code == 200
    save_draft(workflow, FLOW.replace("end", "finish"), actor=people["dana"])

    html = client_for(people["dana"]).get(reverse("designer:edit", args=["purchase"])).content.decode()

    assert checked(html, "who") == {"everyone"}


def test_publishing_for_chosen_groups_shares_it_with_them_in_the_same_action(
    people: dict[str, Any], groups: dict[str, Group], workflow: Workflow
) -> None:
    assert "Purchase request" not in catalog_names(people["fay"])

    response = publish(
        people["dana"], workflow, who="chosen", groups=[groups["Finance"].pk, groups["Sales"].pk]
    )

    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["where"] == "Members of Finance and Sales now see Purchase request under New request"
    assert answer["visible"] is True
    assert answer["catalog"] == "http://testserver/requests/new/"
    assert set(get_group_perms(groups["Finance"], workflow)) == REQUEST
    assert set(get_group_perms(groups["Sales"], workflow)) == REQUEST
    assert "Purchase request" in catalog_names(people["fay"])
    assert "Purchase request" not in catalog_names(people["olga"])


def test_publishing_for_everyone_reaches_people_signed_up_before_and_after(
    people: dict[str, Any], workflow: Workflow
) -> None:
    response = publish(people["dana"], workflow, who="everyone")

    assert response.json()["where"] == "Everyone who signs in now sees Purchase request under New request"
    newcomer = get_user_model().objects.create_user("nina")
    assert "Purchase request" in catalog_names(people["olga"])
    assert "Purchase request" in catalog_names(newcomer)


def test_republishing_applies_what_was_unticked_and_leaves_higher_roles_alone(
    people: dict[str, Any], groups: dict[str, Group], workflow: Workflow
) -> None:
    share_workflow(workflow, group=groups["Finance"], role=Role.REQUEST, actor=people["dana"])
    share_workflow(workflow, user=people["rita"], role=Role.REQUEST, actor=people["dana"])

    response = publish(people["dana"], workflow, who="chosen", people=[people["rita"].pk])

    assert response.json()["where"] == "Rita Requester now sees Purchase request under New request"
    assert list(get_group_perms(groups["Finance"], workflow)) == []
    assert set(get_user_perms(people["rita"], workflow)) == REQUEST
    assert set(get_user_perms(people["pablo"], workflow)) == set(ROLE_PERMISSIONS[Role.PUBLISH])


def test_an_unknown_group_is_named_on_its_field_and_nothing_is_published(
    people: dict[str, Any], workflow: Workflow
) -> None:
    response = publish(people["dana"], workflow, who="chosen", groups=["98765"])

    assert response.status_code == 400
    assert response.json()["fields"]["groups"] == ["There is no group “98765”: pick groups from the list."]
    assert not published(workflow)


def test_choosing_nobody_when_nobody_could_start_it_is_refused_on_the_field(
    people: dict[str, Any], workflow: Workflow
) -> None:
    unshare_workflow(workflow, user=people["pablo"], actor=people["dana"])

    response = publish(people["dana"], workflow, who="chosen")

    assert response.status_code == 400
    assert response.json()["fields"]["groups"] == [
        "Nobody but Dana Owner could start Purchase request, so nobody would find it under New request: "
        "choose everyone, a group or a person."
    ]
    assert not published(workflow)


def test_a_draft_with_errors_changes_no_sharing(people: dict[str, Any], workflow: Workflow) -> None:
    draft = current_draft(workflow)
    assert draft is not None
    save_draft(workflow, BROKEN, actor=people["dana"], expected_revision=draft.revision)

    response = publish(people["dana"], workflow, who="everyone")

    assert response.status_code == 400
    assert response.json()["problems"]
    assert not published(workflow)
    everyone = Group.objects.filter(name=EVERYONE).first()
    assert everyone is None or list(get_group_perms(everyone, workflow)) == []


def test_a_publisher_who_may_not_share_publishes_and_leaves_the_sharing_alone(
    people: dict[str, Any], workflow: Workflow
) -> None:
    html = client_for(people["pablo"]).get(reverse("designer:edit", args=["purchase"])).content.decode()
    assert 'name="who"' not in html
    assert "Pablo Publisher now sees Purchase request under New request." in html
    assert "Only the owner or someone who operates Purchase request can change who may start it" in html

    response = publish(people["pablo"], workflow, who="everyone")

    assert response.status_code == 200
    assert response.json()["where"] == "Pablo Publisher now sees Purchase request under New request"
    assert not Group.objects.filter(name=EVERYONE).exists()


def test_a_workflow_nobody_may_start_preselects_nothing_and_asks_for_an_answer(
    people: dict[str, Any], workflow: Workflow
) -> None:
    unshare_workflow(workflow, user=people["pablo"], actor=people["dana"])
    html = client_for(people["dana"]).get(reverse("designer:edit", args=["purchase"])).content.decode()
    assert checked(html, "who") == set()

    response = publish(people["dana"], workflow, asked="1")

    assert response.status_code == 400
    assert response.json()["fields"]["who"] == [
        "Choose who may start requests: everyone, or the groups and people below."
    ]
    assert not published(workflow)
