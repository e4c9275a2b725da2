"""GET /metrics: Prometheus text parsed back and checked against known data; who may read it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from orchestration.engine import start_instance
from orchestration.models import Outbox, Timer
from tests import bpmn
from tests.conftest import Engine, wait_until_completed
from tests.orchestration.conftest import Answer, ScriptedServer
from tests.orchestration.factories import publish

DIVIDE = bpmn.definitions(
    bpmn.start("start", bpmn.field("count", "integer", required=True)),
    bpmn.script("divide", '{"share": 100 / count}', name="Share out"),
    bpmn.end(),
    *bpmn.chain("start", "divide", "end"),
)
WAIT = bpmn.definitions(
    bpmn.start("start"), bpmn.wait_timer("nap", "PT1H"), bpmn.end(), *bpmn.chain("start", "nap", "end")
)


def _call(url: str) -> str:
    return bpmn.definitions(
        bpmn.start("start"),
        bpmn.service("call", properties={"url": url, "method": "POST"}, retries=0),
        bpmn.end(),
        *bpmn.chain("start", "call", "end"),
    )


def _scrape(**extra: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = Client().get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


@pytest.mark.django_db
def test_metrics_count_instances_incidents_outbox_and_overdue_timers() -> None:
    divide = publish(DIVIDE, key="divide")
    for count in (0, 0, 4):
        start_instance(divide, {"count": count})
    call = publish(_call("http://127.0.0.1:9/nowhere"), key="call")
    queued = start_instance(call, {})  # no worker here: its step waits in the outbox
    Outbox.objects.filter(step__instance=queued).update(created_at=timezone.now() - timedelta(seconds=120))
    napping = start_instance(publish(WAIT, key="wait"), {})
    # A ticker that has fallen behind.
    Timer.objects.filter(instance=napping).update(due_at=timezone.now() - timedelta(seconds=60))

    samples = _scrape()

    assert samples[("baton_instances", (("status", "running"), ("workflow", "divide")))] == 2
    assert samples[("baton_instances", (("status", "completed"), ("workflow", "divide")))] == 1
    assert samples[("baton_instances", (("status", "running"), ("workflow", "call")))] == 1
    assert samples[("baton_open_incidents", (("workflow", "divide"),))] == 2
    assert ("baton_open_incidents", (("workflow", "call"),)) not in samples
    # The queued step, and the email telling the operators of the new incident group.
    assert samples[("baton_outbox_backlog", ())] == 2 and samples[("baton_outbox_waiting", ())] == 2
    assert 120 <= samples[("baton_outbox_oldest_waiting_seconds", ())] < 180
    assert samples[("baton_timers_overdue", ())] == 1
    assert 60 <= samples[("baton_timer_lag_seconds", ())] < 120


@pytest.mark.integration
def test_step_durations_are_a_histogram_per_connector(
    live_engine: Engine, http_server: ScriptedServer
) -> None:
    http_server.answer(Answer(body={"ok": True}, delay=0.3))
    version = publish(_call(f"{http_server.url}/slow"), key="slow-call")
    instances = [start_instance(version, {}) for _ in range(2)]
    wait_until_completed(instances)

    samples = _scrape()

    label = (("connector", "http.request"),)
    assert samples[("baton_step_duration_seconds_count", label)] == 2
    assert (
        samples[("baton_step_duration_seconds_bucket", (("connector", "http.request"), ("le", "+Inf")))] == 2
    )
    assert (
        samples[("baton_step_duration_seconds_bucket", (("connector", "http.request"), ("le", "0.25")))] == 0
    )
    assert samples[("baton_step_duration_seconds_sum", label)] >= 0.6
    buckets = [v for (name, labels), v in samples.items() if name == "baton_step_duration_seconds_bucket"]
    assert buckets == sorted(buckets)  # cumulative


@pytest.mark.django_db
def test_a_scrape_costs_the_same_queries_however_much_data_there_is() -> None:
    publish(DIVIDE, key="divide-1")
    start_instance(publish(DIVIDE, key="divide-0"), {"count": 0})
    _scrape()  # the first scrape reads the versions' graphs once
    with CaptureQueriesContext(connection) as few:
        _scrape()
    for n in range(1, 4):
        version = publish(DIVIDE.replace('id="flow"', f'id="flow{n}"'), key=f"more-{n}")
        for count in (0, 2, 0):
            start_instance(version, {"count": count})
        start_instance(publish(WAIT, key=f"wait-{n}"), {})
    start_instance(publish(_call("http://127.0.0.1:9/"), key="call"), {})
    _scrape()
    with CaptureQueriesContext(connection) as many:
        _scrape()

    assert len(many) == len(few) <= 6


@pytest.mark.django_db
def test_metrics_need_the_token_or_an_allowed_address(settings: Any) -> None:
    settings.BATON_METRICS_TOKEN = "s3cret-token"
    settings.BATON_METRICS_ALLOW = "10.0.0.0/8"
    client = Client()

    outside = client.get("/metrics", REMOTE_ADDR="192.0.2.7")
    wrong = client.get("/metrics", REMOTE_ADDR="192.0.2.7", HTTP_AUTHORIZATION="Bearer guess")
    right = client.get("/metrics", REMOTE_ADDR="192.0.2.7", HTTP_AUTHORIZATION="Bearer s3cret-token")
    inside = client.get("/metrics", REMOTE_ADDR="10.20.30.40")
    loopback = client.get("/metrics")  # 127.0.0.1 is not in the list any more

    assert [outside.status_code, wrong.status_code, right.status_code, inside.status_code] == [
        403,
        403,
        200,
        200,
    ]
    assert loopback.status_code == 403
    assert b"baton_instances" not in outside.content + wrong.content + loopback.content
    assert b"BATON_METRICS_TOKEN" in outside.content


@pytest.mark.django_db
def test_metrics_are_read_only(settings: Any) -> None:
    assert Client().post("/metrics").status_code == 405


@pytest.mark.django_db
def test_a_typo_in_the_allow_list_is_a_system_error_and_the_rest_still_applies(settings: Any) -> None:
    from orchestration.checks import check_metrics_access

    settings.BATON_METRICS_ALLOW = "10.0.0.0/8, not-an-address ,::1"

    [error] = check_metrics_access(None)
    assert error.id == "baton.E020" and "not-an-address" in error.msg
    assert Client().get("/metrics", REMOTE_ADDR="10.1.1.1").status_code == 200
    assert Client().get("/metrics", REMOTE_ADDR="192.0.2.1").status_code == 403
