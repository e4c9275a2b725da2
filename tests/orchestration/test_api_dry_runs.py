"""The dry-run API: test runs and replays of a draft, for people who may design the workflow."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from guardian.shortcuts import assign_perm

from orchestration.definitions import save_draft
from orchestration.engine import start_instance
from orchestration.models import ProcessInstance, Step
from tests import bpmn
from tests.orchestration.conftest import Client
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db

FORM = (bpmn.field("item", required=True), bpmn.field("amount", "number", required=True))


def flow(limit: str = "1000.0") -> str:
    return bpmn.definitions(
        bpmn.start("start", *FORM),
        bpmn.gateway("big", default="f_small", name="Costly?"),
        bpmn.user_task("director", name="Director approval", assignee="bob", result="approval"),
        bpmn.script("fine", '{"checked": true}', name="Mark as fine"),
        bpmn.end("end", outcome="done", name="Done"),
        bpmn.flow("start", "big"),
        bpmn.flow("big", "director", id="f_big", condition=f"amount > {limit}"),
        bpmn.flow("big", "fine", id="f_small"),
        bpmn.flow("director", "end"),
        bpmn.flow("fine", "end"),
    )


@pytest.fixture
def people() -> dict[str, Any]:
    users = get_user_model()
    return {name: users.objects.create_user(name) for name in ("dana", "victor", "olga", "bob")}


@pytest.fixture
def workflow(people: dict[str, Any]) -> Any:
    version = publish(flow(), key="purchase", owner=people["dana"])
    assign_perm("orchestration.view_workflow", people["victor"], version.workflow)
    return version.workflow


def test_a_test_run_answers_with_the_path_and_the_question(api: Client, people: dict, workflow: Any) -> None:
    url = "/api/workflows/purchase/test-run/"
    before = ProcessInstance.objects.count(), Step.objects.count()

    first = api(people["dana"]).post(url, {"data": {"item": "Car", "amount": 5000}}, format="json")

    assert first.status_code == 200, first.data
    assert [line["node_id"] for line in first.data["lines"]] == ["start", "big", "director"]
    assert first.data["questions"][0]["at"] == "director#1"
    assert first.data["trail"]["current"] == ["director"]
    answers = [{"at": "director#1", "kind": "decision", "outcome": "approved"}]
    done = api(people["dana"]).post(
        url, {"data": {"item": "Car", "amount": 5000}, "answers": answers}, format="json"
    )
    assert done.data["finished"] and done.data["outcome"] == "done"
    assert done.data["lines"][2]["text"] == "approved by you (test)"
    assert (ProcessInstance.objects.count(), Step.objects.count()) == before


def test_a_test_run_asks_for_the_resubmission_of_a_request_sent_back(
    api: Client, people: dict, workflow: Any
) -> None:
    url = "/api/workflows/purchase/test-run/"
    data = {"item": "Car", "amount": 5000}
    answers: list[dict[str, Any]] = [
        {"at": "director#1", "kind": "decision", "outcome": "changes_requested", "comment": "Too dear"}
    ]

    sent_back = api(people["dana"]).post(url, {"data": data, "answers": answers}, format="json")

    assert sent_back.status_code == 200, sent_back.data
    (question,) = sent_back.data["questions"]
    assert (question["at"], question["ask"]) == ("director#1", "resubmit")
    assert question["example"] == {"item": "Car", "amount": 5000}
    assert [o["name"] for o in question["outputs"]] == ["item", "amount"]
    answers += [
        {"at": "director#1", "kind": "resubmit", "data": {"amount": 4000}},
        {"at": "director#1", "kind": "decision", "outcome": "approved"},
    ]
    done = api(people["dana"]).post(url, {"data": data, "answers": answers}, format="json")
    assert done.data["finished"], done.data
    assert done.data["answers"][1] == {"at": "director#1", "kind": "resubmit", "data": {"amount": 4000}}


def test_a_test_run_tries_the_diagram_sent_instead_of_the_draft(
    api: Client, people: dict, workflow: Any
) -> None:
    response = api(people["dana"]).post(
        "/api/workflows/purchase/test-run/",
        {"data": {"item": "Car", "amount": 5000}, "bpmn_xml": flow(limit="10000.0")},
        format="json",
    )

    assert response.data["finished"]
    assert "fine" in [line["node_id"] for line in response.data["lines"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "data"),
        ({"data": "x"}, "data"),
        ({"data": {"item": "Car"}}, "data.amount"),
        ({"data": {"item": "Car", "amount": "lots"}}, "data.amount"),
        (
            {"data": {"item": "Car", "amount": 1}, "answers": [{"at": "nowhere", "kind": "skip"}]},
            "answers[0].at",
        ),
        ({"data": {"item": "Car", "amount": 1}, "answers": [{"at": "a#1", "kind": "dance"}]}, "answers"),
        (
            {"data": {"item": "Car", "amount": 1}, "answers": [{"at": "a#1", "kind": "decision"}]},
            "answers[0].outcome",
        ),
        ({"data": {"item": "Car", "amount": 1}, "bpmn_xml": "<nope"}, "bpmn_xml"),
        (
            {
                "data": {"item": "Car", "amount": 5000},
                "answers": [
                    {"at": "director#1", "kind": "decision", "outcome": "changes_requested"},
                    {"at": "director#1", "kind": "resubmit", "data": {"amount": "lots"}},
                ],
            },
            "answers[1].data.amount",
        ),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    api: Client, people: dict, workflow: Any, body: dict, field: str
) -> None:
    response = api(people["dana"]).post("/api/workflows/purchase/test-run/", body, format="json")

    assert response.status_code == 400
    assert field in response.data, response.data


def test_replay_limit_is_checked(api: Client, people: dict, workflow: Any) -> None:
    for limit in (0, 201, "many"):
        response = api(people["dana"]).post(
            "/api/workflows/purchase/replay/", {"limit": limit}, format="json"
        )
        assert response.status_code == 400 and "limit" in response.data


def test_replay_groups_the_requests_a_changed_limit_moves(api: Client, people: dict, workflow: Any) -> None:
    version = workflow.published_version
    for amount in (50, 500, 5000):
        start_instance(version, {"item": f"Thing {amount}", "amount": amount}, initiator=people["olga"])
    save_draft(workflow, flow(limit="100.0"), actor=people["dana"])

    response = api(people["dana"]).post("/api/workflows/purchase/replay/", {}, format="json")

    assert response.status_code == 200
    assert response.data["total"] == 3 and response.data["same"] == 2, response.data["groups"]
    moved = response.data["groups"][0]
    assert moved["text"] == "1 of 3 requests would now go to Director approval instead of Mark as fine"
    assert [r["title"] for r in moved["requests"]] == ["Thing 500"]


def test_a_designer_who_does_not_operate_the_workflow_sees_other_peoples_requests_counted_not_named(
    api: Client, people: dict, workflow: Any
) -> None:
    version = workflow.published_version
    theirs = start_instance(version, {"item": "Secret 500", "amount": 500}, initiator=people["olga"])
    mine = start_instance(version, {"item": "Mine 600", "amount": 600}, initiator=people["victor"])
    assign_perm("orchestration.design_workflow", people["victor"], workflow)
    save_draft(workflow, flow(limit="100.0"), actor=people["dana"])

    response = api(people["victor"]).post("/api/workflows/purchase/replay/", {}, format="json")

    assert response.status_code == 200
    named = [r for group in response.data["groups"] for r in group["requests"]]
    assert sorted(r["title"] for r in named) == ["1 request you cannot open", "Mine 600"]
    assert {r["id"] for r in named} == {str(mine.pk), ""}
    assert str(theirs.pk) not in json.dumps(response.data) and theirs.reference not in json.dumps(
        response.data
    )


def test_only_people_who_may_design_the_workflow_try_it(api: Client, people: dict, workflow: Any) -> None:
    body = {"data": {"item": "Car", "amount": 1}}
    for url in ("/api/workflows/purchase/test-run/", "/api/workflows/purchase/replay/"):
        assert (
            api(people["victor"]).post(url, body, format="json").status_code == 403
        )  # sees it, may not design
        assert api(people["olga"]).post(url, body, format="json").status_code == 404  # does not see it
