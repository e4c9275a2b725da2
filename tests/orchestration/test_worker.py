"""A worker reporting a connector step takes the instance's next connector step itself, safely."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings

from orchestration.engine import start_instance
from orchestration.engine.dispatch import relay_outbox
from orchestration.engine.worker import claim_step, complete_step
from orchestration.models import Outbox, ProcessInstance, Step, Timer
from orchestration.tasks import run_step
from tests import bpmn
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[list[Any]]:
    """The ``run_step`` messages sent, instead of a broker."""
    messages: list[list[Any]] = []
    monkeypatch.setattr(run_step, "apply_async", lambda args, **options: messages.append(args))
    return messages


def _two_calls() -> ProcessInstance:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.service("first", properties={"url": "http://127.0.0.1:9/a"}, retries=2),
        bpmn.service("second", properties={"url": "http://127.0.0.1:9/b"}, retries=2),
        bpmn.end(),
        *bpmn.chain("start", "first", "second", "end"),
    )
    return start_instance(publish(xml, key="two-calls"), {})


def test_reporting_a_step_takes_the_next_connector_step_running_and_leased_without_a_message(
    published: list[list[Any]], django_capture_on_commit_callbacks: Any
) -> None:
    instance = _two_calls()
    first = instance.steps.get(node_id="first")
    assert claim_step(first.id, first.attempt) is not None

    with django_capture_on_commit_callbacks(execute=True):
        taken = complete_step(first.id, first.attempt, {"ok": True}, take_next=True)

    assert taken is not None and taken.node_id == "second"
    taken.refresh_from_db()
    assert taken.status == Step.Status.RUNNING and taken.attempt == 1
    assert taken.lease_until is not None and taken.started_at is not None
    # Its outbox row stays, due when the lease runs out: the relay's way to find a dead worker.
    assert Outbox.objects.get(step=taken).republish_at == taken.lease_until
    assert published == []


def test_without_taking_the_next_step_is_queued_and_published(
    published: list[list[Any]], django_capture_on_commit_callbacks: Any
) -> None:
    instance = _two_calls()
    first = instance.steps.get(node_id="first")
    claim_step(first.id, first.attempt)

    with django_capture_on_commit_callbacks(execute=True):
        taken = complete_step(first.id, first.attempt, {"ok": True})

    second = instance.steps.get(node_id="second")
    assert taken is None and second.status == Step.Status.QUEUED
    assert published == [[second.id, 1]]


def test_a_taken_step_whose_worker_died_is_retried_once_its_lease_runs_out(
    published: list[list[Any]], django_capture_on_commit_callbacks: Any
) -> None:
    instance = _two_calls()
    first = instance.steps.get(node_id="first")
    claim_step(first.id, first.attempt)
    with django_capture_on_commit_callbacks(execute=True):
        taken = complete_step(first.id, first.attempt, {"ok": True}, take_next=True)
    assert taken is not None and taken.lease_until is not None

    # The worker died before running it: nothing renews the lease.
    relay_outbox(now=taken.lease_until - timedelta(seconds=1))
    taken.refresh_from_db()
    assert taken.status == Step.Status.RUNNING
    relay_outbox(now=taken.lease_until + timedelta(seconds=1))

    taken.refresh_from_db()
    assert taken.status == Step.Status.RETRY_WAIT
    assert "stopped answering" in taken.error
    retry = Timer.objects.get(step=taken, kind=Timer.Kind.RETRY)
    assert retry.payload == {"attempt": 2}
    assert settings.BATON_WORKER_CHAIN_SECONDS > 0  # chaining is on by default
