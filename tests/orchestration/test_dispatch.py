"""The outbox carries named tasks (approval emails) as it carries steps: sent once, sent again if lost."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from orchestration.engine import dispatch, start_instance
from orchestration.models import Outbox
from orchestration.tasks import deliver_task, noop, run_step
from tests import bpmn
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Calls of the ``orchestration.noop`` task's body."""
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(noop, "run", lambda *args: calls.append(args))
    return calls


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[list[Any]]:
    """The ``deliver`` messages sent, instead of a broker."""
    messages: list[list[Any]] = []
    monkeypatch.setattr(deliver_task, "apply_async", lambda args: messages.append(args))
    return messages


def _queued(django_capture_on_commit_callbacks: Any, *args: Any) -> Outbox:
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.queue_task("orchestration.noop", list(args))
    return Outbox.objects.get(step=None)


def test_a_named_task_is_published_on_commit_and_runs_once_however_often_it_arrives(
    ran, published, django_capture_on_commit_callbacks
):
    row = _queued(django_capture_on_commit_callbacks, "a", 1)
    assert published == [[row.id, 0]]

    dispatch.deliver(row.id, 0)
    dispatch.deliver(row.id, 0)

    assert ran == [("a", 1)]
    assert not Outbox.objects.filter(id=row.id).exists()


def test_a_named_task_whose_message_is_lost_is_published_again_by_the_relay(
    ran, published, django_capture_on_commit_callbacks
):
    row = _queued(django_capture_on_commit_callbacks, "b")
    published.clear()

    assert dispatch.relay_outbox(now=row.republish_at - timedelta(seconds=1)) == 0
    assert dispatch.relay_outbox(now=row.republish_at) == 1
    assert published == [[row.id, 1]]
    dispatch.deliver(row.id, 0)  # the lost first message turns up late: stale, dropped
    assert ran == []
    dispatch.deliver(row.id, 1)
    assert ran == [("b",)]


def test_a_named_task_that_fails_stays_for_the_relay_until_it_gives_up(
    monkeypatch, published, django_capture_on_commit_callbacks, caplog
):
    def mail_server_down(*args: Any) -> None:
        raise OSError("mail server down")

    monkeypatch.setattr(noop, "run", mail_server_down)
    row = _queued(django_capture_on_commit_callbacks)
    with pytest.raises(OSError):
        dispatch.deliver(row.id, 0)
    assert Outbox.objects.filter(id=row.id).exists()

    now, counts = timezone.now(), []
    for _ in range(2 * dispatch.MAX_DELIVERIES):
        now += timedelta(days=1)
        if dispatch.relay_outbox(now=now):
            counts.append(published[-1][1])

    assert counts == list(range(2, dispatch.MAX_DELIVERIES + 1))
    assert not Outbox.objects.filter(id=row.id).exists()
    assert "Giving up outbox task" in caplog.text


def test_only_a_registered_task_can_be_queued():
    with pytest.raises(ValueError, match="not a registered Celery task"):
        dispatch.queue_task("nobody.knows", [])

    assert not Outbox.objects.exists()


@pytest.fixture
def steps_published(monkeypatch: pytest.MonkeyPatch) -> list[list[Any]]:
    """The ``run_step`` messages the relay sends, instead of a broker."""
    messages: list[list[Any]] = []
    monkeypatch.setattr(run_step, "apply_async", lambda args, **options: messages.append(args))
    return messages


def _queued_steps(count: int) -> list[Outbox]:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.service("call", properties={"url": "http://127.0.0.1:9/none"}),
        bpmn.end(),
        *bpmn.chain("start", "call", "end"),
    )
    version = publish(xml, key="relayed")
    rows = []
    for _ in range(count):
        instance = start_instance(version, {})
        rows.append(Outbox.objects.get(step__instance=instance))
    return rows


def test_the_relay_does_not_resend_a_backlog_the_broker_still_holds(monkeypatch, steps_published):
    rows = _queued_steps(3)
    monkeypatch.setattr(dispatch, "queue_depth", lambda: 3)  # every message still waits in the queue
    later = max(row.republish_at for row in rows)

    assert dispatch.relay_outbox(now=later) == 0

    assert steps_published == []
    for row in rows:
        row.refresh_from_db()
        assert row.publish_count == 0 and row.republish_at > later  # looked at again later, not counted


def test_the_relay_resends_only_as_many_messages_as_the_queue_lost_oldest_first(monkeypatch, steps_published):
    rows = _queued_steps(3)
    monkeypatch.setattr(dispatch, "queue_depth", lambda: 2)  # one message is gone
    later = max(row.republish_at for row in rows)

    assert dispatch.relay_outbox(now=later) == 1

    assert steps_published == [[rows[0].step_id, 1]]


def test_the_relay_resends_every_waiting_step_when_the_broker_lost_its_queue(monkeypatch, steps_published):
    rows = _queued_steps(2)
    monkeypatch.setattr(dispatch, "queue_depth", lambda: 0)  # Redis restarted without its data
    later = max(row.republish_at for row in rows)

    assert dispatch.relay_outbox(now=later) == 2
    assert sorted(steps_published) == sorted([row.step_id, 1] for row in rows)

    # Lost again: sent again after a back-off that doubles per row but stays within minutes.
    for row in rows:
        row.refresh_from_db()
        assert row.publish_count == 1 and row.republish_at == later + dispatch._grace()
    far = later + dispatch._grace() * 100
    for _ in range(6):
        dispatch.relay_outbox(now=far)
        far += dispatch._grace() * 8
    assert len(steps_published) == 2 + 2 * 6
