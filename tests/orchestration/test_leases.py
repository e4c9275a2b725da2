"""A running step's lease: renewed while its worker lives, so a dead worker is noticed in seconds."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings

from orchestration.engine import start_instance
from orchestration.engine.dispatch import relay_outbox
from orchestration.engine.leases import renew_lease
from orchestration.engine.worker import claim_step, fail_step
from orchestration.models import ProcessInstance, Step
from tests import bpmn
from tests.conftest import Engine, wait_for
from tests.orchestration.conftest import Answer, ScriptedServer
from tests.orchestration.factories import publish
from tests.orchestration.test_engine_integration import wait_done


def _one_call_flow(url: str, key: str) -> ProcessInstance:
    properties = {"url": url, "method": "POST", "timeout": "100"}  # only the test's delays, never a timeout
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.service("call", properties=properties, outputs={"ok": "result.body.ok"}),
        bpmn.end(),
        *bpmn.chain("start", "call", "end"),
    )
    return start_instance(publish(xml, key=key), {})


def _process_talking_to(port: int, candidates: list[int]) -> int:
    """Which of ``candidates`` holds a TCP connection to local ``port`` (the one running the connector)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[2].split(":")[1], 16) == port:
            inodes.add(f"socket:[{fields[9]}]")
    for pid in candidates:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) in inodes:
                    return pid
            except OSError:
                continue
    raise AssertionError(f"no process of {candidates} is connected to port {port}")


def _pool_processes(worker_pid: int) -> list[int]:
    """The worker's pool processes (its children): they run the connectors."""
    children: list[int] = []
    for task in Path(f"/proc/{worker_pid}/task").iterdir():
        children += [int(pid) for pid in (task / "children").read_text().split()]
    return children


@pytest.mark.integration
def test_a_slow_connector_on_a_live_worker_runs_once_though_it_outlasts_the_lease(
    live_engine: Engine, http_server: ScriptedServer
) -> None:
    slow = settings.BATON_STEP_LEASE_SECONDS * 2 + 1
    http_server.answer(Answer(body={"ok": True}, delay=slow))
    instance = _one_call_flow(http_server.url, "slow-connector")

    instance = wait_done(instance, timeout=slow + 30)

    assert instance.status == ProcessInstance.Status.COMPLETED
    assert len(http_server.received) == 1
    assert instance.steps.get(node_id="call").attempt == 1


@pytest.mark.integration
def test_a_step_whose_worker_process_is_killed_runs_again_within_45_seconds(
    live_engine: Engine, http_server: ScriptedServer
) -> None:
    http_server.answer(Answer(body={"ok": False}, delay=120), Answer(body={"ok": True}))
    instance = _one_call_flow(http_server.url, "killed-pool-process")
    wait_for(lambda: http_server.received, what="the worker to call the server")
    assert instance.steps.get(node_id="call").status == Step.Status.RUNNING

    # Only the process running the connector dies (killing an idle one could leave the pool's
    # queue lock held); the worker's main process lives on and must not keep the lease.
    assert live_engine.worker.proc is not None
    port = int(http_server.url.rsplit(":", 1)[1])
    os.kill(_process_talking_to(port, _pool_processes(live_engine.worker.proc.pid)), signal.SIGKILL)
    killed_at = time.monotonic()
    instance = wait_done(instance, timeout=45)

    assert time.monotonic() - killed_at < 45
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.variables["ok"] is True
    assert len(http_server.received) == 2
    assert instance.steps.get(node_id="call").attempt == 2


@pytest.mark.django_db
def test_a_renewed_lease_moves_ahead_and_a_step_taken_away_is_never_renewed() -> None:
    instance = _one_call_flow("http://127.0.0.1:9/none", "renewed")
    step = instance.steps.get(node_id="call")
    claimed = claim_step(step.id, 1)
    assert claimed is not None and claimed.lease_until is not None

    assert renew_lease(step.id, 1)
    step.refresh_from_db()
    assert step.lease_until is not None and step.lease_until >= claimed.lease_until
    assert not renew_lease(step.id, 2)  # another attempt's lease is not this worker's

    relay_outbox(now=step.lease_until + timedelta(seconds=1))  # the worker stopped answering
    step.refresh_from_db()
    assert step.status == Step.Status.RETRY_WAIT
    assert not renew_lease(step.id, 1)
    step.refresh_from_db()
    assert step.lease_until is None


@pytest.mark.django_db
def test_a_lease_renewed_while_the_relay_declared_the_worker_lost_keeps_the_step_running() -> None:
    instance = _one_call_flow("http://127.0.0.1:9/none", "renewed-in-time")
    step = claim_step(instance.steps.get(node_id="call").id, 1)
    assert step is not None and step.lease_until is not None
    expired_at = step.lease_until - timedelta(seconds=1)  # the relay saw the lease over at this moment ...

    fail_step(step.id, 1, "lease expired", retryable=True, lease_over_at=expired_at)  # ... but it was renewed

    step.refresh_from_db()
    assert step.status == Step.Status.RUNNING and step.attempt == 1
