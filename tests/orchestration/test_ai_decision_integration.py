"""A Decision the AI decides, with the real worker and ticker: a busy model server is asked again."""

from __future__ import annotations

from typing import Any

import pytest

from orchestration.engine import start_instance
from orchestration.models import Connection, Event, ProcessInstance, Step
from tests.conftest import Engine, wait_for
from tests.orchestration.factories import publish
from tests.orchestration.test_ai_decision import routing
from tests.orchestration.test_connectors_ai import completion

pytestmark = [pytest.mark.integration]


def test_the_worker_asks_again_after_a_503_and_the_engine_takes_the_ais_path(
    live_engine: Engine, http_server: Any
) -> None:
    Connection.objects.create(name="models", base_url=http_server.url + "/v1", settings={"model": "m"})
    http_server.answer(
        {"status": 503, "body": {"error": "busy"}},
        {"body": completion({"path": "Needs review", "reason": "Staplers are rarely gold-plated."})},
    )
    version = publish(routing(retries=2), key="routing")
    instance = start_instance(version, {"item": "Gold-plated stapler", "amount": 900})

    wait_for(
        lambda: ProcessInstance.objects.filter(pk=instance.pk).exclude(status="running").exists(),
        timeout=60,
        what="the request to finish",
    )

    instance.refresh_from_db()
    step = Step.objects.get(instance=instance, node_id="route")
    assert instance.outcome == "reviewed"
    assert step.attempt == 2 and len(http_server.received) == 2
    # The attempt after the 503 is the same question again: it carries the same idempotency key.
    keys = [r.headers["Idempotency-Key"] for r in http_server.received]
    assert keys == [f"{step.idempotency_key}-1"] * 2
    assert step.output["chosen"] == {
        "by": "ai",
        "path": "Needs review",
        "reason": "Staplers are rarely gold-plated.",
    }
    kinds = list(Event.objects.filter(instance=instance).values_list("kind", flat=True))
    assert "step.retry_scheduled" in kinds and "decision.ai" in kinds
