"""The designer's Try it panel: a test run decided in the panel, a replay, and who may use them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from guardian.shortcuts import assign_perm

from orchestration.definitions import create_workflow, current_draft, publish_version
from orchestration.engine import start_instance
from orchestration.models import ProcessInstance, Step, Workflow
from tests import bpmn

# What the order step needs (publishing refuses a step without its required values).
ORDER_INPUTS = {"item": "item", "amount": "amount", "currency": '"USD"', "requester": '"emma"'}

pytestmark = pytest.mark.django_db

DEEP = "[" * 50_000 + "]" * 50_000
FORM = (bpmn.field("item", required=True), bpmn.field("amount", "number", required=True))


def flow() -> str:
    return bpmn.definitions(
        bpmn.start("start", *FORM),
        bpmn.user_task("approve", name="Approve purchase", assignee="bob", result="approval"),
        bpmn.service(
            "order",
            "procurement.create_order",
            name="Place order",
            inputs=ORDER_INPUTS,
            outputs={"order": "result.order_id"},
        ),
        bpmn.wait_timer("pause", "P2D", name="Cooling off"),
        bpmn.end("end", outcome="done", name="Done"),
        *bpmn.chain("start", "approve", "order", "pause", "end"),
    )


@pytest.fixture
def people() -> dict[str, Any]:
    users = get_user_model()
    return {name: users.objects.create_user(name) for name in ("dana", "victor", "olga", "bob")}


@pytest.fixture
def workflow(people: dict[str, Any]) -> Workflow:
    draft = create_workflow("purchase", "Purchase", flow(), owner=people["dana"])
    assign_perm("orchestration.view_workflow", people["victor"], draft.workflow)
    return draft.workflow


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _state(html: str, name: str) -> str:
    """The value of the hidden input ``name`` the run partial carries to the next post."""
    marker = f'name="{name}" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)].replace("&quot;", '"')


def test_the_panel_offers_the_drafts_start_form(people: dict, workflow: Workflow) -> None:
    response = client_for(people["dana"]).get(reverse("designer:try", args=["purchase"]))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="start-item"' in html and 'name="start-amount"' in html
    assert "Start test run" in html and "Replay recent requests" in html
    assert "Nothing is published yet" in html


def test_a_test_run_is_decided_answered_and_skipped_in_the_panel_to_the_end(
    people: dict, workflow: Workflow
) -> None:
    client = client_for(people["dana"])
    url = reverse("designer:try-run", args=["purchase"])

    started = client.post(url, {"start-item": "Desk", "start-amount": "300"})
    html = started.content.decode()
    assert started.status_code == 200
    assert "Approve purchase" in html and 'value="approve#1"' in html
    state = {"data": _state(html, "data"), "answers": _state(html, "answers")}

    decided = client.post(
        url,
        {
            **state,
            "answer_at": "approve#1",
            "answer_kind": "decision",
            "outcome": "approved",
            "comment": "ok",
        },
    )
    html = decided.content.decode()
    assert "approved by you (test) — ok" in html
    assert 'name="output:order_id"' in html  # the value the step keeps from the answer
    state["answers"] = _state(html, "answers")

    answered = client.post(
        url, {**state, "answer_at": "order#1", "answer_kind": "output", "output:order_id": "PO-7"}
    )
    html = answered.content.decode()
    assert "Skip the wait" in html
    state["answers"] = _state(html, "answers")

    done = client.post(url, {**state, "answer_at": "pause#1", "answer_kind": "skip"})
    html = done.content.decode()
    assert "The test run reached the end: done" in html
    trail = json.loads(_state(html.replace('data-trail="', 'name="trail" value="'), "trail"))
    assert trail["visited"] == ["start", "approve", "order", "pause", "end"]
    assert not ProcessInstance.objects.exists() and not Step.objects.exists()


def test_a_request_sent_back_in_a_test_run_shows_the_requesters_form_to_change_and_resubmit(
    people: dict, workflow: Workflow
) -> None:
    client = client_for(people["dana"])
    url = reverse("designer:try-run", args=["purchase"])
    started = client.post(url, {"start-item": "Desk", "start-amount": "300"})
    state = {"data": _state(started.content.decode(), "data"), "answers": "[]"}

    sent_back = client.post(
        url,
        {**state, "answer_at": "approve#1", "answer_kind": "decision", "outcome": "changes_requested"},
    )

    html = sent_back.content.decode()
    assert sent_back.status_code == 200
    # The requester's form: the start form's fields, filled with the request's values, editable.
    assert 'data-testid="try-resubmit-form"' in html
    assert 'name="resubmit-approve-1-item" value="Desk"' in html
    assert 'name="resubmit-approve-1-amount" value="300"' in html
    assert "Approve purchase" in html and "Resubmit the request" in html
    state["answers"] = _state(html, "answers")
    resubmit = {**state, "answer_at": "approve#1", "answer_kind": "resubmit"}

    refused = client.post(
        url, {**resubmit, "resubmit-approve-1-item": "Desk", "resubmit-approve-1-amount": "lots"}
    )
    html = refused.content.decode()
    assert refused.status_code == 400
    assert 'data-testid="error-amount"' in html and 'value="lots"' in html  # kept, to correct

    resubmitted = client.post(
        url, {**resubmit, "resubmit-approve-1-item": "Desk", "resubmit-approve-1-amount": "250"}
    )
    html = resubmitted.content.decode()
    assert resubmitted.status_code == 200
    # It goes round again: the approval asks for a decision, with the changed request.
    assert 'data-testid="try-approve"' in html and 'data-testid="try-resubmit-form"' not in html
    assert json.loads(_state(html, "answers"))[-1] == {
        "at": "approve#1",
        "kind": "resubmit",
        "data": {"item": "Desk", "amount": "250"},
    }


def test_starting_again_fills_the_form_with_the_last_data(people: dict, workflow: Workflow) -> None:
    response = client_for(people["dana"]).post(
        reverse("designer:try", args=["purchase"]) + "?part=start",
        {"data": json.dumps({"item": "Desk", "amount": 300})},
    )

    assert response.status_code == 200
    assert 'value="Desk"' in response.content.decode()


def test_start_data_that_does_not_fit_comes_back_on_its_field(people: dict, workflow: Workflow) -> None:
    response = client_for(people["dana"]).post(
        reverse("designer:try-run", args=["purchase"]), {"start-item": "Desk", "start-amount": "lots"}
    )

    assert response.status_code == 400
    assert 'data-testid="error-amount"' in response.content.decode()


def test_a_malformed_answer_is_refused_in_words(people: dict, workflow: Workflow) -> None:
    client = client_for(people["dana"])
    url = reverse("designer:try-run", args=["purchase"])
    data = json.dumps({"item": "Desk", "amount": 3})

    for post in (
        {"data": data, "answers": "not json"},
        {"data": data, "answers": json.dumps([{"at": "x", "kind": "skip"}])},
        {"data": data, "answer_at": "approve#1", "answer_kind": "decision", "outcome": "maybe"},
        {"data": data, "answer_at": "order#1", "answer_kind": "output", "output_json": "[1"},
        {"data": "[]"},
        # Nested deeper than Python's recursion limit: refused like any unreadable JSON, never a 500.
        {"data": DEEP},
        {"data": data, "answers": DEEP},
        {"data": data, "answer_at": "order#1", "answer_kind": "output", "output_json": DEEP},
    ):
        response = client.post(url, post)
        assert response.status_code == 400, post
        assert 'data-testid="try-error"' in response.content.decode()


def test_sample_data_an_earlier_run_sent_that_no_longer_fits_is_refused_in_words(
    people: dict, workflow: Workflow
) -> None:
    # The answers' forms carry the start data as JSON; the canvas's form may have changed since.
    response = client_for(people["dana"]).post(
        reverse("designer:try-run", args=["purchase"]),
        {"data": json.dumps({"item": "Desk", "colour": "red"})},
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-testid="try-error"' in page
    assert (
        "The sample data no longer fits the start form" in page and "Amount: This field is required." in page
    )


def test_unreadable_last_data_opens_an_empty_start_form(people: dict, workflow: Workflow) -> None:
    response = client_for(people["dana"]).post(
        reverse("designer:try", args=["purchase"]) + "?part=start", {"data": DEEP}
    )

    assert response.status_code == 200


def test_a_draft_with_problems_lists_them_instead_of_running(people: dict, workflow: Workflow) -> None:
    broken = bpmn.definitions(bpmn.start("start"), bpmn.user_task("approve", name="Approve"))
    response = client_for(people["dana"]).post(
        reverse("designer:try-run", args=["purchase"]), {"diagram": broken, "start-item": "x"}
    )

    assert response.status_code == 400
    assert 'data-testid="try-problems"' in response.content.decode()


def test_replay_needs_a_sensible_number(people: dict, workflow: Workflow) -> None:
    publish_version(current_draft(workflow), actor=people["dana"])  # type: ignore[arg-type]
    response = client_for(people["dana"]).post(
        reverse("designer:try-replay", args=["purchase"]), {"limit": "500"}
    )

    assert response.status_code == 400
    assert "Replay at most 200 requests." in response.content.decode()


def test_replay_names_only_the_requests_the_designer_may_open(people: dict, workflow: Workflow) -> None:
    version = publish_version(current_draft(workflow), actor=people["dana"])  # type: ignore[arg-type]
    assign_perm("orchestration.design_workflow", people["victor"], workflow)
    start_instance(version, {"item": "Secret chair", "amount": 5}, initiator=people["olga"])

    victor = client_for(people["victor"]).post(
        reverse("designer:try-replay", args=["purchase"]), {"limit": "5"}
    )
    dana = client_for(people["dana"]).post(reverse("designer:try-replay", args=["purchase"]), {"limit": "5"})

    assert victor.status_code == 200 and dana.status_code == 200
    assert (
        "Secret chair" not in victor.content.decode()
        and "1 request you cannot open" in victor.content.decode()
    )
    assert "Secret chair" in dana.content.decode()  # the owner operates it


@pytest.mark.parametrize("name", ["try", "try-run", "try-replay"])
def test_only_people_who_may_design_the_workflow_try_it(people: dict, workflow: Workflow, name: str) -> None:
    url = reverse(f"designer:{name}", args=["purchase"])

    assert client_for(people["victor"]).post(url).status_code == 403
    assert client_for(people["olga"]).post(url).status_code == 404


def ai_flow() -> str:
    """An Ask AI step with typed answer fields, then a Decision the AI decides."""
    fields = "".join(
        f'<baton:answerField name="{name}" type="{kind}" description="{words}"{extra}/>'
        for name, kind, words, extra in (
            ("category", "string", "What was bought", ' choices="IT hardware,Travel"'),
            ("note", "string", "", ""),
            ("amount", "number", "", ""),
            ("due", "date", "When to pay", ""),
        )
    )
    ask = bpmn.service(
        "read",
        "ai.ask",
        name="Read it",
        properties={"connection": "models", "instruction": "Read {{item}}."},
        inputs={"item": "item"},
    ).replace("</bpmn:extensionElements>", fields + "</bpmn:extensionElements>")
    return bpmn.definitions(
        bpmn.start("start", *FORM),
        ask,
        bpmn.ai_gateway(
            "route",
            "to_fast",
            name="Route",
            properties={"connection": "models", "instruction": "Is {{category}} usual?"},
            inputs={"category": "category"},
        ),
        bpmn.end("reviewed", outcome="reviewed", name="Reviewed"),
        bpmn.end("fast", outcome="fast", name="Fast"),
        *bpmn.chain("start", "read", "route"),
        bpmn.flow("route", "reviewed", id="to_review", name="Needs review"),
        bpmn.flow("route", "fast", id="to_fast", name="Fast track"),
    )


def test_an_ask_ai_sample_answer_comes_from_its_answer_fields_and_the_analyst_picks_the_ais_path(
    people: dict, workflow: Workflow
) -> None:
    from django.utils import timezone

    create_workflow("triage", "Triage", ai_flow(), owner=people["dana"])
    client = client_for(people["dana"])
    url = reverse("designer:try-run", args=["triage"])

    started = client.post(url, {"start-item": "Gold stapler", "start-amount": "900"})
    html = started.content.decode()
    assert started.status_code == 200, html
    # One value per answer field, fitting its type: the first allowed value, a text, 0, today.
    assert '<option value="IT hardware" selected>IT hardware</option>' in html
    assert 'name="output:note" value="Sample text"' in html
    assert 'name="output:amount" value="0"' in html
    assert f'name="output:due" value="{timezone.localdate().isoformat()}"' in html
    assert "What was bought" in html and "When to pay" in html
    # The AI is asked for its answer, not a system called.
    assert "What would the AI answer? It is not asked in a test run." in html
    assert "What should the system answer?" not in html
    assert "recommendation" not in html  # not the connector's fixed example
    state = {"data": _state(html, "data"), "answers": _state(html, "answers")}

    answered = client.post(
        url,
        {
            **state,
            "answer_at": "read#1",
            "answer_kind": "output",
            "output:category": "Travel",
            "output:note": "Looks odd",
            "output:amount": "900",
            "output:due": "2026-12-31",
        },
    )
    html = answered.content.decode()
    assert "answered with the sample answer; the AI was not asked" in html
    assert "the real system was not called" not in html
    assert "Choose the path the AI would take" in html
    # The analyst picks among the paths' names; the default path is offered first-hand.
    assert 'value="Fast track" data-testid="try-path">Fast track (default)</button>' in html
    assert 'value="Needs review" data-testid="try-path">Needs review</button>' in html
    state["answers"] = _state(html, "answers")

    decided = client.post(
        url,
        {
            **state,
            "answer_at": "route#1",
            "answer_kind": "output",
            "output:path": "Needs review",
            "output:reason": "Travel is unusual here",
        },
    )
    html = decided.content.decode()
    assert "The test run reached the end: reviewed" in html
    assert "Decided by AI: “Needs review” — Travel is unusual here (test run: the AI was not asked)" in html
    assert not ProcessInstance.objects.exists()


def test_an_ask_ai_list_answer_nested_past_the_stack_is_refused_in_words_not_a_500(
    people: dict, workflow: Workflow
) -> None:
    create_workflow(
        "triage",
        "Triage",
        ai_flow().replace('"note" type="string"', '"note" type="list"'),
        owner=people["dana"],
    )
    client = client_for(people["dana"])
    url = reverse("designer:try-run", args=["triage"])
    html = client.post(url, {"start-item": "Gold stapler", "start-amount": "900"}).content.decode()
    state = {"data": _state(html, "data"), "answers": _state(html, "answers")}

    answered = client.post(
        url,
        {
            **state,
            "answer_at": "read#1",
            "answer_kind": "output",
            "output:category": "Travel",
            "output:note": "[" * 15000,
            "output:amount": "900",
            "output:due": "2026-12-31",
        },
    )

    assert answered.status_code == 200
    assert "must be a list" in answered.content.decode()


def test_an_approval_with_a_path_per_decision_follows_only_the_decided_path_in_a_test_run(
    people: dict,
) -> None:
    xml = bpmn.definitions(
        bpmn.start("start", *FORM),
        bpmn.user_task("review", name="Finance review", groups="Finance"),
        bpmn.end("approved", outcome="approved", name="Approved"),
        bpmn.end("rejected", outcome="rejected", name="Rejected"),
        bpmn.flow("start", "review"),
        bpmn.flow("review", "approved", name="Approved", outcome="approved"),
        bpmn.flow("review", "rejected", name="Rejected", outcome="rejected"),
    )
    create_workflow("invoices", "Invoices", xml, owner=people["dana"])
    client = client_for(people["dana"])
    url = reverse("designer:try-run", args=["invoices"])
    html = client.post(url, {"start-item": "Laptops", "start-amount": "4200"}).content.decode()
    state = {"data": _state(html, "data"), "answers": _state(html, "answers")}

    decided = client.post(
        url, {**state, "answer_at": "review#1", "answer_kind": "decision", "outcome": "approved"}
    )
    html = decided.content.decode()
    assert "The test run reached the end: approved" in html
    trail = json.loads(_state(html.replace('data-trail="', 'name="trail" value="'), "trail"))
    assert trail["visited"] == ["start", "review", "approved"]  # not the Rejected end as well
