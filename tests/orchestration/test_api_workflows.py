"""The workflows API: create, drafts (JSON, raw XML, file upload), validate, publish, versions, start."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from orchestration.definitions import save_draft
from orchestration.encryption import decrypt
from orchestration.engine import REQUEST_INLINE_BLOCKS
from orchestration.models import Event, Outbox, ProcessInstance, Step, Workflow, WorkflowVersion
from tests import bpmn
from tests.orchestration.conftest import Client
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


# What the Camunda Modeler writes: vendor attributes, DI, isExecutable="false", and an
# Approval without a Baton assignee.
CAMUNDA_XML = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_1"
  targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.20.0">
  <bpmn:process id="Process_leave" name="Leave request" isExecutable="false" camunda:historyTimeToLive="180">
    <bpmn:startEvent id="StartEvent_1" name="Requested"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_review" name="Review request" camunda:assignee="demo">
      <bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="EndEvent_1" name="Done"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Task_review" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_review" targetRef="EndEvent_1" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="Process_leave">
      <bpmndi:BPMNShape id="Shape_start" bpmnElement="StartEvent_1">
        <dc:Bounds x="179" y="99" width="36" height="36" />
      </bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def approval_flow(approver: str = "bob") -> str:
    return bpmn.definitions(
        bpmn.start("start", bpmn.field("item", required=True), bpmn.field("amount", "number", required=True)),
        bpmn.user_task("approve", name="Approve purchase", assignee=approver),
        bpmn.end("end", outcome="done"),
        *bpmn.chain("start", "approve", "end"),
    )


@pytest.fixture
def people() -> dict[str, Any]:
    users = get_user_model()
    designer = users.objects.create_user("dana")
    designer.user_permissions.add(Permission.objects.get(codename="add_workflow"))
    return {
        "designer": designer,
        "viewer": users.objects.create_user("victor"),
        "outsider": users.objects.create_user("olga"),
        "bob": users.objects.create_user("bob"),
    }


def _create(client: APIClient, key: str = "purchase", xml: str | None = None, name: str = "Purchase") -> Any:
    body = {"key": key, "name": name, "description": "Buy things"}
    if xml is not None:
        body["bpmn_xml"] = xml
    return client.post("/api/workflows/", body, format="json")


def test_creating_a_workflow_needs_the_add_workflow_permission(api: Client, people: dict) -> None:
    refused = _create(api(people["outsider"]))

    assert refused.status_code == 403
    assert not Workflow.objects.exists()


def test_created_workflow_is_owned_by_its_creator_with_a_blank_draft(api: Client, people: dict) -> None:
    response = _create(api(people["designer"]))

    assert response.status_code == 201, response.data
    assert response.data["key"] == "purchase" and response.data["owner"] == "dana"
    assert response.data["published_version"] is None
    assert response.data["draft"]["revision"] == 1
    assert "bpmn_xml" not in response.data and "webhook_secret" not in response.data
    draft = api(people["designer"]).get("/api/workflows/purchase/draft/")
    assert draft.status_code == 200
    assert "StartEvent_1" in draft.data["bpmn_xml"]


def test_blank_draft_is_valid_xml_whatever_the_name(api: Client, people: dict) -> None:
    client = api(people["designer"])
    _create(client, key="1-buy", name='Tools & "toys" <cheap>')

    draft = client.get("/api/workflows/1-buy/draft/")

    assert draft.status_code == 200
    # One Start and nothing else: only shape problems, no parse error.
    assert all(e["element_id"] == "StartEvent_1" for e in draft.data["errors"]), draft.data["errors"]


def test_duplicate_key_is_refused_naming_the_field(api: Client, people: dict) -> None:
    client = api(people["designer"])
    _create(client)

    response = _create(client)

    assert response.status_code == 400
    assert "key" in response.data


def test_list_shows_only_workflows_the_user_may_view(api: Client, people: dict) -> None:
    publish(approval_flow(), key="mine", owner=people["viewer"])
    publish(approval_flow(), key="theirs", owner=people["designer"])

    response = api(people["viewer"]).get("/api/workflows/")

    assert response.status_code == 200
    assert [w["key"] for w in response.data["results"]] == ["mine"]
    assert response.data["results"][0]["published_version"] == 1


def test_the_list_costs_the_same_queries_for_2_and_for_20_workflows(api: Client, people: dict) -> None:
    def add(numbers: range) -> None:
        for n in numbers:
            workflow = publish(approval_flow(), key=f"w{n:02}", owner=people["viewer"]).workflow
            save_draft(workflow, approval_flow(), actor=people["designer"])

    client = api(people["viewer"])
    add(range(2))
    with CaptureQueriesContext(connection) as two:
        assert len(client.get("/api/workflows/").data["results"]) == 2
    add(range(2, 20))
    with CaptureQueriesContext(connection) as twenty:
        response = client.get("/api/workflows/")

    assert len(response.data["results"]) == 20
    assert len(twenty.captured_queries) == len(two.captured_queries)
    first = response.data["results"][0]
    assert first["published_version"] == 1 and first["owner"] == "victor"
    assert first["draft"]["revision"] == 1 and first["draft"]["created_by"] == "dana"


def test_camunda_file_upload_is_saved_with_errors_and_warnings_naming_elements(
    api: Client, people: dict
) -> None:
    client = api(people["designer"])
    _create(client)
    upload = SimpleUploadedFile("leave.bpmn", CAMUNDA_XML.encode(), content_type="application/octet-stream")

    response = client.put(
        "/api/workflows/purchase/draft/", {"file": upload, "revision": 1}, format="multipart"
    )

    assert response.status_code == 200, response.data
    assert response.data["revision"] == 2 and response.data["ok"] is False
    [error] = response.data["errors"]
    assert error["element_id"] == "Task_review" and error["element_name"] == "Review request"
    assert "assignee" in error["message"]
    assert set(error) == {"element_id", "element_name", "message", "line", "column"}
    assert any("camunda:assignee" in w["message"] for w in response.data["warnings"])
    assert WorkflowVersion.objects.get(workflow__key="purchase").bpmn_xml == CAMUNDA_XML


def test_raw_xml_body_is_saved_as_the_draft(api: Client, people: dict) -> None:
    client = api(people["designer"])
    _create(client)

    response = client.put(
        "/api/workflows/purchase/draft/?revision=1", approval_flow(), content_type="application/xml"
    )

    assert response.status_code == 200, response.data
    assert response.data == {"revision": 2, "ok": True, "errors": [], "warnings": []}


def test_text_xml_and_json_bodies_are_accepted_too(api: Client, people: dict) -> None:
    client = api(people["designer"])
    _create(client)

    as_text = client.put("/api/workflows/purchase/draft/", approval_flow(), content_type="text/xml")
    as_json = client.put(
        "/api/workflows/purchase/draft/", {"bpmn_xml": approval_flow(), "revision": 2}, format="json"
    )

    assert as_text.status_code == 200 and as_text.data["revision"] == 2
    assert as_json.status_code == 200 and as_json.data["revision"] == 3


def test_upload_that_is_not_utf8_is_400_naming_the_file(api: Client, people: dict) -> None:
    client = api(people["designer"])
    _create(client)
    upload = SimpleUploadedFile("old.bpmn", "<é/>".encode("latin-1"))

    as_file = client.put("/api/workflows/purchase/draft/", {"file": upload}, format="multipart")
    as_body = client.put(
        "/api/workflows/purchase/draft/", "<é/>".encode("latin-1"), content_type="application/xml"
    )

    assert as_file.status_code == 400 and as_file.data == {"file": ["Send the diagram as UTF-8 text."]}
    assert as_body.status_code == 400 and "UTF-8" in as_body.data["detail"]


@pytest.mark.parametrize("where", ["file", "body", "json"])
def test_a_nul_character_in_a_diagram_is_a_400_not_a_storage_error(api: Client, people: dict, where) -> None:
    client = api(people["designer"])
    _create(client)
    xml = approval_flow().replace("Approve purchase", "Approve\x00purchase")
    assert "\x00" in xml
    url = "/api/workflows/purchase/draft/"

    if where == "file":
        upload = SimpleUploadedFile("nul.bpmn", xml.encode())
        response = client.put(url, {"file": upload}, format="multipart")
    elif where == "body":
        response = client.put(url, xml.encode(), content_type="application/xml")
    else:
        response = client.put(url, {"bpmn_xml": xml}, format="json")

    assert response.status_code == 400
    assert "NUL" in str(response.data) or "Null characters" in str(response.data)
    assert client.get(url).status_code == 200  # the stored draft is untouched and still readable


def test_saving_over_someone_elses_save_is_a_conflict_with_the_current_revision(
    api: Client, people: dict
) -> None:
    client = api(people["designer"])
    _create(client)
    client.put("/api/workflows/purchase/draft/", {"bpmn_xml": approval_flow(), "revision": 1}, format="json")

    stale = client.put(
        "/api/workflows/purchase/draft/", {"bpmn_xml": approval_flow("carol"), "revision": 1}, format="json"
    )

    assert stale.status_code == 409
    assert (
        stale.data["revision"] == 2 and stale.data["detail"] == "The draft was changed by dana (revision 2)."
    )


def test_draft_save_without_xml_names_the_missing_field(api: Client, people: dict) -> None:
    client = api(people["designer"])
    _create(client)

    response = client.put("/api/workflows/purchase/draft/", {"revision": 1}, format="json")

    assert response.status_code == 400 and "bpmn_xml" in response.data


def test_malformed_xml_is_reported_with_its_line(api: Client, people: dict) -> None:
    client = api(people["designer"])
    _create(client)

    response = client.put(
        "/api/workflows/purchase/draft/", "<bpmn:definitions\n  <oops>", content_type="application/xml"
    )

    assert response.status_code == 200
    [error] = response.data["errors"]
    assert error["element_id"] is None and error["line"] is not None
    assert "not well-formed" in error["message"]


def test_validate_checks_xml_without_saving(api: Client, people: dict) -> None:
    client = api(people["designer"])
    _create(client, xml=approval_flow())
    broken = bpmn.definitions(bpmn.start("start"), bpmn.script("t", '{"x": 1}', name="Set x"))

    response = client.post("/api/workflows/purchase/validate/", {"bpmn_xml": broken}, format="json")
    of_draft = client.post("/api/workflows/purchase/validate/", {}, format="json")

    assert response.status_code == 200 and response.data["ok"] is False
    assert {"start", "t"} <= {e["element_id"] for e in response.data["errors"]}
    assert of_draft.data["ok"] is True
    assert WorkflowVersion.objects.get(workflow__key="purchase").bpmn_xml == approval_flow()


def test_publishing_a_draft_with_errors_lists_every_error_by_element(api: Client, people: dict) -> None:
    client = api(people["designer"])
    _create(client, xml=CAMUNDA_XML)

    response = client.post("/api/workflows/purchase/publish/", {}, format="json")

    assert response.status_code == 400
    assert [e["element_id"] for e in response.data["errors"]] == ["Task_review"]
    assert not WorkflowVersion.objects.filter(status=WorkflowVersion.Status.PUBLISHED).exists()


def test_publish_freezes_the_draft_as_version_one(api: Client, people: dict) -> None:
    client = api(people["designer"])
    _create(client, xml=approval_flow())

    response = client.post("/api/workflows/purchase/publish/", {"revision": 1}, format="json")

    assert response.status_code == 201, response.data
    assert response.data["number"] == 1 and response.data["status"] == "published"
    assert response.data["published_by"] == "dana"
    assert client.get("/api/workflows/purchase/").data["published_version"] == 1
    assert client.get("/api/workflows/purchase/draft/").status_code == 404
    again = client.post("/api/workflows/purchase/publish/", {}, format="json")
    assert again.status_code == 409


def test_publishing_a_revision_saved_over_since_is_a_conflict(api: Client, people: dict) -> None:
    client = api(people["designer"])
    _create(client, xml=approval_flow())
    client.put("/api/workflows/purchase/draft/", {"bpmn_xml": approval_flow(), "revision": 1}, format="json")

    response = client.post("/api/workflows/purchase/publish/", {"revision": 1}, format="json")

    assert response.status_code == 409 and response.data["revision"] == 2
    assert "revision 2" in response.data["detail"]
    assert not WorkflowVersion.objects.filter(status=WorkflowVersion.Status.PUBLISHED).exists()


def test_versions_list_download_and_new_draft(api: Client, people: dict) -> None:
    client = api(people["designer"])
    publish(approval_flow(), key="purchase", owner=people["designer"])

    versions = client.get("/api/workflows/purchase/versions/")
    download = client.get("/api/workflows/purchase/versions/1/bpmn/")
    missing = client.get("/api/workflows/purchase/versions/7/bpmn/")
    drafted = client.post("/api/workflows/purchase/versions/1/new-draft/")

    assert versions.status_code == 200
    [v1] = versions.data
    assert v1["number"] == 1 and v1["published_by"] == "dana" and len(v1["checksum"]) == 64
    assert v1["change_summary"].startswith("First version")
    assert download.status_code == 200
    assert download["Content-Type"].startswith("application/xml")
    assert download["Content-Disposition"] == 'attachment; filename="purchase-v1.bpmn"'
    assert download.content.decode() == approval_flow()
    assert missing.status_code == 404
    assert drafted.status_code == 201 and drafted.data["bpmn_xml"] == approval_flow()
    assert drafted.data["ok"] is True


def test_start_creates_an_instance_waiting_for_its_approval(api: Client, people: dict) -> None:
    publish(approval_flow(), key="purchase", owner=people["designer"])

    response = api(people["designer"]).post(
        "/api/workflows/purchase/start/",
        {"data": {"item": "desk", "amount": 120}, "business_key": "PO-1"},
        format="json",
    )

    assert response.status_code == 201, response.data
    assert response.data["status"] == "running" and response.data["business_key"] == "PO-1"
    assert response.data["variables"] == {"item": "desk", "amount": 120.0}
    assert response.data["initiator"] == "dana" and response.data["version"] == 1
    waiting = [step for step in response.data["steps"] if step["status"] == "waiting"]
    assert waiting[0]["node_id"] == "approve" and waiting[0]["tasks"][0]["assignee"] == "bob"


def test_starting_a_five_thousand_block_flow_runs_only_the_requests_share_and_hands_the_rest_on(
    api: Client, people: dict
) -> None:
    publish(bpmn.linear_inline(5000), key="long", owner=people["designer"])

    response = api(people["designer"]).post("/api/workflows/long/start/", {"data": {}}, format="json")

    assert response.status_code == 201, response.data
    instance = ProcessInstance.objects.get(id=response.data["id"])
    assert instance.status == ProcessInstance.Status.RUNNING and not instance.has_incident
    ran = Step.objects.filter(instance=instance, status=Step.Status.COMPLETED)
    assert ran.count() == REQUEST_INLINE_BLOCKS
    [handed_off] = Step.objects.filter(instance=instance, status=Step.Status.ACTIVE)
    assert handed_off.node_id == f"set{REQUEST_INLINE_BLOCKS - 1}"
    [row] = Outbox.objects.filter(step__isnull=True)
    assert (row.task, row.args) == ("orchestration.continue_run", [str(instance.id)])
    assert Event.objects.filter(instance=instance, kind="instance.handed_off").exists()


def test_start_with_bad_data_is_400_naming_each_field(api: Client, people: dict) -> None:
    publish(approval_flow(), key="purchase", owner=people["designer"])

    response = api(people["designer"]).post(
        "/api/workflows/purchase/start/", {"data": {"amount": "lots", "colour": "red"}}, format="json"
    )

    assert response.status_code == 400
    assert response.data["data"] == {
        "colour": ["Not a field of this workflow's start form."],
        "item": ["This field is required."],
        "amount": ["Enter a number."],
    }
    assert not ProcessInstance.objects.exists()


def test_start_body_must_carry_an_object_of_data(api: Client, people: dict) -> None:
    publish(approval_flow(), key="purchase", owner=people["designer"])

    response = api(people["designer"]).post("/api/workflows/purchase/start/", {"data": [1]}, format="json")

    assert response.status_code == 400 and "data" in response.data


def test_starting_a_workflow_never_published_is_a_conflict(api: Client, people: dict) -> None:
    client = api(people["designer"])
    _create(client, xml=approval_flow())

    response = client.post("/api/workflows/purchase/start/", {"data": {}}, format="json")

    assert response.status_code == 409 and "no published version" in response.data["detail"]


def test_viewer_may_read_but_every_change_is_forbidden(api: Client, people: dict) -> None:
    version = publish(approval_flow(), key="purchase", owner=people["designer"])
    assign_perm("orchestration.view_workflow", people["viewer"], version.workflow)
    client = api(people["viewer"])

    reads = [
        client.get("/api/workflows/purchase/"),
        client.get("/api/workflows/purchase/versions/"),
    ]
    writes = [
        client.get("/api/workflows/purchase/versions/1/bpmn/"),  # the diagram is for designers
        client.get("/api/workflows/purchase/draft/"),
        client.patch("/api/workflows/purchase/", {"name": "Mine now"}, format="json"),
        client.put("/api/workflows/purchase/draft/", {"bpmn_xml": approval_flow()}, format="json"),
        client.post("/api/workflows/purchase/validate/", {"bpmn_xml": approval_flow()}, format="json"),
        client.post("/api/workflows/purchase/publish/", {}, format="json"),
        client.post("/api/workflows/purchase/versions/1/new-draft/"),
        client.post("/api/workflows/purchase/start/", {"data": {"item": "x", "amount": 1}}, format="json"),
        client.post("/api/workflows/purchase/webhook-secret/"),
        client.delete("/api/workflows/purchase/webhook-secret/"),
    ]

    assert [r.status_code for r in reads] == [200, 200]
    assert [r.status_code for r in writes] == [403] * len(writes)
    assert "start workflow" in writes[7].data["detail"]
    assert not ProcessInstance.objects.exists()
    assert Workflow.objects.get().name == "Purchase"


def test_user_without_view_permission_gets_404_everywhere(api: Client, people: dict) -> None:
    publish(approval_flow(), key="purchase", owner=people["designer"])
    client = api(people["outsider"])

    responses = [
        client.get("/api/workflows/purchase/"),
        client.get("/api/workflows/purchase/draft/"),
        client.put("/api/workflows/purchase/draft/", {"bpmn_xml": approval_flow()}, format="json"),
        client.post("/api/workflows/purchase/validate/", {}, format="json"),
        client.post("/api/workflows/purchase/publish/", {}, format="json"),
        client.get("/api/workflows/purchase/versions/"),
        client.get("/api/workflows/purchase/versions/1/bpmn/"),
        client.post("/api/workflows/purchase/versions/1/new-draft/"),
        client.post("/api/workflows/purchase/start/", {"data": {"item": "x", "amount": 1}}, format="json"),
        client.post("/api/workflows/purchase/webhook-secret/"),
    ]

    assert [r.status_code for r in responses] == [404] * len(responses)
    assert client.get("/api/workflows/").data["results"] == []
    assert b"Approve purchase" not in b"".join(r.content for r in responses)


def test_designer_may_rename_but_not_rekey(api: Client, people: dict) -> None:
    client = api(people["designer"])
    _create(client)

    response = client.patch("/api/workflows/purchase/", {"name": "Buying", "key": "other"}, format="json")

    assert response.status_code == 200
    assert response.data["name"] == "Buying" and response.data["key"] == "purchase"


def test_webhook_secret_is_shown_once_when_rotated_and_never_listed(api: Client, people: dict) -> None:
    client = api(people["designer"])
    _create(client)

    rotated = client.post("/api/workflows/purchase/webhook-secret/")

    assert rotated.status_code == 200
    secret = rotated.data["webhook_secret"]
    assert len(secret) >= 32 and rotated.data["url"].endswith("/hooks/purchase/")
    stored = Workflow.objects.get().webhook_secret
    assert secret not in stored and decrypt(stored) == secret  # encrypted at rest
    for response in (client.get("/api/workflows/"), client.get("/api/workflows/purchase/")):
        assert secret not in response.content.decode()
    assert client.get("/api/workflows/purchase/").data["webhook_enabled"] is True
    assert client.delete("/api/workflows/purchase/webhook-secret/").status_code == 204
    assert Workflow.objects.get().webhook_secret == ""


def test_anonymous_requests_are_refused(people: dict) -> None:
    publish(approval_flow(), key="purchase", owner=people["designer"])

    response = APIClient().get("/api/workflows/purchase/")

    assert response.status_code == 401
