"""The engine with a real Celery worker and ticker against the configured database and broker."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from orchestration.engine import REQUEST_INLINE_BLOCKS, retry_incident, start_instance
from orchestration.models import Event, Incident, Outbox, ProcessInstance, Step
from tests import bpmn
from tests.conftest import Engine, wait_for
from tests.orchestration.conftest import Answer, Client, ScriptedServer
from tests.orchestration.factories import publish

pytestmark = [pytest.mark.integration]


def _http_step(id: str, url: str, **kwargs: Any) -> str:
    return bpmn.service(id, properties={"url": url, "method": "POST"}, **kwargs)


def _finished(instance: ProcessInstance) -> ProcessInstance | None:
    instance.refresh_from_db()
    return instance if instance.status != ProcessInstance.Status.RUNNING else None


def wait_done(instance: ProcessInstance, timeout: float = 60) -> ProcessInstance:
    return wait_for(lambda: _finished(instance), timeout, what=f"instance {instance.id} to finish")


def test_five_connector_steps_run_in_order_and_complete(
    live_engine: Engine, http_server: ScriptedServer
) -> None:
    http_server.answer(Answer(body={"ok": True}))
    ids = [f"s{i}" for i in range(1, 6)]
    xml = bpmn.definitions(
        bpmn.start(),
        *[
            _http_step(
                i, http_server.url + f"/{i}", inputs={"n": f"{n}"}, outputs={f"out_{i}": "result.status"}
            )
            for n, i in enumerate(ids)
        ],
        bpmn.end(outcome="done"),
        *bpmn.chain("start", *ids, "end"),
    )
    version = publish(xml, key="five-steps")

    instance = wait_done(start_instance(version, {}))

    assert instance.status == ProcessInstance.Status.COMPLETED
    assert instance.outcome == "done"
    assert [r.path for r in http_server.received] == [f"/{i}" for i in ids]
    assert all(instance.variables[f"out_{i}"] == 200 for i in ids)
    assert list(instance.steps.filter(kind="service_task").values_list("attempt", flat=True)) == [1] * 5
    assert not Outbox.objects.filter(step__instance=instance).exists()


def test_parallel_join_fires_exactly_once_when_branches_finish_together(
    live_engine: Engine, http_server: ScriptedServer
) -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.gateway("split", "parallel"),
        _http_step("left", http_server.url + "/left"),
        _http_step("right", http_server.url + "/right"),
        bpmn.gateway("join", "parallel"),
        bpmn.script("after", '{"joined": true}'),
        bpmn.end(),
        bpmn.flow("start", "split"),
        bpmn.flow("split", "left"),
        bpmn.flow("split", "right"),
        bpmn.flow("left", "join"),
        bpmn.flow("right", "join"),
        *bpmn.chain("join", "after", "end"),
    )
    version = publish(xml, key="split-join")

    instances = [start_instance(version, {}) for _ in range(200)]
    for instance in instances:
        wait_done(instance, timeout=180)

    fired = Step.objects.filter(instance__in=instances, node_id="join", join_key__isnull=False)
    assert fired.count() == 200
    assert Step.objects.filter(instance__in=instances, node_id="after").count() == 200
    assert not Step.objects.filter(instance__in=instances, status__in=Step.OPEN_STATUSES).exists()
    assert all(i.status == ProcessInstance.Status.COMPLETED for i in instances)


class _IdempotentOrders:
    """An external system that stores an order per idempotency key and is slow to answer the first time."""

    def __init__(self, first_answer_delay: float) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        self.delay = first_answer_delay
        store = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                key = self.headers["Idempotency-Key"]
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                store.requests.append(key)
                first = key not in store.orders
                order = store.orders.setdefault(key, {"order_id": f"PO-{len(store.orders) + 1}", **body})
                if first:
                    time.sleep(store.delay)  # the worker is killed while it waits here
                payload = json.dumps(order).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/orders"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()


@pytest.fixture
def orders() -> Iterator[_IdempotentOrders]:
    server = _IdempotentOrders(first_answer_delay=8)
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def test_worker_killed_mid_step_runs_it_again_and_the_side_effect_applies_once(
    live_engine: Engine, orders: _IdempotentOrders
) -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        _http_step(
            "order", orders.url, inputs={"item": '"laptop"'}, outputs={"order_id": "result.body.order_id"}
        ),
        bpmn.end(),
        *bpmn.chain("start", "order", "end"),
    )
    version = publish(xml, key="kill-worker")
    instance = start_instance(version, {})
    wait_for(lambda: orders.requests, what="the worker to call the order system")
    step = instance.steps.get(node_id="order")
    assert step.status == Step.Status.RUNNING

    live_engine.worker.kill()
    live_engine.restart_worker()
    instance = wait_done(instance, timeout=60)

    assert instance.status == ProcessInstance.Status.COMPLETED
    assert len(orders.requests) >= 2 and len(set(orders.requests)) == 1  # same key every time
    assert len(orders.orders) == 1
    assert instance.variables["order_id"] == "PO-1"


def _purge_queue() -> int:
    from orchestration.celery import app

    with app.connection_for_write() as conn:
        purged: int = conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE) or 0
    return purged


def test_lost_broker_message_is_republished_by_the_relay(
    live_engine: Engine, http_server: ScriptedServer
) -> None:
    xml = bpmn.definitions(
        bpmn.start(), _http_step("call", http_server.url), bpmn.end(), *bpmn.chain("start", "call", "end")
    )
    version = publish(xml, key="lost-message")
    live_engine.worker.stop()
    try:
        instance = start_instance(version, {})
        assert _purge_queue() >= 1  # the broker lost the message
    finally:
        live_engine.restart_worker()

    instance = wait_done(instance)

    assert instance.status == ProcessInstance.Status.COMPLETED
    assert len(http_server.received) == 1


def test_connector_failing_three_times_then_succeeding_retries_with_backoff(
    live_engine: Engine, http_server: ScriptedServer
) -> None:
    http_server.answer(Answer(status=503), Answer(status=503), Answer(status=503), Answer(body={"ok": 1}))
    xml = bpmn.definitions(
        bpmn.start(),
        _http_step("flaky", http_server.url, retries=3, backoff=0.3),
        bpmn.end(),
        *bpmn.chain("start", "flaky", "end"),
    )
    version = publish(xml, key="flaky")

    instance = wait_done(start_instance(version, {}))

    assert instance.status == ProcessInstance.Status.COMPLETED
    step = instance.steps.get(node_id="flaky")
    assert step.attempt == 4
    retries = Event.objects.filter(instance=instance, kind="step.retry_scheduled").order_by("id")
    assert [e.data["delay_seconds"] for e in retries] == [0.3, 0.6, 1.2]
    assert len(http_server.received) == 4
    assert not Incident.objects.filter(instance=instance).exists()


def test_connector_failing_always_raises_an_incident_that_completes_after_a_fix(
    live_engine: Engine, http_server: ScriptedServer
) -> None:
    http_server.answer(Answer(status=503, body={"error": "down"}))
    xml = bpmn.definitions(
        bpmn.start(),
        _http_step("down", http_server.url, retries=1, backoff=0.2),
        bpmn.end(),
        *bpmn.chain("start", "down", "end"),
    )
    version = publish(xml, key="always-down")
    instance = start_instance(version, {})

    incident = wait_for(lambda: Incident.objects.filter(instance=instance).first(), what="an incident")
    instance.refresh_from_db()
    assert instance.has_incident and instance.status == ProcessInstance.Status.RUNNING
    assert "503" in incident.error
    assert len(http_server.received) == 2

    http_server.answer(Answer(body={"ok": True}))  # the fix: the service is back
    retry_incident(incident.id)
    instance = wait_done(instance)

    assert instance.status == ProcessInstance.Status.COMPLETED
    assert not instance.has_incident
    incident.refresh_from_db()
    assert incident.resolution == Incident.Resolution.RETRIED


def test_a_five_thousand_block_flow_started_through_the_api_is_finished_by_a_worker(
    live_engine: Engine, api: Client
) -> None:
    owner = get_user_model().objects.create_user("owner")
    publish(bpmn.linear_inline(5000), key="long", owner=owner)

    response = api(owner).post("/api/workflows/long/start/", {"data": {}}, format="json")

    assert response.status_code == 201, response.data
    instance = ProcessInstance.objects.get(id=response.data["id"])
    assert (
        Step.objects.filter(instance=instance, status=Step.Status.COMPLETED).count() <= REQUEST_INLINE_BLOCKS
    )
    instance = wait_done(instance, timeout=120)
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.outcome == "done"
    assert not instance.has_incident
    assert Step.objects.filter(instance=instance, status=Step.Status.COMPLETED).count() == 5002
    # The hand-off's outbox row is deleted once its task has run, just after the instance completed.
    wait_for(lambda: not Outbox.objects.exists(), what="the hand-off's outbox row to be deleted")


def test_for_each_of_fifty_steps_finishing_together_completes_once_with_outputs_in_order(
    live_engine: Engine, http_server: ScriptedServer
) -> None:
    http_server.answer(Answer(body={"ok": True}))
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.script("lines", '{"lines": [' + ", ".join(str(n) for n in range(50)) + "]}"),
        bpmn.for_each(
            _http_step("order", http_server.url + "/line", inputs={"line": "line"}),
            "lines",
            item="line",
            output="answers",
            output_item="line * 10",
        ),
        bpmn.script("after", '{"joined": true}'),
        bpmn.end(),
        *bpmn.chain("start", "lines", "order", "after", "end"),
    )
    version = publish(xml, key="for-each-fifty")

    # 20 runs here (1,000 steps finishing in any order); bench/engine.py --only for-each runs 100.
    instances = [start_instance(version, {}) for _ in range(20)]
    for instance in instances:
        wait_done(instance, timeout=300)

    assert all(i.status == ProcessInstance.Status.COMPLETED for i in instances)
    assert all(i.variables["answers"] == [n * 10 for n in range(50)] for i in instances)
    assert Step.objects.filter(instance__in=instances, node_id="after").count() == 20
    holders = Step.objects.filter(instance__in=instances, node_id="order", loop_index__isnull=True)
    assert sorted(set(holders.values_list("status", flat=True))) == [Step.Status.COMPLETED]
    assert holders.count() == 20
    assert (
        Step.objects.filter(instance__in=instances, node_id="order", loop_index__isnull=False).count() == 1000
    )
    assert not Step.objects.filter(instance__in=instances, status__in=Step.OPEN_STATUSES).exists()
