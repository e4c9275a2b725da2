"""The incidents API: listing failed steps and retrying or skipping them, with permissions."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from guardian.shortcuts import assign_perm

from orchestration.engine import start_instance
from orchestration.models import Incident, ProcessInstance
from tests import bpmn
from tests.orchestration.conftest import Client
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def people() -> dict[str, Any]:
    users = get_user_model()
    return {name: users.objects.create_user(name) for name in ("owner", "alice", "victor", "olga")}


@pytest.fixture
def incident(people: dict) -> Incident:
    """Dividing by a count of zero fails inline: an incident without any worker."""
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("count", "integer", required=True)),
        bpmn.script("divide", '{"share": 100 / count}', name="Share out"),
        bpmn.end(),
        *bpmn.chain("start", "divide", "end"),
    )
    version = publish(xml, key="divide", owner=people["owner"])
    instance = start_instance(version, {"count": 0}, initiator=people["alice"])
    return Incident.objects.get(instance=instance)


def test_open_incidents_are_listed_with_the_failed_step(
    api: Client, people: dict, incident: Incident
) -> None:
    response = api(people["owner"]).get("/api/incidents/")

    assert response.status_code == 200
    [listed] = response.data["results"]
    assert listed["id"] == incident.id and listed["instance"] == str(incident.instance_id)
    assert (
        listed["workflow"] == "divide"
        and listed["node_id"] == "divide"
        and listed["node_name"] == "Share out"
    )
    assert "divide by zero" in listed["error"] and listed["resolved_at"] is None


def test_outsider_sees_no_incident_and_cannot_act_on_one(
    api: Client, people: dict, incident: Incident
) -> None:
    client = api(people["olga"])

    listing = client.get("/api/incidents/")
    detail = client.get(f"/api/incidents/{incident.id}/")
    retry = client.post(f"/api/incidents/{incident.id}/retry/", {}, format="json")
    skip = client.post(f"/api/incidents/{incident.id}/skip/", {}, format="json")

    assert listing.data["results"] == []
    assert [detail.status_code, retry.status_code, skip.status_code] == [404, 404, 404]
    assert "divide by zero" not in detail.content.decode()


def test_catalog_viewers_do_not_see_incidents_and_initiators_may_not_retry_or_skip(
    api: Client, people: dict, incident: Incident
) -> None:
    assign_perm("orchestration.view_workflow", people["victor"], incident.instance.workflow)

    viewer = [
        api(people["victor"]).post(f"/api/incidents/{incident.id}/{op}/", {}, format="json")
        for op in ("retry", "skip")
    ]
    initiator = [
        api(people["alice"]).post(f"/api/incidents/{incident.id}/{op}/", {}, format="json")
        for op in ("retry", "skip")
    ]

    assert api(people["victor"]).get(f"/api/incidents/{incident.id}/").status_code == 404
    assert api(people["alice"]).get(f"/api/incidents/{incident.id}/").status_code == 200
    assert [r.status_code for r in viewer] == [404, 404]
    assert [r.status_code for r in initiator] == [403, 403]
    incident.refresh_from_db()
    assert incident.resolved_at is None


def test_retry_with_corrected_variables_resolves_the_incident(
    api: Client, people: dict, incident: Incident
) -> None:
    response = api(people["owner"]).post(
        f"/api/incidents/{incident.id}/retry/", {"variables": {"count": 4}}, format="json"
    )

    assert response.status_code == 200, response.data
    assert response.data["resolution"] == "retried" and response.data["resolved_by"] == "owner"
    instance = ProcessInstance.objects.get(id=incident.instance_id)
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.variables["share"] == 25
    assert api(people["owner"]).get("/api/incidents/").data["results"] == []
    resolved = api(people["owner"]).get("/api/incidents/?resolved=true").data["results"]
    assert [i["id"] for i in resolved] == [incident.id]


def test_skip_sets_the_result_and_a_second_resolution_is_a_conflict(
    api: Client, people: dict, incident: Incident
) -> None:
    client = api(people["owner"])

    skipped = client.post(f"/api/incidents/{incident.id}/skip/", {"variables": {"share": 0}}, format="json")
    again = client.post(f"/api/incidents/{incident.id}/retry/", {}, format="json")

    assert skipped.status_code == 200 and skipped.data["resolution"] == "skipped"
    instance = ProcessInstance.objects.get(id=incident.instance_id)
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.variables["share"] == 0
    assert again.status_code == 409 and "already skipped" in again.data["detail"]


def test_fix_variables_must_be_an_object(api: Client, people: dict, incident: Incident) -> None:
    response = api(people["owner"]).post(
        f"/api/incidents/{incident.id}/retry/", {"variables": [4]}, format="json"
    )

    assert response.status_code == 400 and "variables" in response.data


def test_resolved_filter_must_be_a_boolean(api: Client, people: dict, incident: Incident) -> None:
    response = api(people["owner"]).get("/api/incidents/?resolved=maybe")

    assert response.status_code == 400 and "resolved" in response.data


def test_corrected_values_that_do_not_fit_are_a_400_naming_them(
    api: Client, people: dict, incident: Incident
) -> None:
    response = api(people["owner"]).post(
        f"/api/incidents/{incident.id}/retry/",
        {"variables": {"count": "many", "colour": "red"}},
        format="json",
    )

    assert response.status_code == 400
    assert response.data == {
        "variables": {"count": ["Enter a whole number."], "colour": ["The process has no data of this name."]}
    }
    incident.refresh_from_db()
    assert incident.resolved_at is None
