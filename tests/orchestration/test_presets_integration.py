"""The chat and ticket presets run on a real Celery worker against a local HTTP server, through Connections."""

from __future__ import annotations

import pytest

from orchestration import connections
from orchestration.connectors import presets
from orchestration.engine import start_instance
from orchestration.models import Connection, ProcessInstance, Step
from tests import bpmn
from tests.conftest import Engine, wait_until_completed
from tests.orchestration.conftest import Answer, ScriptedServer
from tests.orchestration.factories import publish

pytestmark = [pytest.mark.integration]


def _connection(name: str, base_url: str, secret: str) -> None:
    connection = Connection(name=name, label=name.title(), base_url=base_url)
    connections.store_headers(connection, {"Authorization": f"Bearer {secret}"})
    connection.save()


def _preset_step(id: str, key: str, connection: str, inputs: dict[str, str]) -> str:
    """The step as the designer writes it for preset ``key``: fixed settings, the system, kept results."""
    action = presets.action_by_key(key)
    assert action is not None
    return bpmn.service(
        id,
        action.connector,
        name=action.label,
        preset=action.preset,
        properties={**action.config, "connection": connection},
        inputs=inputs,
        outputs={o.name: action.result_of(o.name) for o in action.outputs},
        output_types={o.name: o.type for o in action.outputs},
        retries=0,
    )


def test_the_chat_and_ticket_presets_post_to_their_systems_and_keep_the_ticket_number(
    live_engine: Engine, http_server: ScriptedServer
) -> None:
    _connection("team-chat", http_server.url + "/hooks/T123", "chat-secret")
    _connection("service-desk", http_server.url + "/api/", "desk-secret")
    http_server.answer(
        Answer(body="ok", content_type="text/plain"), Answer(status=201, body={"number": 4711})
    )
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("item", required=True), bpmn.field("cost", "number", required=True)),
        _preset_step("chat", "preset:chat.post_message", "team-chat", {"text": '"New request: " + item'}),
        _preset_step(
            "ticket",
            "preset:tickets.create",
            "service-desk",
            {"title": "item", "description": '"Costs " + string(cost)', "priority": '"high"'},
        ),
        bpmn.end("end"),
        *bpmn.chain("start", "chat", "ticket", "end"),
    )
    instance = start_instance(publish(xml, key="presets"), {"item": "Laptop", "cost": 1200})
    wait_until_completed([instance])

    chat, ticket = http_server.received
    assert (chat.method, chat.path) == ("POST", "/hooks/T123")
    assert chat.json() == {"text": "New request: Laptop"}
    assert chat.headers["Authorization"] == "Bearer chat-secret"
    assert (ticket.method, ticket.path) == ("POST", "/api/tickets")
    assert ticket.json() == {"title": "Laptop", "description": "Costs 1200", "priority": "high"}
    assert ticket.headers["Authorization"] == "Bearer desk-secret"
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert instance.variables["ticket_number"] == "4711"
    steps = Step.objects.filter(instance=instance, node_id__in=("chat", "ticket")).order_by("node_id")
    assert "chat-secret" not in str([s.output for s in steps]) and "desk-secret" not in str(
        instance.variables
    )
