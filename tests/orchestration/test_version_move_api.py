"""``/api/version-moves/``: dry run and apply through the API, bad input named, access rules."""

from __future__ import annotations

from typing import Any

import pytest
from guardian.shortcuts import assign_perm

from orchestration.models import Event, ProcessInstance
from tests.orchestration.conftest import Client
from tests.orchestration.ops_data import OpsData, make_ops_data
from tests.orchestration.test_version_move_views import _v2

pytestmark = pytest.mark.django_db

URL = "/api/version-moves/"


@pytest.fixture
def data() -> OpsData:
    return make_ops_data()


def _version(instance: ProcessInstance) -> int | None:
    return ProcessInstance.objects.get(id=instance.id).version.number


def test_a_dry_run_lists_each_request_and_the_blocks_to_map(api: Client, data: OpsData) -> None:
    waiting = data.start("Desk lamp", 4)
    stuck = data.start("Printer paper", 0)
    _v2(data)

    response = api(data.people["owner"]).post(
        URL, {"workflow": "divide", "version": 1, "target": 2, "dry_run": True}, format="json"
    )

    assert response.status_code == 200, response.data
    body = response.data
    assert (body["dry_run"], body["moved"], body["cannot_move"]) == (True, 1, 1)
    by_id = {r["instance"]: r for r in body["requests"]}
    assert by_id[str(stuck.id)]["moves"][0]["target"] == "divide"
    assert "no longer has" in by_id[str(waiting.id)]["problems"][0]
    [block] = body["blocks_to_map"]
    assert block["block"] == "approve" and block["choices"] == [{"block": "final", "name": "Final approval"}]
    assert _version(waiting) == 1 and not Event.objects.filter(kind="instance.migrated").exists()


def test_applying_with_a_mapping_moves_only_the_requests_named(api: Client, data: OpsData) -> None:
    lamp = data.start("Desk lamp", 4)
    chair = data.start("Chair", 2)
    _v2(data)

    response = api(data.people["owner"]).post(
        URL,
        {
            "workflow": "divide",
            "version": 1,
            "target": 2,
            "instances": [str(lamp.id)],
            "mapping": {"approve": "final"},
            "reason": "New stamp",
        },
        format="json",
    )

    assert response.status_code == 200 and response.data["moved"] == 1
    assert response.data["requests"][0]["moved"] is True
    assert (_version(lamp), _version(chair)) == (2, 1)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version": 1, "target": 2}, "reason"),
        ({"version": 1, "target": 9, "dry_run": True}, "target"),
        ({"version": 1, "target": 2, "dry_run": True, "mapping": {"approve": "start"}}, "mapping"),
        ({"version": 1, "target": 2, "dry_run": True, "instances": ["nope"]}, "instances"),
        ({"version": "one", "target": 2, "dry_run": True}, "version"),
    ],
)
def test_bad_input_gets_a_400_naming_the_field(
    api: Client, data: OpsData, body: dict[str, Any], field: str
) -> None:
    instance = data.start("Desk lamp", 4)
    _v2(data)

    response = api(data.people["owner"]).post(URL, {"workflow": "divide", **body}, format="json")

    assert response.status_code == 400 and field in response.data
    assert _version(instance) == 1


def test_outsiders_get_404_and_viewers_403(api: Client, data: OpsData) -> None:
    instance = data.start("Desk lamp", 4)
    _v2(data)
    assign_perm("orchestration.view_workflow", data.people["victor"], data.divide.workflow)
    body = {"workflow": "divide", "version": 1, "target": 2, "mapping": {"approve": "final"}, "reason": "x"}

    assert api(data.people["olga"]).post(URL, body, format="json").status_code == 404
    assert api(data.people["victor"]).post(URL, body, format="json").status_code == 403
    assert api(data.people["alice"]).post(URL, body, format="json").status_code == 404
    assert _version(instance) == 1
