"""Designer pages: list, create, canvas save/publish/import/copy, versions, live view, and who may do what."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from guardian.shortcuts import assign_perm

from orchestration.definitions import create_workflow, current_draft, publish_version, save_draft
from orchestration.engine import blocks, start_instance
from orchestration.models import Workflow, WorkflowVersion
from tests import bpmn

pytestmark = pytest.mark.django_db

BPMN_FILES = Path(__file__).resolve().parent.parent / "orchestration" / "bpmn_files"


def approval_flow(approver: str = "bob", task_name: str = "Approve purchase") -> str:
    return bpmn.definitions(
        bpmn.start("start", bpmn.field("item", required=True)),
        bpmn.user_task("approve", name=task_name, assignee=approver),
        bpmn.end("end", outcome="done"),
        *bpmn.chain("start", "approve", "end"),
    )


# An Approval nobody is assigned to and a Decision without outgoing flows: errors, by element.
BROKEN = bpmn.definitions(
    bpmn.start("start"),
    bpmn.user_task("approve", name="Approve"),
    bpmn.gateway("choose", name="Which way?"),
    *bpmn.chain("start", "approve", "choose"),
)


@pytest.fixture
def people() -> dict[str, Any]:
    users = get_user_model()
    owner = users.objects.create_user("dana", first_name="Dana", last_name="Designer")
    owner.user_permissions.add(Permission.objects.get(codename="add_workflow"))
    return {
        "owner": owner,
        "viewer": users.objects.create_user("victor"),
        "designer": users.objects.create_user("desi"),
        "outsider": users.objects.create_user("olga"),
        "bob": users.objects.create_user("bob"),
    }


@pytest.fixture
def workflow(people: dict[str, Any]) -> Workflow:
    """purchase: owned by dana, viewed by victor, designed (not published) by desi; a draft, nothing published."""
    draft = create_workflow("purchase", "Purchase", approval_flow(), owner=people["owner"])
    wf = draft.workflow
    assign_perm("orchestration.view_workflow", people["viewer"], wf)
    for perm in ("view_workflow", "design_workflow"):
        assign_perm(f"orchestration.{perm}", people["designer"], wf)
    return wf


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def script_data(response: Any, script_id: str) -> Any:
    """The JSON a page hands to canvas.js in ``<script id=... type="application/json">``."""
    html = response.content.decode()
    opening = f'<script id="{script_id}" type="application/json">'
    start = html.index(opening) + len(opening)
    return json.loads(html[start : html.index("</script>", start)])


def config_of(response: Any) -> dict[str, Any]:
    data: dict[str, Any] = script_data(response, "designer-config")
    return data


def save(client: Client, key: str, xml: str, draft: int | None, revision: int) -> Any:
    return client.post(
        reverse("designer:save", args=[key]), {"xml": xml, "draft": draft or "", "revision": revision}
    )


# --- list and create -------------------------------------------------------------------------


def test_list_shows_each_visible_workflow_with_its_state_and_the_users_actions(
    workflow: Workflow, people: dict[str, Any]
) -> None:
    publish_version(current_draft(workflow), actor=people["owner"])  # type: ignore[arg-type]
    save_draft(workflow, approval_flow(task_name="Approve order"), actor=people["owner"])

    page = client_for(people["owner"]).get(reverse("designer:list")).content.decode()
    assert "Purchase" in page and "Dana Designer" in page
    assert "Live · v1" in page and "Draft" in page and "by dana" in page
    assert reverse("designer:edit", args=["purchase"]) in page
    assert reverse("designer:live", args=["purchase"]) in page
    assert "New workflow" in page

    viewer_page = client_for(people["viewer"]).get(reverse("designer:list")).content.decode()
    assert "Purchase" in viewer_page and "View only" in viewer_page
    assert reverse("designer:edit", args=["purchase"]) not in viewer_page
    assert "New workflow" not in viewer_page

    outsider_page = client_for(people["outsider"]).get(reverse("designer:list")).content.decode()
    assert "Purchase" not in outsider_page and "No workflows yet" in outsider_page


def test_the_list_costs_the_same_queries_for_2_and_for_20_workflows(people: dict[str, Any]) -> None:
    def add(numbers: range) -> None:
        for n in numbers:
            draft = create_workflow(f"w{n:02}", f"Workflow {n:02}", approval_flow(), owner=people["owner"])
            publish_version(draft, actor=people["owner"])
            save_draft(draft.workflow, approval_flow(task_name="Next"), actor=people["owner"])

    client = client_for(people["owner"])
    add(range(2))
    with CaptureQueriesContext(connection) as two:
        client.get(reverse("designer:list"))
    add(range(2, 20))
    with CaptureQueriesContext(connection) as twenty:
        page = client.get(reverse("designer:list")).content.decode()

    assert page.count("Live · v1") == 20
    assert len(twenty.captured_queries) == len(two.captured_queries)


def test_creating_needs_the_add_workflow_permission(people: dict[str, Any]) -> None:
    client = client_for(people["viewer"])
    assert client.get(reverse("designer:create")).status_code == 403
    assert client.post(reverse("designer:create"), {"name": "Sneaky"}).status_code == 403
    assert not Workflow.objects.exists()


def test_new_workflow_starts_blank_owned_by_its_creator_with_a_key_from_its_name(
    people: dict[str, Any],
) -> None:
    client = client_for(people["owner"])
    response = client.post(reverse("designer:create"), {"name": "Travel request", "description": "Trips"})
    assert response.status_code == 302 and response["Location"] == reverse(
        "designer:edit", args=["travel-request"]
    )
    wf = Workflow.objects.get(key="travel-request")
    assert wf.owner == people["owner"] and wf.description == "Trips"
    draft = current_draft(wf)
    assert draft is not None and "<bpmn:startEvent" in draft.bpmn_xml
    assert people["owner"].has_perm("orchestration.publish_workflow", wf)

    again = client.post(reverse("designer:create"), {"name": "Travel request"})
    assert again["Location"] == reverse("designer:edit", args=["travel-request-2"])
    reserved = client.post(reverse("designer:create"), {"name": "New"})
    assert reserved["Location"] == reverse("designer:edit", args=["new-2"])


def test_create_refuses_a_taken_key_and_a_file_that_cannot_be_opened(
    workflow: Workflow, people: dict[str, Any]
) -> None:
    client = client_for(people["owner"])
    taken = client.post(reverse("designer:create"), {"name": "Other", "key": "purchase"})
    assert taken.status_code == 200 and "Another workflow already uses this key." in taken.content.decode()
    doctype = SimpleUploadedFile("evil.bpmn", (BPMN_FILES / "billion_laughs.bpmn").read_bytes())
    refused = client.post(reverse("designer:create"), {"name": "Evil", "bpmn_file": doctype})
    assert "evil.bpmn cannot be opened: The file contains a DOCTYPE declaration" in refused.content.decode()
    assert not Workflow.objects.filter(name="Evil").exists()


def test_create_from_a_camunda_file_keeps_the_file_as_the_draft(people: dict[str, Any]) -> None:
    xml = (BPMN_FILES / "camunda_invoice.bpmn").read_text()
    upload = SimpleUploadedFile("invoice.bpmn", xml.encode())
    response = client_for(people["owner"]).post(
        reverse("designer:create"), {"name": "Invoice", "bpmn_file": upload}
    )
    assert response.status_code == 302
    assert current_draft(Workflow.objects.get(key="invoice")).bpmn_xml == xml  # type: ignore[union-attr]


# --- the canvas ----------------------------------------------------------------------------


def test_editor_hands_the_draft_its_revision_and_its_problems_to_the_canvas(
    people: dict[str, Any], workflow: Workflow
) -> None:
    save_draft(workflow, BROKEN, actor=people["owner"])
    response = client_for(people["designer"]).get(reverse("designer:edit", args=["purchase"]))
    assert response.status_code == 200
    config = config_of(response)
    draft = current_draft(workflow)
    assert draft is not None
    assert (config["mode"], config["draft"], config["revision"]) == ("edit", draft.pk, draft.revision)
    errors = {p["element_id"] for p in config["problems"] if p["severity"] == "error"}
    assert {"approve", "choose"} <= errors
    label = next(p["label"] for p in config["problems"] if p["element_id"] == "choose")
    assert label == "Decision “Which way?”"
    assert config["canPublish"] is False  # desi designs but does not publish
    assert "bpmn-modeler.production.min.js" in response.content.decode()
    assert 'id="designer-panel"' in response.content.decode()


def test_editor_hands_the_block_registrys_palette_to_the_canvas(
    people: dict[str, Any], workflow: Workflow
) -> None:
    response = client_for(people["designer"]).get(reverse("designer:edit", args=["purchase"]))
    palette = config_of(response)["palette"]
    assert palette == blocks.palette()
    assert palette["blocks"][0]["key"] == "start" and "approval" in palette["appends"]


def test_editor_breadcrumb_names_the_workflow_not_its_key(people: dict[str, Any], workflow: Workflow) -> None:
    page = client_for(people["designer"]).get(reverse("designer:edit", args=["purchase"])).content.decode()
    assert '<li class="breadcrumb-item active" aria-current="page">Purchase</li>' in page
    assert 'aria-current="page">purchase<' not in page  # the key, an address's part, is no one's name


def test_editor_without_a_draft_starts_from_the_published_version(
    people: dict[str, Any], workflow: Workflow
) -> None:
    version = publish_version(current_draft(workflow), actor=people["owner"])  # type: ignore[arg-type]
    response = client_for(people["owner"]).get(reverse("designer:edit", args=["purchase"]))
    config = config_of(response)
    assert (config["draft"], config["revision"], config["basisNumber"]) == (None, 0, 1)
    assert "No changes since version 1" in response.content.decode()
    assert script_data(response, "designer-xml") == version.bpmn_xml and config["problems"] == []


def test_save_stores_the_draft_and_answers_the_new_revision_with_problems(
    people: dict[str, Any], workflow: Workflow
) -> None:
    draft = current_draft(workflow)
    assert draft is not None
    response = save(client_for(people["designer"]), "purchase", BROKEN, draft.pk, draft.revision)
    assert response.status_code == 200
    data = response.json()
    assert data["draft"] == draft.pk and data["revision"] == draft.revision + 1
    assert data["ok"] is False and {p["element_id"] for p in data["problems"]} >= {"approve", "choose"}
    draft.refresh_from_db()
    assert draft.bpmn_xml == BROKEN


def test_a_stale_revision_is_a_conflict_that_overwrites_nothing(
    people: dict[str, Any], workflow: Workflow
) -> None:
    draft = current_draft(workflow)
    assert draft is not None
    first_tab, second_tab = client_for(people["owner"]), client_for(people["designer"])
    assert (
        save(first_tab, "purchase", approval_flow(task_name="One"), draft.pk, draft.revision).status_code
        == 200
    )
    response = save(second_tab, "purchase", approval_flow(task_name="Two"), draft.pk, draft.revision)
    assert response.status_code == 409
    owner = people["owner"]
    assert (
        response.json()["detail"] == f"This draft was changed by {owner.get_full_name() or owner.username}."
    )
    assert response.json()["revision"] == draft.revision + 1
    draft.refresh_from_db()
    assert 'name="One"' in draft.bpmn_xml
    assert draft.updated_by == people["owner"]
    mine_again = save(first_tab, "purchase", approval_flow(task_name="Three"), draft.pk, draft.revision - 1)
    assert mine_again.json()["detail"] == "This draft was changed in another tab."


def test_after_publishing_the_next_change_starts_a_new_draft(
    people: dict[str, Any], workflow: Workflow
) -> None:
    draft = current_draft(workflow)
    assert draft is not None
    client = client_for(people["owner"])
    published = client.post(
        reverse("designer:publish", args=["purchase"]), {"draft": draft.pk, "revision": draft.revision}
    )
    assert published.status_code == 200 and published.json()["number"] == 1
    # The editor still holds (draft id, revision) of what is now version 1: no conflict.
    response = save(client, "purchase", approval_flow(task_name="Next"), draft.pk, draft.revision)
    assert response.status_code == 200
    new = current_draft(workflow)
    assert new is not None and new.pk != draft.pk and response.json()["draft"] == new.pk


def test_a_tab_whose_draft_was_published_with_unseen_changes_is_told(
    people: dict[str, Any], workflow: Workflow
) -> None:
    draft = current_draft(workflow)
    assert draft is not None
    stale_revision = draft.revision
    save_draft(workflow, approval_flow(task_name="Changed"), actor=people["owner"])
    publish_version(current_draft(workflow), actor=people["owner"])  # type: ignore[arg-type]
    response = save(client_for(people["designer"]), "purchase", approval_flow(), draft.pk, stale_revision)
    assert response.status_code == 409
    assert "published as version 1 by Dana Designer" in response.json()["detail"]
    assert current_draft(workflow) is None


def test_a_tab_that_had_no_draft_is_told_when_another_started_one(
    people: dict[str, Any], workflow: Workflow
) -> None:
    publish_version(current_draft(workflow), actor=people["owner"])  # type: ignore[arg-type]
    first, second = client_for(people["owner"]), client_for(people["designer"])
    assert save(first, "purchase", approval_flow(task_name="First"), None, 0).status_code == 200
    assert save(second, "purchase", approval_flow(task_name="Second"), None, 0).status_code == 409
    assert 'name="First"' in current_draft(workflow).bpmn_xml  # type: ignore[union-attr]


def test_save_without_the_diagram_is_400(people: dict[str, Any], workflow: Workflow) -> None:
    response = client_for(people["owner"]).post(reverse("designer:save", args=["purchase"]), {"revision": 1})
    assert response.status_code == 400 and "xml" in response.json()["fields"]


def test_publish_with_errors_lists_them_and_publishes_nothing(
    people: dict[str, Any], workflow: Workflow
) -> None:
    draft, _ = save_draft(workflow, BROKEN, actor=people["owner"])
    response = client_for(people["owner"]).post(
        reverse("designer:publish", args=["purchase"]), {"draft": draft.pk, "revision": draft.revision}
    )
    assert response.status_code == 400
    assert {p["element_id"] for p in response.json()["problems"]} >= {"approve", "choose"}
    assert not workflow.versions.filter(status=WorkflowVersion.Status.PUBLISHED).exists()


def test_publish_of_a_stale_revision_is_a_conflict(people: dict[str, Any], workflow: Workflow) -> None:
    draft = current_draft(workflow)
    assert draft is not None
    save_draft(workflow, approval_flow(task_name="Newer"), actor=people["designer"])
    response = client_for(people["owner"]).post(
        reverse("designer:publish", args=["purchase"]), {"draft": draft.pk, "revision": draft.revision}
    )
    assert response.status_code == 409
    assert current_draft(workflow) is not None


def test_publish_answers_the_version_with_its_change_summary(
    people: dict[str, Any], workflow: Workflow
) -> None:
    publish_version(current_draft(workflow), actor=people["owner"])  # type: ignore[arg-type]
    draft, _ = save_draft(workflow, approval_flow(task_name="Approve order"), actor=people["owner"])
    response = client_for(people["owner"]).post(
        reverse("designer:publish", args=["purchase"]), {"draft": draft.pk, "revision": draft.revision}
    )
    data = response.json()
    assert data["number"] == 2 and data["summary"] == "Changed: Approve order."
    assert data["url"] == reverse("designer:version", args=["purchase", 2])


def test_import_replaces_the_draft_and_reports_what_baton_ignores(
    people: dict[str, Any], workflow: Workflow
) -> None:
    draft = current_draft(workflow)
    assert draft is not None
    xml = (BPMN_FILES / "camunda_invoice.bpmn").read_text()
    client = client_for(people["designer"])
    response = client.post(
        reverse("designer:import", args=["purchase"]),
        {
            "file": SimpleUploadedFile("invoice.bpmn", xml.encode()),
            "draft": draft.pk,
            "revision": draft.revision,
        },
        follow=True,
    )
    assert "Imported invoice.bpmn. 1 thing Baton cannot run or ignores" in response.content.decode()
    assert current_draft(workflow).bpmn_xml == xml  # type: ignore[union-attr]
    warnings = [p for p in config_of(response)["problems"] if p["severity"] == "warning"]
    assert "camunda:formKey" in warnings[0]["message"]


def test_import_of_a_file_that_cannot_be_opened_leaves_the_draft_alone(
    people: dict[str, Any], workflow: Workflow
) -> None:
    draft = current_draft(workflow)
    assert draft is not None
    response = client_for(people["designer"]).post(
        reverse("designer:import", args=["purchase"]),
        {
            "file": SimpleUploadedFile("x.bpmn", (BPMN_FILES / "external_entity.bpmn").read_bytes()),
            "draft": draft.pk,
            "revision": draft.revision,
        },
        follow=True,
    )
    assert "x.bpmn cannot be opened: The file contains a DOCTYPE declaration" in response.content.decode()
    assert current_draft(workflow).revision == draft.revision  # type: ignore[union-attr]


def test_import_over_a_stale_revision_is_refused(people: dict[str, Any], workflow: Workflow) -> None:
    draft = current_draft(workflow)
    assert draft is not None
    save_draft(workflow, approval_flow(task_name="Other tab"), actor=people["owner"])
    response = client_for(people["designer"]).post(
        reverse("designer:import", args=["purchase"]),
        {
            "file": SimpleUploadedFile("a.bpmn", BROKEN.encode()),
            "draft": draft.pk,
            "revision": draft.revision,
        },
        follow=True,
    )
    assert "a.bpmn was not imported: the draft changed meanwhile" in response.content.decode()
    assert 'name="Other tab"' in current_draft(workflow).bpmn_xml  # type: ignore[union-attr]


def test_save_as_copy_creates_a_workflow_owned_by_the_user(
    people: dict[str, Any], workflow: Workflow
) -> None:
    response = client_for(people["owner"]).post(reverse("designer:copy", args=["purchase"]), {"xml": BROKEN})
    assert response.status_code == 200
    copy = Workflow.objects.get(name="Purchase (copy)")
    assert response.json()["url"] == reverse("designer:edit", args=[copy.key])
    assert copy.owner == people["owner"] and current_draft(copy).bpmn_xml == BROKEN  # type: ignore[union-attr]
    # desi may design purchase but not create workflows
    assert (
        client_for(people["designer"])
        .post(reverse("designer:copy", args=["purchase"]), {"xml": BROKEN})
        .status_code
        == 403
    )


# --- versions ------------------------------------------------------------------------------


def test_versions_list_who_when_and_what_changed(people: dict[str, Any], workflow: Workflow) -> None:
    publish_version(current_draft(workflow), actor=people["owner"])  # type: ignore[arg-type]
    save_draft(workflow, approval_flow(task_name="Approve order"), actor=people["owner"])
    publish_version(current_draft(workflow), actor=people["owner"])  # type: ignore[arg-type]
    page = (
        client_for(people["designer"]).get(reverse("designer:versions", args=["purchase"])).content.decode()
    )
    assert page.index("Version 2") < page.index("Version 1")
    assert "Changed: Approve order." in page and "First version: 3 blocks." in page
    assert "Dana Designer" in page and "Live" in page and "Retired" in page


def test_an_old_version_opens_read_only_and_exports_its_xml(
    people: dict[str, Any], workflow: Workflow
) -> None:
    v1 = publish_version(current_draft(workflow), actor=people["owner"])  # type: ignore[arg-type]
    client = client_for(people["designer"])
    page = client.get(reverse("designer:version", args=["purchase", 1]))
    assert page.status_code == 200
    assert config_of(page)["mode"] == "version"
    assert "bpmn-navigated-viewer.production.min.js" in page.content.decode()
    assert "bpmn-modeler" not in page.content.decode()
    export = client.get(reverse("designer:version-export", args=["purchase", 1]))
    assert export["Content-Disposition"] == 'attachment; filename="purchase-v1.bpmn"'
    assert export.content.decode() == v1.bpmn_xml
    assert client.get(reverse("designer:version", args=["purchase", 9])).status_code == 404


def test_a_new_draft_can_start_from_any_version(people: dict[str, Any], workflow: Workflow) -> None:
    v1 = publish_version(current_draft(workflow), actor=people["owner"])  # type: ignore[arg-type]
    save_draft(workflow, approval_flow(task_name="Later idea"), actor=people["owner"])
    response = client_for(people["designer"]).post(
        reverse("designer:version-new-draft", args=["purchase", 1])
    )
    assert response["Location"] == reverse("designer:edit", args=["purchase"])
    assert current_draft(workflow).bpmn_xml == v1.bpmn_xml  # type: ignore[union-attr]


# --- live view ----------------------------------------------------------------------------


def test_live_view_counts_running_instances_at_each_block_and_follows_one(
    people: dict[str, Any], workflow: Workflow
) -> None:
    version = publish_version(current_draft(workflow), actor=people["owner"])  # type: ignore[arg-type]
    first = start_instance(version, {"item": "Desk"}, initiator=people["owner"])
    start_instance(version, {"item": "Chair"}, initiator=people["owner"])
    client = client_for(people["owner"])

    page = client.get(reverse("designer:live", args=["purchase"]))
    assert page.status_code == 200
    live = config_of(page)["live"]
    assert live["counts"] == {"approve": {"waiting": 2, "incidents": 0}} and live["running"] == 2

    data = client.get(reverse("designer:live-data", args=["purchase"]), {"instance": str(first.pk)}).json()
    path = data["instance"]
    assert path["visited"] == ["start"] and path["current"] == ["approve"]
    assert path["flows"] == ["f_start_approve"] and path["status"] == "running"
    assert [s["name"] for s in path["steps"]] == ["Start", "Approve purchase"]


def test_live_view_follows_only_instances_the_user_may_see(
    people: dict[str, Any], workflow: Workflow
) -> None:
    version = publish_version(current_draft(workflow), actor=people["owner"])  # type: ignore[arg-type]
    instance = start_instance(version, {"item": "Desk"}, initiator=people["owner"])
    client = client_for(people["designer"])  # designs purchase; did not start this request
    url = reverse("designer:live-data", args=["purchase"])
    assert client.get(url).json()["counts"]["approve"]["waiting"] == 1
    assert client.get(url, {"instance": str(instance.pk)}).status_code == 404
    assert client.get(url, {"instance": "not-a-uuid"}).status_code == 404
    assert client.get(url, {"instance": str(uuid.uuid4())}).status_code == 404


def test_live_view_of_an_unpublished_workflow_says_so(people: dict[str, Any], workflow: Workflow) -> None:
    page = client_for(people["owner"]).get(reverse("designer:live", args=["purchase"]))
    assert page.status_code == 200 and "is not published yet" in page.content.decode()
    assert (
        client_for(people["owner"]).get(reverse("designer:live-data", args=["purchase"])).status_code == 404
    )


# --- who may do what ----------------------------------------------------------------------

PAGES = [
    ("get", "designer:edit", {}),
    ("post", "designer:save", {"xml": "<x/>", "revision": 1}),
    ("post", "designer:publish", {"revision": 1, "draft": 1}),
    ("post", "designer:import", {}),
    ("post", "designer:copy", {"xml": "<x/>"}),
    ("get", "designer:versions", {}),
    ("get", "designer:live", {}),
    ("get", "designer:live-data", {}),
]
VERSION_PAGES = [
    ("get", "designer:version", {}),
    ("post", "designer:version-new-draft", {}),
    ("get", "designer:version-export", {}),
]


@pytest.mark.parametrize(("method", "name", "data"), PAGES + VERSION_PAGES)
def test_every_designer_url_is_404_to_outsiders_and_403_to_viewers(
    people: dict[str, Any], workflow: Workflow, method: str, name: str, data: dict[str, Any]
) -> None:
    publish_version(current_draft(workflow), actor=people["owner"])  # type: ignore[arg-type]
    args = ["purchase", 1] if (method, name, data) in VERSION_PAGES else ["purchase"]
    url = reverse(name, args=args)
    for user, status in ((people["outsider"], 404), (people["viewer"], 403)):
        response = getattr(client_for(user), method)(url, data)
        assert response.status_code == status, (user, response.status_code)
    assert Client().get(url).status_code in (302, 405)  # anonymous: to the sign-in page


def test_publishing_needs_the_publish_permission(people: dict[str, Any], workflow: Workflow) -> None:
    draft = current_draft(workflow)
    assert draft is not None
    response = client_for(people["designer"]).post(
        reverse("designer:publish", args=["purchase"]), {"draft": draft.pk, "revision": draft.revision}
    )
    assert response.status_code == 403
    assert not workflow.versions.filter(status=WorkflowVersion.Status.PUBLISHED).exists()


def test_operators_see_the_live_view_without_designing(people: dict[str, Any], workflow: Workflow) -> None:
    publish_version(current_draft(workflow), actor=people["owner"])  # type: ignore[arg-type]
    assign_perm("orchestration.change_workflow", people["viewer"], workflow)
    client = client_for(people["viewer"])
    assert client.get(reverse("designer:live", args=["purchase"])).status_code == 200
    assert client.get(reverse("designer:edit", args=["purchase"])).status_code == 403
