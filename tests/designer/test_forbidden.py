"""The refusal page: what the page is, why not, who can grant access; nothing named to who may not know it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client, override_settings
from django.urls import reverse

from orchestration.definitions import create_workflow, current_draft, publish_version
from orchestration.engine import start_instance
from orchestration.models import Workflow
from orchestration.sharing import Role, share_workflow
from tests import bpmn

pytestmark = pytest.mark.django_db

FLOW = bpmn.definitions(
    bpmn.start("start"),
    bpmn.user_task("approve", name="Approve", assignee="dana"),
    bpmn.end("end"),
    *bpmn.chain("start", "approve", "end"),
)

# Each designer page, what it says it is, and the access it needs.
PAGES = [
    (
        "designer:edit",
        ["purchase"],
        "the designer of Purchase request, where its steps are drawn",
        "“Can design”",
    ),
    (
        "designer:versions",
        ["purchase"],
        "the list of the published versions of Purchase request",
        "“Can design”",
    ),
    ("designer:version", ["purchase", 1], "one published version of Purchase request", "“Can design”"),
    (
        "designer:live",
        ["purchase"],
        "the live view of Purchase request: how many requests wait at each step",
        "“Can design” or “Can operate”",
    ),
]


@pytest.fixture
def people() -> dict[str, Any]:
    users = get_user_model()
    return {
        name: users.objects.create_user(name, first_name=first, last_name=last)
        for name, first, last in (
            ("dana", "Dana", "Owner"),
            ("otto", "Otto", "Operator"),
            ("rita", "Rita", "Requester"),
            ("olga", "Olga", "Outsider"),
        )
    }


@pytest.fixture
def workflow(people: dict[str, Any]) -> Workflow:
    """Purchase request, published, owned by dana; otto and the Operations group operate it; rita may request."""
    wf = create_workflow("purchase", "Purchase request", FLOW, owner=people["dana"]).workflow
    publish_version(current_draft(wf), actor=people["dana"])  # type: ignore[arg-type]
    share_workflow(wf, user=people["otto"], role=Role.OPERATE, actor=people["dana"])
    share_workflow(wf, group=Group.objects.create(name="Operations"), role=Role.OPERATE, actor=people["dana"])
    share_workflow(wf, user=people["rita"], role=Role.REQUEST, actor=people["dana"])
    return wf


def get(user: Any, url: str) -> Any:
    client = Client()
    client.force_login(user)
    return client.get(url)


@override_settings(DEBUG=False)
@pytest.mark.parametrize(("name", "args", "purpose", "role"), PAGES)
def test_someone_who_may_request_is_told_what_the_page_is_and_who_can_grant_it(
    people: dict[str, Any], workflow: Workflow, name: str, args: list[Any], purpose: str, role: str
) -> None:
    response = get(people["rita"], reverse(name, args=args))

    assert response.status_code == 403
    html = response.content.decode()
    assert 'aria-label="Main"' in html  # the site's layout, with its navigation
    assert f"This page is {purpose}" in html
    assert f"Purchase request is shared with you, but not as {role}, which this page needs." in html
    assert "Ask <strong>Dana Owner (its owner)</strong>, <strong>anyone in Operations</strong> or " in html
    assert "<strong>Otto Operator</strong> to share Purchase request with you as " in html


@override_settings(DEBUG=False)
def test_the_sharing_page_names_the_operate_access_it_needs(
    people: dict[str, Any], workflow: Workflow
) -> None:
    response = Client()
    response.force_login(people["rita"])
    answer = response.post(reverse("designer:sharing-share", args=["purchase"]), {"role": "request"})

    assert answer.status_code == 403
    # A button, not a page: it has no purpose to explain.
    assert "This page is the sharing of Purchase request" not in answer.content.decode()
    assert "not as “Can operate”" in answer.content.decode()


@override_settings(DEBUG=False)
@pytest.mark.parametrize(("name", "args", "purpose", "role"), PAGES)
def test_someone_who_may_not_see_the_workflow_learns_nothing_about_it(
    people: dict[str, Any], workflow: Workflow, name: str, args: list[Any], purpose: str, role: str
) -> None:
    response = get(people["olga"], reverse(name, args=args))

    assert response.status_code == 404
    html = response.content.decode()
    assert "This page does not exist, or it has not been shared with you." in html
    for secret in ("Purchase request", "Dana", "Otto", "Operations"):
        assert secret not in html


@override_settings(DEBUG=False)
def test_a_refusal_without_a_workflow_sends_to_an_administrator(people: dict[str, Any]) -> None:
    response = get(people["olga"], reverse("designer:create"))

    assert response.status_code == 403
    html = response.content.decode()
    assert "This page is the form for starting a new workflow from scratch or from a file." in html
    assert "You may not create workflows." in html
    assert "Ask an administrator." in html


@override_settings(DEBUG=False)
def test_a_requester_on_the_operations_page_of_their_own_request_is_told_who_runs_it(
    people: dict[str, Any], workflow: Workflow
) -> None:
    instance = start_instance(workflow.published_version, {}, initiator=people["rita"])  # type: ignore[arg-type]

    response = get(people["rita"], reverse("ops:instance", args=[instance.pk]))

    assert response.status_code == 403
    html = response.content.decode()
    assert (
        "This page is a request in the operations console, where the people who run Purchase request" in html
    )
    assert "<strong>Dana Owner (its owner)</strong>" in html


@override_settings(DEBUG=False)
def test_the_api_keeps_its_json_refusal(people: dict[str, Any], workflow: Workflow) -> None:
    response = get(people["rita"], "/api/workflows/purchase/draft/")

    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/json")
    assert "design workflow" in response.json()["detail"]
