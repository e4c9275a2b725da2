"""The ticker and schedules: a scheduled Start fires on its moments and stops after the last one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from orchestration.engine.timers import fire_due_timers
from orchestration.models import ProcessInstance, Timer, WorkflowVersion
from tests import bpmn
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


def _scheduled(key: str, **timer: str) -> WorkflowVersion:
    return publish(
        bpmn.definitions(bpmn.start("start", **timer), bpmn.end(), bpmn.flow("start", "end")), key=key
    )


def _pending(version: WorkflowVersion) -> list[Timer]:
    return list(Timer.objects.filter(version=version, fired_at__isnull=True, cancelled_at__isnull=True))


def _started(version: WorkflowVersion) -> int:
    return ProcessInstance.objects.filter(version=version, trigger="timer").count()


def test_an_r2_cycle_starts_exactly_two_requests_an_hour_apart() -> None:
    version = _scheduled("twice", cycle="R2/PT1H")
    [first] = _pending(version)
    assert timedelta(minutes=59) < first.due_at - timezone.now() <= timedelta(hours=1)

    assert fire_due_timers(now=first.due_at) == 1
    [second] = _pending(version)
    assert second.due_at - first.due_at == timedelta(hours=1)
    assert fire_due_timers(now=second.due_at) == 1

    assert _started(version) == 2
    assert _pending(version) == []
    assert fire_due_timers(now=second.due_at + timedelta(days=30)) == 0
    assert _started(version) == 2


def test_a_cycle_from_a_date_fires_on_its_dates_and_stops_after_its_count() -> None:
    begin = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    version = _scheduled("daily", cycle=f"R3/{begin.isoformat()}/P1D")
    due = []
    while pending := _pending(version):
        due.append(pending[0].due_at)
        fire_due_timers(now=pending[0].due_at)
    assert due == [begin, begin + timedelta(days=1), begin + timedelta(days=2)]
    assert _started(version) == 3


def test_a_date_start_fires_once() -> None:
    moment = (timezone.now() + timedelta(hours=3)).replace(microsecond=0)
    version = _scheduled("once", date=moment.isoformat())
    [timer] = _pending(version)
    assert timer.due_at == moment

    assert fire_due_timers(now=moment) == 1
    assert _started(version) == 1 and _pending(version) == []


def test_a_date_start_already_past_at_publishing_never_fires() -> None:
    version = _scheduled("gone", date="2020-01-01T09:00:00Z")
    assert _pending(version) == []


def test_a_late_ticker_starts_one_request_for_the_moments_it_missed() -> None:
    version = _scheduled("hourly", cycle="R/PT1H")
    [first] = _pending(version)

    assert fire_due_timers(now=first.due_at + timedelta(hours=5, minutes=30)) == 1

    assert _started(version) == 1
    [following] = _pending(version)
    assert following.due_at == first.due_at + timedelta(hours=6)
    assert following.payload["fired"] == 6  # the five hours missed count as fired


def test_a_version_published_with_only_cron_keeps_firing() -> None:
    # Versions published before ISO cycles hold "cron" and no "timer", and their timers no count.
    version = _scheduled("legacy", cron="0 9 * * *")
    graph = version.graph
    del graph["nodes"]["start"]["config"]["timer"]
    WorkflowVersion.objects.filter(pk=version.pk).update(graph=graph)
    [timer] = _pending(version)
    Timer.objects.filter(pk=timer.pk).update(payload={"node_id": "start"})

    assert fire_due_timers(now=timer.due_at) == 1

    [following] = _pending(version)
    assert following.due_at - timer.due_at == timedelta(days=1)
    assert _started(version) == 1
