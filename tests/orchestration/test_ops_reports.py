"""Reports: figures checked on known data, the page with its chart data, the CSV export and permissions."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from guardian.shortcuts import assign_perm

from orchestration.engine import start_instance
from orchestration.engine.timers import fire_due_timers
from orchestration.models import ProcessInstance, Step, WorkflowVersion
from orchestration.ops.reports import Period, percentile, report
from tests import bpmn
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db

FLOW = bpmn.definitions(
    bpmn.start("start", bpmn.field("note")),
    bpmn.wait_timer("cool", "PT1H", name="Cooling-off period"),
    bpmn.end(),
    *bpmn.chain("start", "cool", "end"),
)


@pytest.fixture
def people() -> dict[str, Any]:
    users = get_user_model()
    return {name: users.objects.create_user(name) for name in ("owner", "victor", "olga")}


@pytest.fixture
def version(people: dict[str, Any]) -> WorkflowVersion:
    version = publish(FLOW, key="cooling", name="Cooling-off", owner=people["owner"])
    assign_perm("orchestration.view_workflow", people["victor"], version.workflow)
    return version


def _made(version: WorkflowVersion, started_days_ago: float, took_hours: float | None) -> ProcessInstance:
    """An instance started that many days ago; completed ``took_hours`` later (None: still running).

    Made and completed by the engine (its cooling-off timer fired), then its clock moved
    back: a test cannot wait days.
    """
    instance = start_instance(version, {"note": "x"})
    if took_hours is not None:
        fire_due_timers(timezone.now() + timedelta(hours=2))
        instance.refresh_from_db()
        assert instance.status == ProcessInstance.Status.COMPLETED
    began = timezone.now() - timedelta(days=started_days_ago)
    ProcessInstance.objects.filter(id=instance.id).update(started_at=began)
    Step.objects.filter(instance=instance).update(created_at=began)
    if took_hours is not None:
        ended = began + timedelta(hours=took_hours)
        ProcessInstance.objects.filter(id=instance.id).update(ended_at=ended)
        Step.objects.filter(instance=instance, node_id="cool").update(ended_at=ended)
    return instance


def _section(sections: list[Any], key: str) -> Any:
    return next(s for s in sections if s.key == key)


def test_percentile_is_the_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([4.0, 1.0, 3.0, 2.0, 10.0], 0.5) == 3.0
    assert percentile([4.0, 1.0, 3.0, 2.0, 10.0], 0.9) == 10.0
    assert percentile([7.0], 0.9) == 7.0


def test_requests_per_day_and_time_to_complete_on_known_data(version: WorkflowVersion) -> None:
    for hours in (1, 2, 3, 4, 10):
        _made(version, 1.5, hours)  # started the day before yesterday or yesterday, completed within hours
    _made(version, 40, 1)  # outside a 30-day period
    _made(version, 0, None)  # started today, running (made last: the others fire every due timer)

    sections = report(version.workflow, Period.last(30))
    days = _section(sections, "days")

    figures = {f.label: f.value for f in days.figures}
    assert figures == {
        "Started": "6",
        "Completed": "5",
        "Time to complete (median)": "3.0 h",
        "Time to complete (90%)": "10.0 h",
    }
    assert len(days.rows) == 30 and days.headers == ["date", "started", "completed"]
    assert days.rows[-1][1] == 1  # today: the running one
    assert sum(row[1] for row in days.rows) == 6 and sum(row[2] for row in days.rows) == 5
    assert days.chart.labels[-1] == timezone.now().strftime("%b %-d")
    assert [s.values for s in days.chart.series] == [
        [float(r[1]) for r in days.rows],
        [float(r[2]) for r in days.rows],
    ]


def test_time_waiting_at_each_block_on_known_data(version: WorkflowVersion) -> None:
    for hours in (1, 2, 6):
        _made(version, 2, hours)

    blocks = _section(report(version.workflow, Period.last(7)), "blocks")

    # Only blocks that wait are listed (not the start or the end); average 3 h, longest 6 h.
    assert blocks.rows == [["Cooling-off period", 3, "3.0 h", "6.0 h", 10800.0, 21600.0]]
    assert blocks.chart.labels == ["Cooling-off period"] and blocks.chart.series[0].values == [3.0]
    assert blocks.chart.unit == "hours"


def test_the_page_carries_the_chart_data_and_draws_with_static_scripts_only(
    people: dict[str, Any], version: WorkflowVersion
) -> None:
    _made(version, 1, 2)
    client = Client()
    client.force_login(people["owner"])

    response = client.get("/operations/reports/?days=7")

    assert response.status_code == 200
    body = response.content.decode()
    data = json.loads(
        re.search(r'<script id="report-charts" type="application/json">(.*?)</script>', body).group(1)
    )
    assert set(data) >= {"days", "blocks"} and data["days"]["kind"] == "bar"
    assert data["days"]["series"][1]["label"] == "Completed" and sum(data["days"]["series"][1]["values"]) == 1
    assert "vendor/chart.js/chart.umd.min.js" in body and "baton/reports.js" in body
    # Every other script tag is a file: the CSP refuses inline code.
    assert all('src="' in tag for tag in re.findall(r"<script(?![^>]*application/json)[^>]*>", body))
    assert "Time to complete (median)" in body and "Approval decisions" in body


def test_csv_export_has_the_table_and_defuses_formulas(
    people: dict[str, Any], version: WorkflowVersion
) -> None:
    sneaky = publish(
        FLOW.replace('name="Cooling-off period"', 'name="=HYPERLINK(&quot;x&quot;)"'),
        key="sneaky",
        owner=people["owner"],
    )
    _made(sneaky, 1, 2)
    client = Client()
    client.force_login(people["owner"])

    days = client.get("/operations/reports/export.csv?workflow=sneaky&days=7&table=days")
    blocks = client.get("/operations/reports/export.csv?workflow=sneaky&days=7&table=blocks")

    assert days.status_code == 200 and days["Content-Type"].startswith("text/csv")
    assert 'filename="sneaky-days-7d.csv"' in days["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(days.content.decode())))
    assert rows[0] == ["date", "started", "completed"] and len(rows) == 8
    assert sum(int(r[1]) for r in rows[1:]) == 1 and sum(int(r[2]) for r in rows[1:]) == 1
    [header, row] = list(csv.reader(io.StringIO(blocks.content.decode())))
    assert header == ["step", "passed", "average", "longest", "average_seconds", "longest_seconds"]
    assert row[0] == '\'=HYPERLINK("x")'


def test_bad_report_parameters_are_a_400_naming_them(
    people: dict[str, Any], version: WorkflowVersion
) -> None:
    client = Client()
    client.force_login(people["owner"])

    days = client.get("/operations/reports/?days=5")
    table = client.get("/operations/reports/export.csv?table=secrets")

    assert days.status_code == 400 and "days" in days.content.decode()
    assert (
        table.status_code == 400
        and "table" in table.content.decode()
        and "approvals" in table.content.decode()
    )


def test_reports_are_404_without_the_operate_right_and_403_for_viewers(
    people: dict[str, Any], version: WorkflowVersion
) -> None:
    _made(version, 1, 2)

    def get(user: Any, url: str) -> Any:
        client = Client()
        client.force_login(user)
        return client.get(url)

    answers = {
        "outsider page": get(people["olga"], "/operations/reports/").status_code,
        "outsider named": get(people["olga"], "/operations/reports/?workflow=cooling").status_code,
        "outsider csv": get(
            people["olga"], "/operations/reports/export.csv?workflow=cooling&table=days"
        ).status_code,
        "viewer page": get(people["victor"], "/operations/reports/").status_code,
        "viewer named": get(people["victor"], "/operations/reports/?workflow=cooling").status_code,
        "viewer csv": get(
            people["victor"], "/operations/reports/export.csv?workflow=cooling&table=days"
        ).status_code,
    }

    assert answers == {
        "outsider page": 404,
        "outsider named": 404,
        "outsider csv": 404,
        "viewer page": 404,  # operates nothing: no report to show
        "viewer named": 403,
        "viewer csv": 403,
    }
    assert Client().get("/operations/reports/").status_code == 302  # signed out: to the sign-in page
