"""A Decision the AI decides: its worker asks a local chat-completions server which path to take."""

from __future__ import annotations

import json
from typing import Any

import pytest

from orchestration.bpmn.compiler import compile_bpmn
from orchestration.engine import start_instance
from orchestration.engine.worker import execute_step
from orchestration.models import Connection, Event, Incident, Outbox, ProcessInstance, Step, Timer
from tests import bpmn
from tests.orchestration.factories import publish
from tests.orchestration.test_connectors_ai import completion

pytestmark = pytest.mark.django_db

SETTINGS = {
    "connection": "models",
    "instruction": "Route this expense: {{item}} for {{amount}}. Unusual ones need a review.",
}


def routing(*, retries: int = 0, settings: dict[str, str] | None = None, names: bool = True) -> str:
    """Start → Decision "Route" (the AI chooses "Needs review" or "Fast track"; default "Fast track") → two Ends."""
    return bpmn.definitions(
        bpmn.start("start", bpmn.field("item"), bpmn.field("amount", "number")),
        bpmn.ai_gateway(
            "route",
            "to_fast",
            name="Route",
            properties=SETTINGS if settings is None else settings,
            inputs={"item": "item", "amount": "amount"},
            retries=retries,
            backoff=0,
        ),
        bpmn.end("reviewed", outcome="reviewed", name="Reviewed"),
        bpmn.end("fast", outcome="fast", name="Fast"),
        bpmn.flow("start", "route"),
        bpmn.flow("route", "reviewed", id="to_review", name="Needs review" if names else ""),
        bpmn.flow("route", "fast", id="to_fast", name="Fast track"),
    )


@pytest.fixture
def model_server(http_server: Any) -> Any:
    Connection.objects.create(name="models", base_url=http_server.url + "/v1", settings={"model": "m"})
    return http_server


def _start(xml: str) -> tuple[ProcessInstance, Step]:
    instance = start_instance(publish(xml, key="routing"), {"item": "Gold-plated stapler", "amount": 900})
    return instance, instance.steps.get(node_id="route")


def test_the_decision_waits_for_a_worker_with_its_values_and_a_key() -> None:
    instance, step = _start(routing(retries=2))

    assert step.status == Step.Status.QUEUED and step.max_attempts == 3
    assert step.input == {"item": "Gold-plated stapler", "amount": 900.0}
    assert Outbox.objects.filter(step=step, attempt=1).exists()
    assert instance.status == ProcessInstance.Status.RUNNING


def test_the_ai_chooses_a_path_and_its_reason_is_recorded(model_server: Any) -> None:
    model_server.answer(
        {"body": completion({"path": "Needs review", "reason": "A gold-plated stapler is unusual."})}
    )
    instance, step = _start(routing())

    execute_step(step.id, 1)

    instance.refresh_from_db()
    step.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.outcome == "reviewed"
    assert step.status == Step.Status.COMPLETED and step.output["flow"] == "to_review"
    assert step.output["chosen"] == {
        "by": "ai",
        "path": "Needs review",
        "reason": "A gold-plated stapler is unusual.",
    }
    assert step.output["conversation"][0]["role"] == "system"  # the Ask AI connector's record
    event = Event.objects.get(instance=instance, kind="decision.ai")
    assert event.message == "Route: decided by AI: “Needs review” — A gold-plated stapler is unusual."
    # The model was told the paths' names as the only choices, with the values put in.
    sent = model_server.received[0].json()
    schema = sent["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["path"]["enum"] == ["Needs review", "Fast track"]
    assert schema["required"] == ["path", "reason"]
    assert "Gold-plated stapler for 900" in sent["messages"][-1]["content"]


def test_an_answer_that_is_not_a_path_after_the_retry_takes_the_default_path(model_server: Any) -> None:
    model_server.answer({"body": completion({"path": "Escalate to the CEO", "reason": "Why not."})})
    instance, step = _start(routing())

    execute_step(step.id, 1)

    instance.refresh_from_db()
    step.refresh_from_db()
    assert len(model_server.received) == 2  # asked once more, with what was wrong
    assert (
        '"path" must be one of "Needs review", "Fast track"'
        in (model_server.received[1].json()["messages"][-1]["content"])
    )
    assert instance.outcome == "fast" and step.output["flow"] == "to_fast"
    chosen = step.output["chosen"]
    assert chosen["by"] == "default" and chosen["path"] == "Fast track"
    assert "invalid twice" in chosen["reason"]
    assert not Incident.objects.filter(instance=instance).exists()
    event = Event.objects.get(instance=instance, kind="decision.ai")
    assert event.message.startswith("Route: the AI could not choose (")
    assert event.message.endswith("took the default path “Fast track”")


def test_a_server_down_is_retried_then_the_default_path_is_taken(model_server: Any) -> None:
    model_server.answer({"status": 503, "body": {"error": {"message": "overloaded"}}})
    instance, step = _start(routing(retries=1))

    execute_step(step.id, 1)

    step.refresh_from_db()
    assert step.status == Step.Status.RETRY_WAIT  # 503 is retried with backoff, as for an Automated step
    assert Timer.objects.get(step=step, kind=Timer.Kind.RETRY).payload == {"attempt": 2}
    step.status, step.attempt = Step.Status.QUEUED, 2  # what the ticker does when the retry is due
    step.save()

    execute_step(step.id, 2)

    instance.refresh_from_db()
    step.refresh_from_db()
    assert len(model_server.received) == 2
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.outcome == "fast"
    assert step.output["chosen"]["by"] == "default" and "503" in step.output["chosen"]["reason"]
    assert not Incident.objects.filter(instance=instance).exists()


def test_a_missing_model_server_takes_the_default_path_saying_so() -> None:
    _instance, step = _start(routing())

    execute_step(step.id, 1)

    step.refresh_from_db()
    assert step.output["flow"] == "to_fast"
    assert "models" in step.output["chosen"]["reason"]


def _errors(xml: str) -> list[str]:
    return [str(e) for e in compile_bpmn(xml).errors]


def test_publishing_refuses_a_decision_without_a_default_path_in_plain_words() -> None:
    xml = routing().replace(' default="to_fast"', "")

    assert (
        'Decision "Route" (route): has no default path: mark the path to take when the AI cannot choose.'
        in _errors(xml)
    )


def test_publishing_refuses_unnamed_paths_naming_the_decision() -> None:
    errors = _errors(routing(names=False))

    assert (
        'Decision "Route" (route) is decided by the AI, but a path (to "Reviewed") has no name: '
        "name each path, the AI chooses among the names." in errors
    )


def test_publishing_says_how_many_paths_an_ai_decision_has_when_too_few() -> None:
    just_placed = bpmn.definitions(
        bpmn.start("start"),
        bpmn.ai_gateway("route", "", name="Route", properties=SETTINGS),
        bpmn.flow("start", "route"),
    )
    one = bpmn.definitions(
        bpmn.start("start"),
        bpmn.ai_gateway("route", "to_fast", name="Route", properties=SETTINGS),
        bpmn.end("fast"),
        bpmn.flow("start", "route"),
        bpmn.flow("route", "fast", id="to_fast", name="Fast track"),
    )
    wanted = (
        'Decision "Route" (route) is decided by the AI but has {}: draw at least two paths to choose from.'
    )

    assert wanted.format("no path out") in _errors(just_placed)  # it said "one path"
    assert wanted.format("one path out") in _errors(one)


def test_publishing_refuses_a_decision_without_model_server_or_instruction() -> None:
    errors = _errors(routing(settings={}))

    assert 'Decision "Route" (route): has no model server: choose the connection it asks.' in errors
    assert 'Decision "Route" (route): has no instruction: say what the AI should do.' in errors


def test_publishing_refuses_conditions_on_the_paths_of_an_ai_decision() -> None:
    xml = routing().replace(
        'name="Needs review" sourceRef="route" targetRef="reviewed"/>',
        'name="Needs review" sourceRef="route" targetRef="reviewed">'
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">amount &gt; 100.0</bpmn:conditionExpression>'
        "</bpmn:sequenceFlow>",
    )

    assert (
        'Decision "Route" (route) is decided by the AI, but its path "Needs review" has a condition: remove it.'
        in _errors(xml)
    )


def test_a_valid_ai_decision_compiles_with_the_paths_as_choices() -> None:
    result = compile_bpmn(routing())

    assert not result.errors
    # Its question lives on the gateway: nothing there is "a Baton setting that does not apply".
    assert [str(w) for w in result.warnings] == []
    config = result.graph["nodes"]["route"]["config"]
    assert config["paths"] == {"Needs review": "to_review", "Fast track": "to_fast"}
    fields = json.loads(config["properties"]["answer_fields"])
    assert [f["name"] for f in fields] == ["path", "reason"]
    assert fields[0]["choices"] == ["Needs review", "Fast track"]


def test_operators_read_the_choice_on_the_request_page_and_in_the_live_path(model_server: Any) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from designer.live import instance_path

    model_server.answer(
        {"body": completion({"path": "Needs review", "reason": "A gold-plated stapler is unusual."})}
    )
    instance, step = _start(routing())
    execute_step(step.id, 1)
    words = "Decided by AI: “Needs review” — A gold-plated stapler is unusual."
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("ops", password="x"))

    page = client.get(reverse("ops:instance", args=[instance.pk])).content.decode()

    assert f'data-testid="step-decided"><i class="bi bi-stars me-1" aria-hidden="true"></i>{words}' in page
    path = {s["node_id"]: s for s in instance_path(instance)["steps"]}
    assert path["route"]["decided"] == words
    # Not for whoever only follows the request without operating the workflow.
    hidden = {s["node_id"]: s for s in instance_path(instance, ai_choices=False)["steps"]}
    assert hidden["route"]["decided"] == ""


def test_the_request_history_shows_the_choice_to_operators_only(model_server: Any) -> None:
    from approvals.history import timeline

    model_server.answer({"body": completion({"path": "Needs review", "reason": "Unusual."})})
    instance, step = _start(routing())
    execute_step(step.id, 1)
    events = list(Event.objects.filter(instance=instance).select_related("step", "actor").order_by("id"))
    graph = instance.version.graph

    operators = [entry.message for entry in timeline(events, graph, technical=True)]
    requesters = [entry.message for entry in timeline(events, graph)]

    assert "Route: decided by AI: “Needs review” — Unusual." in operators
    assert not any("Needs review" in message for message in requesters)


def test_the_requesters_api_keeps_the_choice_and_its_reason_from_them(model_server: Any) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    model_server.answer({"body": completion({"path": "Needs review", "reason": "A secret hunch."})})
    requester = get_user_model().objects.create_user("requester", password="x")
    version = publish(routing(), key="routing")
    instance = start_instance(version, {"item": "Stapler", "amount": 9}, initiator=requester)
    execute_step(instance.steps.get(node_id="route").id, 1)
    client = Client()
    client.force_login(requester)

    seen = json.dumps(client.get(f"/api/instances/{instance.pk}/").json())

    assert "Stapler" in seen  # their own data, as a check the API answered
    assert "A secret hunch" not in seen and "Needs review" not in seen, seen


def test_publishing_refuses_more_retries_than_a_step_can_count() -> None:
    service = bpmn.definitions(
        bpmn.start("start"),
        bpmn.service("call", name="Call", properties={"url": "https://erp.example.com/x"}, retries=10**30),
        bpmn.end(),
        *bpmn.chain("start", "call", "end"),
    )

    assert 'Decision "Route" (route): retries must be at most 50.' in _errors(routing(retries=10**30))
    assert any("retries must be at most 50." in e for e in _errors(service))
    assert not _errors(routing(retries=50))
