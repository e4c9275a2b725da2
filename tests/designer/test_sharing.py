"""The sharing page: who sees it, who may change it, htmx and plain answers, and the links to it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from guardian.shortcuts import get_group_perms, get_user_perms

from orchestration.definitions import WORKFLOW_PERMISSIONS, create_workflow
from orchestration.models import Workflow
from orchestration.sharing import ROLE_PERMISSIONS, Role, share_workflow
from tests import bpmn

pytestmark = pytest.mark.django_db

FLOW = bpmn.definitions(bpmn.start("start"), bpmn.end("end"), *bpmn.chain("start", "end"))
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def people() -> dict[str, Any]:
    users = get_user_model()
    made = {
        name: users.objects.create_user(name, first_name=first, last_name=last)
        for name, first, last in (
            ("dana", "Dana", "Owner"),
            ("otto", "Otto", "Operator"),
            ("desi", "Desi", "Designer"),
            ("pablo", "Pablo", "Publisher"),
            ("rita", "Rita", "Requester"),
            ("olga", "Olga", "Outsider"),
            ("emma", "Emma", "Employee"),
        )
    }
    made["root"] = users.objects.create_superuser("root")
    return made


@pytest.fixture
def employees(people: dict[str, Any]) -> Group:
    group = Group.objects.create(name="Employees")
    people["emma"].groups.add(group)
    return group


@pytest.fixture
def workflow(people: dict[str, Any]) -> Workflow:
    """Purchase request, owned by dana; otto operates, desi designs, pablo publishes, rita requests."""
    wf = create_workflow("purchase", "Purchase request", FLOW, owner=people["dana"]).workflow
    for name, role in (
        ("otto", Role.OPERATE),
        ("desi", Role.DESIGN),
        ("pablo", Role.PUBLISH),
        ("rita", Role.REQUEST),
    ):
        share_workflow(wf, user=people[name], role=role, actor=people["dana"])
    return wf


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_url(key: str = "purchase") -> str:
    return reverse("designer:sharing", args=[key])


def share_url(key: str = "purchase") -> str:
    return reverse("designer:sharing-share", args=[key])


def remove_url(key: str = "purchase") -> str:
    return reverse("designer:sharing-remove", args=[key])


def group_perms(group: Group, workflow: Workflow) -> set[str]:
    return set(get_group_perms(group, workflow).values_list("codename", flat=True))


def user_perms(user: Any, workflow: Workflow) -> set[str]:
    return set(get_user_perms(user, workflow).values_list("codename", flat=True))


# --- the page --------------------------------------------------------------------------------


def test_page_shows_the_owner_and_everyone_with_access_in_plain_words(
    workflow: Workflow, people: dict[str, Any]
) -> None:
    page = client_for(people["dana"]).get(page_url()).content.decode()

    assert "Share Purchase request" in page
    assert "Dana Owner" in page and "Owners keep full access" in page
    for name in ("Otto Operator", "Desi Designer", "Pablo Publisher", "Rita Requester"):
        assert name in page
    assert 'value="operate" selected' in page and 'value="request" selected' in page
    assert "Share with more people" in page and 'name="csrfmiddlewaretoken"' in page
    assert "Also see everyone&#x27;s requests, cancel and retry them" in page


def test_people_who_may_not_share_see_the_list_read_only(workflow: Workflow, people: dict[str, Any]) -> None:
    for name in ("desi", "pablo", "rita"):
        response = client_for(people[name]).get(page_url())
        page = response.content.decode()
        assert response.status_code == 200
        assert "Otto Operator" in page and "Can operate" in page
        assert "Share with more people" not in page and share_url() not in page and remove_url() not in page
        assert "The owner or someone who operates this workflow can change it." in page


def test_someone_who_cannot_view_the_workflow_gets_404(workflow: Workflow, people: dict[str, Any]) -> None:
    outsider = client_for(people["olga"])
    assert outsider.get(page_url()).status_code == 404
    assert outsider.post(share_url(), {"user": "olga", "role": "operate"}).status_code == 404
    assert outsider.post(remove_url(), {"user": "rita"}).status_code == 404
    assert user_perms(people["olga"], workflow) == set()


def test_signing_in_is_required(workflow: Workflow) -> None:
    response = Client().get(page_url())
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- changing it -----------------------------------------------------------------------------


def test_sharing_with_a_group_through_htmx_answers_the_card_with_a_message(
    workflow: Workflow, people: dict[str, Any], employees: Group
) -> None:
    response = client_for(people["dana"]).post(
        share_url(), {"group": employees.pk, "role": "request"}, **HTMX
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page and page.lstrip().startswith('<div id="sharing"')
    assert "Employees can now request Purchase request." in page
    assert f'data-testid="access-group-{employees.pk}"' in page
    assert group_perms(employees, workflow) == ROLE_PERMISSIONS[Role.REQUEST]


def test_without_htmx_a_change_redirects_to_the_page_which_shows_the_message(
    workflow: Workflow, people: dict[str, Any], employees: Group
) -> None:
    client = client_for(people["dana"])
    response = client.post(share_url(), {"group": employees.pk, "role": "publish"})
    assert response.status_code == 302 and response["Location"] == page_url()

    page = client.get(page_url()).content.decode()
    assert "Employees can now publish Purchase request." in page
    assert group_perms(employees, workflow) == ROLE_PERMISSIONS[Role.PUBLISH]


def test_a_person_is_found_by_username_or_full_name(workflow: Workflow, people: dict[str, Any]) -> None:
    client = client_for(people["dana"])
    client.post(share_url(), {"user": "emma", "role": "design"}, **HTMX)
    assert user_perms(people["emma"], workflow) == ROLE_PERMISSIONS[Role.DESIGN]

    page = client.post(share_url(), {"user": "olga outsider", "role": "request"}, **HTMX).content.decode()
    assert "Olga Outsider can now request Purchase request." in page
    assert user_perms(people["olga"], workflow) == ROLE_PERMISSIONS[Role.REQUEST]


def test_an_unknown_person_or_nobody_at_all_is_explained(workflow: Workflow, people: dict[str, Any]) -> None:
    client = client_for(people["dana"])
    page = client.post(share_url(), {"user": "nobody", "role": "request"}, **HTMX).content.decode()
    assert "Nobody is called “nobody”" in page
    page = client.post(share_url(), {"role": "request"}, **HTMX).content.decode()
    assert "Pick a group or a person." in page
    assert len([line for line in page.splitlines() if "alert-danger" in line]) == 1


def test_changing_a_role_downgrades_the_permissions(workflow: Workflow, people: dict[str, Any]) -> None:
    page = client_for(people["dana"]).post(share_url(), {"user": "pablo", "role": "request"}, **HTMX)

    assert "Pablo Publisher can now request Purchase request." in page.content.decode()
    assert user_perms(people["pablo"], workflow) == ROLE_PERMISSIONS[Role.REQUEST]


def test_removing_access_takes_it_away(workflow: Workflow, people: dict[str, Any]) -> None:
    page = client_for(people["dana"]).post(remove_url(), {"user": "pablo"}, **HTMX).content.decode()

    assert "Pablo Publisher no longer has access to Purchase request." in page
    assert 'data-testid="access-user-pablo"' not in page
    assert user_perms(people["pablo"], workflow) == set()


def test_the_owners_access_cannot_be_removed_and_the_page_says_why(
    workflow: Workflow, people: dict[str, Any]
) -> None:
    page = client_for(people["otto"]).post(remove_url(), {"user": "dana"}, **HTMX).content.decode()

    assert "Dana Owner owns Purchase request and always keeps full access" in page
    assert user_perms(people["dana"], workflow) == set(WORKFLOW_PERMISSIONS)


@pytest.mark.parametrize("name", ["dana", "otto", "root"])
def test_the_owner_an_operator_and_a_superuser_may_change_sharing(
    name: str, workflow: Workflow, people: dict[str, Any], employees: Group
) -> None:
    client = client_for(people[name])
    assert "Share with more people" in client.get(page_url()).content.decode()

    assert client.post(share_url(), {"group": employees.pk, "role": "design"}).status_code == 302
    assert group_perms(employees, workflow) == ROLE_PERMISSIONS[Role.DESIGN]
    assert client.post(remove_url(), {"user": "rita"}).status_code == 302
    assert user_perms(people["rita"], workflow) == set()


@pytest.mark.parametrize("name", ["desi", "pablo", "rita"])
def test_designers_publishers_and_requesters_get_403_when_changing_sharing(
    name: str, workflow: Workflow, people: dict[str, Any], employees: Group
) -> None:
    client = client_for(people[name])

    assert client.post(share_url(), {"group": employees.pk, "role": "operate"}).status_code == 403
    assert client.post(share_url(), {"user": name, "role": "operate"}, **HTMX).status_code == 403
    assert client.post(remove_url(), {"user": "otto"}).status_code == 403
    assert group_perms(employees, workflow) == set()
    assert user_perms(people["otto"], workflow) == ROLE_PERMISSIONS[Role.OPERATE]


def test_an_operator_who_removes_their_own_access_is_sent_to_the_workflow_list(
    workflow: Workflow, people: dict[str, Any]
) -> None:
    response = client_for(people["otto"]).post(remove_url(), {"user": "otto"}, **HTMX)

    assert response.status_code == 204 and response["HX-Redirect"] == reverse("designer:list")
    assert user_perms(people["otto"], workflow) == set()


def test_changes_are_post_only_and_need_the_csrf_token(
    workflow: Workflow, people: dict[str, Any], employees: Group
) -> None:
    client = client_for(people["dana"])
    assert client.get(share_url(), {"group": employees.pk, "role": "request"}).status_code == 405
    assert client.get(remove_url(), {"user": "rita"}).status_code == 405
    assert client.post(page_url()).status_code == 405

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(people["dana"])
    assert strict.post(share_url(), {"group": employees.pk, "role": "request"}).status_code == 403
    assert group_perms(employees, workflow) == set()


# --- links to it ------------------------------------------------------------------------------


def test_the_workflow_list_the_versions_page_and_the_designer_link_to_sharing(
    workflow: Workflow, people: dict[str, Any]
) -> None:
    designer, operator = client_for(people["dana"]), client_for(people["otto"])
    assert page_url() in designer.get(reverse("designer:list")).content.decode()
    assert page_url() in operator.get(reverse("designer:list")).content.decode()
    assert page_url() in designer.get(reverse("designer:versions", args=["purchase"])).content.decode()
    assert page_url() in designer.get(reverse("designer:edit", args=["purchase"])).content.decode()
