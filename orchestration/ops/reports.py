"""Reports on a workflow over a period: requests started and completed per day, time to complete, waits per block.

A report is a list of :class:`ReportSection`: figures shown as cards, a chart (drawn
in the browser by Chart.js from the section's :class:`Chart`) and the table behind it
(the CSV export). The engine's sections are built here; apps add theirs through the
modules named in ``BATON_REPORT_MODULES``, each with a function
``report_sections(workflow, period) -> list[ReportSection]`` (approvals: approval and
rejection rates, overdue tasks), so this package never imports an app.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib import import_module
from typing import Any, Literal

from django.conf import settings
from django.db import connection
from django.db.models import Aggregate, Count, DurationField, ExpressionWrapper, F, Max, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from orchestration.engine.blocks import block_for, kinds
from orchestration.models import ProcessInstance, Step, Workflow

__all__ = [
    "PERIODS",
    "Chart",
    "Figure",
    "Listed",
    "Period",
    "ReportSection",
    "Series",
    "hours",
    "percentile",
    "report",
]

# The periods offered, in days.
PERIODS = (7, 30, 90)

ChartKind = Literal["line", "bar", "horizontal-bar", "stacked-bar"]


@dataclass(frozen=True)
class Period:
    """The days a report covers, ending now (UTC)."""

    days: int
    until: datetime

    @classmethod
    def last(cls, days: int) -> Period:
        return cls(days=days, until=timezone.now())

    @property
    def since(self) -> datetime:
        start = (self.until - timedelta(days=self.days - 1)).date()
        return datetime(start.year, start.month, start.day, tzinfo=self.until.tzinfo)

    @property
    def dates(self) -> list[date]:
        first = self.since.date()
        return [first + timedelta(days=n) for n in range(self.days)]


@dataclass(frozen=True)
class Figure:
    """One number on a card: "Completed", "41"."""

    label: str
    value: str
    hint: str = ""


@dataclass(frozen=True)
class Series:
    label: str
    values: list[float]
    tone: str = "primary"  # a Bootstrap colour name; the page's script picks the colour


@dataclass(frozen=True)
class Chart:
    """What the page's script draws: a kind, the labels along one axis and one or more series."""

    kind: ChartKind
    labels: list[str]
    series: list[Series]
    unit: str = ""

    def as_data(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "labels": self.labels,
            "unit": self.unit,
            "series": [{"label": s.label, "values": s.values, "tone": s.tone} for s in self.series],
        }


@dataclass(frozen=True)
class Listed:
    """One line a section lists under its figures: a request (its number and title, linked) and what happened."""

    label: str
    url: str
    text: str


@dataclass
class ReportSection:
    """One part of a report: its figures, its chart and the table behind it (exported as CSV)."""

    key: str
    title: str
    description: str = ""
    figures: list[Figure] = field(default_factory=list)
    chart: Chart | None = None
    headers: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    empty: str = "Nothing in this period."
    # Requests worth a look, newest first, under a heading of their own ("Latest disagreements").
    listed_title: str = ""
    listed: list[Listed] = field(default_factory=list)

    @property
    def header_labels(self) -> list[str]:
        """The table's headers as people read them ("average_seconds" → "Average seconds")."""
        return [header.replace("_", " ").capitalize() for header in self.headers]


def hours(seconds: float | None) -> str:
    """A duration in words a clerk reads at a glance: "40 s", "45 min", "3.5 h", "2.1 days"."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{max(seconds, 0):.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def percentile(values: list[float], p: float) -> float | None:
    """The nearest-rank ``p`` percentile (0 < p ≤ 1) of ``values``; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(p * len(ordered)) - 1, 0)]


def report(workflow: Workflow, period: Period) -> list[ReportSection]:
    """Every section of ``workflow``'s report: the engine's, then each app's (``BATON_REPORT_MODULES``)."""
    sections = [_volume(workflow, period), _waits(workflow, period)]
    for module in settings.BATON_REPORT_MODULES:
        sections.extend(import_module(module).report_sections(workflow, period))
    return sections


def _per_day(rows: Any, period: Period) -> list[int]:
    counts = {row["day"]: row["n"] for row in rows}
    return [counts.get(day, 0) for day in period.dates]


def _volume(workflow: Workflow, period: Period) -> ReportSection:
    """Requests started and completed per day, and how long completing took (p50, p90)."""
    instances = ProcessInstance.objects.filter(workflow=workflow)
    started = (
        instances.filter(started_at__gte=period.since, started_at__lte=period.until)
        .annotate(day=TruncDate("started_at"))
        .values("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    completed_in_period = instances.filter(
        status=ProcessInstance.Status.COMPLETED, ended_at__gte=period.since, ended_at__lte=period.until
    )
    completed = (
        completed_in_period.annotate(day=TruncDate("ended_at"))
        .values("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    per_day_started = _per_day(started, period)
    per_day_completed = _per_day(completed, period)
    median, p90 = _time_to_complete(completed_in_period)
    labels = [day.isoformat() for day in period.dates]
    return ReportSection(
        key="days",
        title="Requests per day",
        description="Requests started and completed each day, and how long completing one took.",
        figures=[
            Figure("Started", str(sum(per_day_started))),
            Figure("Completed", str(sum(per_day_completed))),
            Figure("Time to complete (median)", hours(median), "half were done within this"),
            Figure(
                "Time to complete (90%)",
                hours(p90),
                "nine in ten were done within this",
            ),
        ],
        chart=Chart(
            "bar",
            [day.strftime("%b %-d") for day in period.dates],
            [
                Series("Started", list(map(float, per_day_started)), "primary"),
                Series("Completed", list(map(float, per_day_completed)), "success"),
            ],
        ),
        headers=["date", "started", "completed"],
        rows=[[label, s, c] for label, s, c in zip(labels, per_day_started, per_day_completed, strict=True)],
    )


class _PercentileDisc(Aggregate):
    """PostgreSQL's nearest-rank percentile (``percentile_disc``), the same rule as :func:`percentile`."""

    function = "PERCENTILE_DISC"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()

    def __init__(self, expression: Any, fraction: float) -> None:
        super().__init__(expression, fraction=float(fraction))


def _time_to_complete(completed: QuerySet[ProcessInstance]) -> tuple[float | None, float | None]:
    """The median and 90th percentile of completed instances' run time, in seconds.

    PostgreSQL computes them in the query; elsewhere (the embedded SQLite) the
    durations are read and ranked here.
    """
    took = ExpressionWrapper(F("ended_at") - F("started_at"), output_field=DurationField())
    if connection.vendor == "postgresql":
        ranks = completed.aggregate(median=_PercentileDisc(took, 0.5), p90=_PercentileDisc(took, 0.9))
        return _seconds_or_none(ranks["median"]), _seconds_or_none(ranks["p90"])
    durations = [
        (ended - began).total_seconds()
        for began, ended in completed.values_list("started_at", "ended_at")
        if ended is not None
    ]
    return percentile(durations, 0.5), percentile(durations, 0.9)


def _seconds_or_none(value: Any) -> float | None:
    return None if value is None else _seconds(value)


def _waits(workflow: Workflow, period: Period) -> ReportSection:
    """How long requests waited at each block that waits (people, workers, timers, messages)."""
    waiting_kinds = [kind.name for kind in kinds() if block_for(kind.name).waits]
    waited = ExpressionWrapper(F("ended_at") - F("created_at"), output_field=DurationField())
    rows = list(
        Step.objects.filter(
            instance__workflow=workflow,
            kind__in=waiting_kinds,
            status__in=[Step.Status.COMPLETED, Step.Status.SKIPPED],
            ended_at__gte=period.since,
            ended_at__lte=period.until,
        )
        .annotate(waited=waited)
        .values("node_id")
        .annotate(n=Count("id"), total=Sum("waited"), longest=Max("waited"), name=Max("node_name"))
        .order_by("node_id")
    )
    blocks = []
    for row in rows:
        average = _seconds(row["total"]) / row["n"]
        blocks.append((row["name"] or row["node_id"], row["n"], average, _seconds(row["longest"])))
    blocks.sort(key=lambda block: -block[2])
    unit, size = _unit_for(max((avg for _, _, avg, _ in blocks), default=0.0))
    return ReportSection(
        key="blocks",
        title="Time waiting at each step",
        description="On average, how long a request stayed at each step that waits for people, a system or a date.",
        chart=Chart(
            "horizontal-bar",
            [name for name, *_ in blocks],
            [Series("Average wait", [round(avg / size, 2) for _, _, avg, _ in blocks], "warning")],
            unit=unit,
        )
        if blocks
        else None,
        headers=["step", "passed", "average", "longest", "average_seconds", "longest_seconds"],
        rows=[
            [name, n, hours(avg), hours(longest), round(avg, 1), round(longest, 1)]
            for name, n, avg, longest in blocks
        ],
    )


def _unit_for(seconds: float) -> tuple[str, float]:
    """The unit a chart of durations up to ``seconds`` reads best in, and its size in seconds."""
    if seconds < 120:
        return "seconds", 1.0
    if seconds < 2 * 3600:
        return "minutes", 60.0
    if seconds < 48 * 3600:
        return "hours", 3600.0
    return "days", 86400.0


def _seconds(value: Any) -> float:
    """A duration aggregate as seconds (a timedelta; SQLite may hand back microseconds)."""
    if value is None:
        return 0.0
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value) / 1_000_000
