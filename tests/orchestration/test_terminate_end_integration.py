"""Stop everything with a real worker: a connector step running on it is cancelled, its late answer ignored."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from orchestration.engine import correlate_message, start_instance
from orchestration.models import Event, ProcessInstance, Step
from tests import bpmn
from tests.conftest import Engine, wait_for
from tests.orchestration.factories import publish

pytestmark = [pytest.mark.integration]


class _HeldAnswer:
    """An external system that answers only once the test lets it: the connector is held mid-call."""

    def __init__(self) -> None:
        self.called = threading.Event()
        self.release = threading.Event()
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                gate.called.set()
                gate.release.wait(timeout=60)
                body = b'{"order_id": "PO-7"}'
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/orders"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()


@pytest.fixture
def held() -> Iterator[_HeldAnswer]:
    server = _HeldAnswer()
    yield server
    server.release.set()
    server.httpd.shutdown()
    server.httpd.server_close()


def test_stop_everything_while_a_worker_runs_a_connector_ignores_its_late_result(
    live_engine: Engine, held: _HeldAnswer
) -> None:
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("order", required=True)),
        bpmn.gateway("split", "parallel"),
        bpmn.service(
            "erp",
            properties={"url": held.url, "method": "POST"},
            outputs={"order_id": "result.body.order_id"},
        ),
        bpmn.end("end", outcome="ordered"),
        bpmn.wait_message("withdrawn", "withdraw", "order"),
        bpmn.stop("stop", outcome="withdrawn"),
        bpmn.flow("start", "split"),
        bpmn.flow("split", "erp"),
        bpmn.flow("split", "withdrawn"),
        *bpmn.chain("erp", "end"),
        *bpmn.chain("withdrawn", "stop"),
        messages=("withdraw",),
    )
    instance = start_instance(publish(xml, key="stop-running"), {"order": "A-7"})
    assert held.called.wait(timeout=60), "the worker never called the order system"
    erp = Step.objects.get(instance=instance, node_id="erp")
    assert erp.status == Step.Status.RUNNING

    correlate_message("withdraw", "A-7")
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.outcome == "withdrawn"
    held.release.set()  # the order system answers now, too late

    late = wait_for(
        lambda: Event.objects.filter(instance=instance, kind="step.late_result").first(),
        what="the worker to report its late result",
    )
    assert late.step_id == erp.id
    instance.refresh_from_db()
    assert "order_id" not in instance.variables and instance.outcome == "withdrawn"
    erp.refresh_from_db()
    assert erp.status == Step.Status.CANCELLED and erp.output == {}
    assert not Step.objects.filter(instance=instance, node_id="end").exists()
