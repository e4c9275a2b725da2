"""Metrics for monitoring systems: ``GET /metrics`` in Prometheus' text format (prometheus-client).

Every figure is read from the database when scraped (the database is the source of
truth, and any web process can answer), in a constant number of queries: instances
by workflow and status, open incidents, the outbox backlog and its oldest waiting
row, timers past due, and step durations per connector as a histogram.

Who may scrape: a request carrying ``Authorization: Bearer <BATON_METRICS_TOKEN>``
(when that setting is set), or one from an address in ``BATON_METRICS_ALLOW``
(addresses or networks, comma-separated; loopback by default). Anything else is 403.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Min, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from orchestration.engine.blocks import block_for, kinds
from orchestration.models import Incident, Outbox, ProcessInstance, Step, Timer, WorkflowVersion

# Upper bounds (seconds) of the step duration buckets: a quick HTTP call to a slow ERP.
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

# (version id, checksum) -> {node id: connector}; published versions never change.
_connectors: dict[tuple[int, str], dict[str, str]] = {}
_MAX_CACHED = 512


def _worker_kinds() -> list[str]:
    return [kind.name for kind in kinds() if block_for(kind.name).runs_on_worker]


class BatonCollector(Collector):
    """Reads the engine's state from the database at each scrape."""

    def collect(self) -> Iterator[Any]:
        now = timezone.now()
        yield self._instances()
        yield self._incidents()
        yield from self._outbox(now)
        yield from self._timers(now)
        yield self._durations()

    def _instances(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "baton_instances", "Process instances by workflow and status.", labels=["workflow", "status"]
        )
        rows = (
            ProcessInstance.objects.values("workflow__key", "status")
            .annotate(n=Count("id"))
            .order_by("workflow__key", "status")
        )
        for row in rows:
            family.add_metric([row["workflow__key"], row["status"]], row["n"])
        return family

    def _incidents(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "baton_open_incidents", "Incidents waiting for an operator, by workflow.", labels=["workflow"]
        )
        rows = (
            Incident.objects.filter(resolved_at__isnull=True)
            .values("instance__workflow__key")
            .annotate(n=Count("id"))
            .order_by("instance__workflow__key")
        )
        for row in rows:
            family.add_metric([row["instance__workflow__key"]], row["n"])
        return family

    def _outbox(self, now: Any) -> Iterator[GaugeMetricFamily]:
        # Not yet taken by a worker: a queued step's row, or a named task (an email) not yet run.
        waiting = Q(step__isnull=True) | Q(step__status=Step.Status.QUEUED, step__attempt=F("attempt"))
        seen = Outbox.objects.aggregate(
            backlog=Count("id"),
            waiting=Count("id", filter=waiting),
            oldest=Min("created_at", filter=waiting),
        )
        yield GaugeMetricFamily(
            "baton_outbox_backlog",
            "Outbox rows: work handed to the workers and not finished.",
            seen["backlog"],
        )
        yield GaugeMetricFamily(
            "baton_outbox_waiting", "Outbox rows whose work no worker has taken yet.", seen["waiting"]
        )
        oldest = (now - seen["oldest"]).total_seconds() if seen["oldest"] else 0.0
        yield GaugeMetricFamily(
            "baton_outbox_oldest_waiting_seconds",
            "Age of the oldest outbox row no worker has taken yet (0 when none).",
            max(oldest, 0.0),
        )

    def _timers(self, now: Any) -> Iterator[GaugeMetricFamily]:
        due = Timer.objects.filter(
            fired_at__isnull=True, cancelled_at__isnull=True, due_at__lte=now
        ).aggregate(n=Count("id"), oldest=Min("due_at"))
        yield GaugeMetricFamily("baton_timers_overdue", "Timers past due and not fired yet.", due["n"])
        lag = (now - due["oldest"]).total_seconds() if due["oldest"] else 0.0
        yield GaugeMetricFamily(
            "baton_timer_lag_seconds",
            "How long the most overdue timer has been due without firing (0 when none).",
            max(lag, 0.0),
        )

    def _durations(self) -> HistogramMetricFamily:
        duration = ExpressionWrapper(F("ended_at") - F("started_at"), output_field=DurationField())
        buckets = {
            f"le_{i}": Count("id", filter=Q(duration__lte=timedelta(seconds=bound)))
            for i, bound in enumerate(DURATION_BUCKETS)
        }
        grouped: Any = (  # bucket names are built, not literals: rows are plain dicts
            Step.objects.filter(
                kind__in=_worker_kinds(),
                status=Step.Status.COMPLETED,
                started_at__isnull=False,
                ended_at__isnull=False,
            )
            .annotate(duration=duration)
            .values("instance__version_id", "instance__version__checksum", "node_id")
            .annotate(n=Count("id"), total=Sum("duration"), **buckets)
            .order_by()
        )
        rows: list[dict[str, Any]] = list(grouped)
        connectors = _connectors_of(
            {(r["instance__version_id"], r["instance__version__checksum"]) for r in rows}
        )
        per_connector: dict[str, list[float]] = {}
        for row in rows:
            name = connectors.get((row["instance__version_id"], row["instance__version__checksum"]), {}).get(
                row["node_id"], "unknown"
            )
            counts = [row[f"le_{i}"] for i in range(len(DURATION_BUCKETS))]
            total = row["total"].total_seconds() if row["total"] is not None else 0.0
            summed = per_connector.setdefault(name, [0.0] * (len(DURATION_BUCKETS) + 2))
            for i, value in enumerate([*counts, row["n"], total]):
                summed[i] += value
        family = HistogramMetricFamily(
            "baton_step_duration_seconds",
            "How long completed worker steps ran (claim to completion), by connector.",
            labels=["connector"],
        )
        for name, summed in sorted(per_connector.items()):
            bounds = [*(str(b) for b in DURATION_BUCKETS), "+Inf"]
            family.add_metric([name], list(zip(bounds, summed[:-1], strict=True)), sum_value=summed[-1])
        return family


def _connectors_of(versions: set[tuple[int, str]]) -> dict[tuple[int, str], dict[str, str]]:
    """Each version's worker blocks and their connectors; versions not seen before cost one query together."""
    missing = [key for key in versions if key not in _connectors]
    if missing:
        if len(_connectors) + len(missing) > _MAX_CACHED:
            _connectors.clear()
        rows = WorkflowVersion.objects.filter(id__in=[v for v, _ in missing]).values_list(
            "id", "checksum", "graph"
        )
        for version_id, checksum, graph in rows:
            nodes = (graph or {}).get("nodes", {})
            _connectors[(version_id, checksum)] = {
                node_id: str(node.get("config", {}).get("connector", ""))
                for node_id, node in nodes.items()
                if node.get("config", {}).get("connector")
            }
    return {key: _connectors.get(key, {}) for key in versions}


def _allowed(request: HttpRequest) -> bool:
    token = str(settings.BATON_METRICS_TOKEN)
    if token:
        given = request.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in _networks())


def _networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for item in _allow_entries():
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            continue  # reported by the system check (baton.E020); the others still apply
    return networks


def _allow_entries() -> list[str]:
    return [item.strip() for item in str(settings.BATON_METRICS_ALLOW).split(",") if item.strip()]


def unreadable_allow_entries() -> list[str]:
    """The entries of ``BATON_METRICS_ALLOW`` that are neither an address nor a network."""
    wrong = []
    for item in _allow_entries():
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            wrong.append(item)
    return wrong


@require_GET
def scrape(request: HttpRequest) -> HttpResponse:
    """The metrics in Prometheus' text format; 403 without the token or an allowed address."""
    if not _allowed(request):
        return HttpResponse(
            "Metrics need the bearer token (BATON_METRICS_TOKEN) or an allowed address (BATON_METRICS_ALLOW).\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BatonCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
