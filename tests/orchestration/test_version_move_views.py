"""The "Move requests to a new version" page: selection, dry run, mapping, apply, and who may use it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from guardian.shortcuts import assign_perm

from orchestration.definitions import publish_version, save_draft
from orchestration.engine import start_instance
from orchestration.models import Event, ProcessInstance, Step, WorkflowVersion
from tests import bpmn
from tests.orchestration.factories import publish
from tests.orchestration.ops_data import DIVIDE_XML, OpsData, make_ops_data

pytestmark = pytest.mark.django_db

URL = "/operations/move-to-version/"

# Version 2 of "Divide the budget": the approval is renamed "Final approval" under a new id, and a
# stamp is added after it.
V2_XML = bpmn.definitions(
    bpmn.start(
        "start", bpmn.field("item", "string", required=True), bpmn.field("count", "integer", required=True)
    ),
    bpmn.script("divide", '{"share": 100 / count}', name="Share out"),
    bpmn.user_task("final", name="Final approval", assignee="owner"),
    bpmn.script("stamp", '{"stamped": true}', name="Stamp"),
    bpmn.end(outcome="approved"),
    *bpmn.chain("start", "divide", "final", "stamp", "end"),
)


@pytest.fixture
def data() -> OpsData:
    return make_ops_data()


def _v2(data: OpsData) -> WorkflowVersion:
    draft, _ = save_draft(data.divide.workflow, V2_XML)
    return publish_version(draft)


def _client(data: OpsData, name: str) -> Client:
    client = Client()
    client.force_login(data.people[name])
    return client


def _versions(*instances: ProcessInstance) -> list[int | None]:
    return [ProcessInstance.objects.get(id=i.id).version.number for i in instances]


def test_a_dry_run_lists_what_happens_to_each_request_and_changes_nothing(data: OpsData) -> None:
    waiting = data.start("Desk lamp", 4)
    stuck = data.start("Printer paper", 0)
    _v2(data)
    client = _client(data, "owner")

    page = client.get(URL, {"workflow": "divide"})
    assert page.status_code == 200 and page.context["version"] == 1 and page.context["target"] == 2
    assert [b.node_id for b in page.context["blocks"]] == ["approve"]
    response = client.post(f"{URL}?workflow=divide&version=1&target=2", {"action": "dry_run"})

    assert response.status_code == 200
    result = response.context["result"]
    assert result.dry_run and result.summary == "1 request can move; 1 cannot move."
    assert [(p.reference, p.moves[0].target_name) for p in result.movable] == [(stuck.reference, "Share out")]
    assert result.refused[0].reference == waiting.reference
    text = response.content.decode()
    assert "It waits at “Manager approval”, which the new version no longer has" in text
    assert _versions(waiting, stuck) == [1, 1] and not Event.objects.filter(kind="instance.migrated").exists()


def test_moving_with_a_chosen_block_moves_every_request_with_the_reason(data: OpsData) -> None:
    waiting = data.start("Desk lamp", 4)
    stuck = data.start("Printer paper", 0)
    _v2(data)

    response = _client(data, "owner").post(
        f"{URL}?workflow=divide&version=1&target=2",
        {"action": "apply", "reason": "New stamp", "map-approve": "final"},
        follow=True,
    )

    assert response.redirect_chain == [(f"{URL}?workflow=divide&version=1&target=2", 302)]
    assert response.context["result"].summary == "2 requests moved."
    assert _versions(waiting, stuck) == [2, 2]
    assert Step.objects.get(instance=waiting, kind="user_task").node_id == "final"
    events = Event.objects.filter(kind="instance.migrated")
    assert events.count() == 2 and {e.data["reason"] for e in events} == {"New stamp"}
    assert events.get(instance=waiting).actor == data.people["owner"]


def test_the_list_filters_narrow_the_requests_that_move(data: OpsData) -> None:
    lamp = data.start("Desk lamp", 4)
    chair = data.start("Chair", 2)
    _v2(data)

    response = _client(data, "owner").post(
        f"{URL}?workflow=divide&version=1&target=2&q=lamp",
        {"action": "apply", "reason": "Only the lamp", "map-approve": "final"},
        follow=True,
    )

    assert response.context["selected"] == 0  # counted after the move: the lamp left version 1
    assert _versions(lamp, chair) == [2, 1]


def test_reloading_the_page_after_a_move_shows_the_result_once_and_moves_nothing_again(data: OpsData) -> None:
    waiting = data.start("Desk lamp", 4)
    _v2(data)
    client = _client(data, "owner")
    address = f"{URL}?workflow=divide&version=1&target=2"

    moved = client.post(address, {"action": "apply", "reason": "New stamp", "map-approve": "final"})
    assert moved.status_code == 302 and moved["Location"] == address
    shown = client.get(address)
    again = client.get(address)  # the reload

    assert (
        "1 request moved." in shown.content.decode() and shown.context["result"].summary == "1 request moved."
    )
    assert again.context["result"] is None and "request moved" not in again.content.decode()
    assert _versions(waiting) == [2]
    assert Event.objects.filter(kind="instance.migrated").count() == 1


def test_the_requests_ticked_in_the_list_are_the_only_ones_that_move(data: OpsData) -> None:
    lamp, chair, desk = data.start("Desk lamp", 4), data.start("Chair", 2), data.start("Desk", 5)
    _v2(data)
    client = _client(data, "owner")
    ticked = f"id={lamp.id}&id={desk.id}"

    page = client.get(f"{URL}?{ticked}")  # from the list: the workflow and version are the ticked ones'
    assert page.status_code == 200 and page.context["workflow"].key == "divide"
    assert (page.context["version"], page.context["target"], page.context["selected"]) == (1, 2, 2)
    assert "Only the 2 requests you ticked" in page.content.decode()
    dry = client.post(f"{URL}?{ticked}", {"action": "dry_run", "map-approve": "final"})
    assert {plan.title for plan in dry.context["result"].movable} == {"Desk lamp", "Desk"}
    client.post(f"{URL}?{ticked}", {"action": "apply", "reason": "Two of them", "map-approve": "final"})

    assert _versions(lamp, chair, desk) == [2, 1, 2]
    assert set(Event.objects.filter(kind="instance.migrated").values_list("instance", flat=True)) == {
        lamp.id,
        desk.id,
    }


def test_ticked_requests_that_are_odd_are_refused_by_name(data: OpsData) -> None:
    lamp = data.start("Desk lamp", 4)
    split = publish(DIVIDE_XML, key="split", name="Split the budget", owner=data.people["olga"])
    other = start_instance(split, {"item": "Chair", "count": 2}, initiator=data.people["olga"])
    owner = _client(data, "owner")

    assert owner.get(f"{URL}?id=not-an-id").status_code == 400
    assert owner.get(f"{URL}?id={other.id}").status_code == 404  # not a request the owner runs
    assert _client(data, "olga").get(f"{URL}?id={lamp.id}").status_code == 404
    assign_perm("orchestration.change_workflow", data.people["owner"], split.workflow)
    both = owner.get(f"{URL}?id={lamp.id}&id={other.id}")
    assert both.status_code == 400 and "move one workflow at a time" in both.content.decode()
    assert not Event.objects.filter(kind="instance.migrated").exists()


@pytest.mark.parametrize(
    ("post", "field"),
    [
        ({"action": "apply"}, "reason"),
        ({"action": "jump"}, "action"),
        ({"action": "dry_run", "map-approve": "start"}, "map-approve"),
    ],
)
def test_bad_input_is_refused_with_the_field_named(data: OpsData, post: dict[str, str], field: str) -> None:
    instance = data.start("Desk lamp", 4)
    _v2(data)

    response = _client(data, "owner").post(f"{URL}?workflow=divide&version=1&target=2", post)

    assert response.status_code == 400 and field in response.context["form"].errors
    assert _versions(instance) == [1]


@pytest.mark.parametrize("query", ["version=x", "version=9&target=2", "target=1", "target=7"])
def test_odd_versions_in_the_address_never_move_anything(data: OpsData, query: str) -> None:
    instance = data.start("Desk lamp", 4)
    _v2(data)

    response = _client(data, "owner").post(
        f"{URL}?workflow=divide&{query}", {"action": "apply", "reason": "x"}
    )

    assert response.status_code == (400 if query == "version=x" else 200)
    assert (response.context or {}).get("result") is None
    assert _versions(instance) == [1]


def test_people_who_may_not_operate_get_404_or_403_and_nothing_moves(data: OpsData) -> None:
    instance = data.start("Desk lamp", 4)
    _v2(data)
    assign_perm("orchestration.view_workflow", data.people["victor"], data.divide.workflow)
    address = f"{URL}?workflow=divide&version=1&target=2"
    post: dict[str, Any] = {"action": "apply", "reason": "x", "map-approve": "final"}

    assert _client(data, "olga").get(address).status_code == 404  # operates another workflow only
    assert _client(data, "olga").post(address, post).status_code == 404
    assert _client(data, "victor").get(address).status_code == 403  # sees it, does not operate it
    assert _client(data, "victor").post(address, post).status_code == 403
    assert _client(data, "alice").get(URL).status_code == 403  # operates nothing
    assert _versions(instance) == [1]
    assert Client().get(URL).status_code == 302  # signed out: to the sign-in page
