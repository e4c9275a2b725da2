"""What the operations console reads about instances: list rows, counts per status, plain words.

Queries only; every change goes through the engine's actions (:mod:`orchestration.engine.operations`).
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import EmptyResultSet
from django.db import OperationalError, connections, transaction
from django.db.models import Count, Prefetch, Q, QuerySet

from orchestration.access import operated_workflows
from orchestration.bpmn.problems import node_label
from orchestration.connectors import ai, ai_tools
from orchestration.engine import tool_calls
from orchestration.engine.blocks.exclusive import chosen_words
from orchestration.engine.operations import is_move_target
from orchestration.models import Event, Incident, ProcessInstance, Step
from orchestration.step_names import step_label, step_titles

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from orchestration.bpmn.graph import Graph, Node

_OPEN_STEPS = Prefetch(
    "steps",
    queryset=Step.objects.filter(status__in=Step.OPEN_STATUSES).order_by("created_at", "id"),
    to_attr="open_steps",
)

# What a request waits for, in words, by the open step's status (and its block kind when waiting).
_WAITING_KIND = {
    "user_task": "Approval",
    "timer_catch": "Waiting for a date or time",
    "message_catch": "Waiting for a message",
    "event_gateway": "Waiting for the first of several events",
    "call_activity": "Waiting for a sub-process",
    "group": "Running the steps inside",
}
_BY_STATUS: dict[str, str] = {
    Step.Status.INCIDENT: "Stopped at",
    Step.Status.QUEUED: "Working",
    Step.Status.RUNNING: "Working",
    Step.Status.ACTIVE: "Working",
    Step.Status.RETRY_WAIT: "Trying again soon",
}


@dataclass(frozen=True)
class Waiting:
    """One open step as an operator reads it: what kind of wait, at which step."""

    node_id: str
    step: str
    what: str
    incident: bool


def operated_by_id(user: AbstractBaseUser) -> tuple[list[int], QuerySet[ProcessInstance]]:
    """The ids of the workflows ``user`` operates (:func:`~orchestration.access.operated_workflows`,
    read once), and the instances of those workflows by that list of ids.

    The same rows as :func:`~orchestration.access.operated_instances`; a list of ids is planned
    in a fraction of the time the permission subquery takes in each of a page's statements
    (the counts repeat it six times: 6 to 25 ms of planning a page at 10^6, under load).
    """
    ids = list(operated_workflows(user).order_by().values_list("pk", flat=True))
    return ids, ProcessInstance.objects.filter(workflow_id__in=ids)


def listed(instances: QuerySet[ProcessInstance]) -> QuerySet[ProcessInstance]:
    """``instances`` with what a list row shows: two queries per page whatever its length."""
    return instances.select_related("workflow", "version", "initiator").prefetch_related(_OPEN_STEPS)


def waiting(step: Step) -> Waiting:
    """Where and for what ``step`` (an open one) holds the request, in plain words."""
    if step.status == Step.Status.WAITING:
        what = _WAITING_KIND.get(step.kind, "Waiting")
    else:
        what = _BY_STATUS.get(step.status, step.get_status_display())
    return Waiting(step.node_id, step.node_name or step.node_id, what, step.status == Step.Status.INCIDENT)


def waiting_at(instance: ProcessInstance) -> list[Waiting]:
    """The open steps of a ``listed`` instance (prefetched), in plain words."""
    return [waiting(step) for step in getattr(instance, "open_steps", [])]


def status_counts(instances: QuerySet[ProcessInstance]) -> dict[str, int]:
    """How many of ``instances`` are running, need attention, completed, cancelled, and in all (one query).

    Exact, so it reads every matching row: for the API's counts, asked for on purpose. The
    page's tabs use :func:`capped_status_counts`.
    """
    running = ProcessInstance.Status.RUNNING
    counts: dict[str, Any] = instances.order_by().aggregate(
        all=Count("pk"),
        running=Count("pk", filter=Q(status=running)),
        attention=Count("pk", filter=Q(status=running, has_incident=True)),
        completed=Count("pk", filter=Q(status=ProcessInstance.Status.COMPLETED)),
        cancelled=Count("pk", filter=Q(status=ProcessInstance.Status.CANCELLED)),
    )
    return {name: int(value or 0) for name, value in counts.items()}


# Past this many, a status tab says "1,000+": an exact count reads every matching row (200,000
# instances: 60 to 250 ms a page), a capped one at most this many, whatever the table holds.
COUNT_CAP = 1_000
# How long the status tabs may spend counting (PostgreSQL). A filter that leaves few or no
# requests in a tab (needs attention *and* waiting at an approval) reads every candidate row
# to find that out; past this budget that tab's number is left out instead of slowing the page.
COUNT_BUDGET_MS = 50


def capped_status_counts(
    instances: QuerySet[ProcessInstance], budget_ms: int = COUNT_BUDGET_MS
) -> dict[str, int | None]:
    """:func:`status_counts` counting at most ``COUNT_CAP + 1`` of each (one query); that means "more".

    The first ``COUNT_CAP + 1`` of ``instances`` are read once: when that is all of them (a
    search, a business key, a person), each status is counted in those rows. Only past the
    cap is each status counted on its own, each stopping at its own cap, so the query reads
    at most that many index entries or rows per status whatever the table holds. On
    PostgreSQL the counts get ``budget_ms``: past it, only the count of all of them is tried
    again (the pager needs it) and the others are None ("not counted"); that one past the
    budget too, every count is None.
    """
    cap = COUNT_CAP
    running = ProcessInstance.Status.RUNNING
    each: dict[str, tuple[QuerySet[ProcessInstance], str]] = {
        "all": (instances, "TRUE"),
        "running": (instances.filter(status=running), "status = %s"),
        "attention": (instances.filter(status=running, has_incident=True), "status = %s AND has_incident"),
        "completed": (instances.filter(status=ProcessInstance.Status.COMPLETED), "status = %s"),
        "cancelled": (instances.filter(status=ProcessInstance.Status.CANCELLED), "status = %s"),
    }
    statuses = {
        "running": [running],
        "attention": [running],
        "completed": [ProcessInstance.Status.COMPLETED],
        "cancelled": [ProcessInstance.Status.CANCELLED],
    }
    compiled: dict[str, tuple[str, list[Any]]] = {}
    for name, (subset, _) in each.items():
        query = subset.order_by().values("status", "has_incident")[: cap + 1].query
        try:
            sql, params = query.get_compiler(instances.db).as_sql()
        except EmptyResultSet:  # .none(): nothing to count
            return dict.fromkeys(each, 0)
        compiled[name] = (sql, list(params))
    first, first_params = compiled["all"]
    parts: dict[str, tuple[str, list[Any]]] = {"all": ("(SELECT COUNT(*) FROM few)", [])}
    for name in ("running", "attention", "completed", "cancelled"):
        sql, params = compiled[name]
        # An uncorrelated subquery runs only when its branch is taken: past the cap only.
        counted_alone = f"(SELECT COUNT(*) FROM ({sql}) AS capped)"  # noqa: S608 (SQL compiled by Django, values as parameters)
        within_few = f"(SELECT COUNT(*) FROM few WHERE {each[name][1]})"  # noqa: S608 (a fixed condition above)
        parts[name] = (
            f"CASE WHEN (SELECT COUNT(*) FROM few) <= {cap} THEN {within_few} ELSE {counted_alone} END",  # noqa: S608
            [*statuses[name], *params],
        )
    for names in (list(each), ["all"]):
        selected = ", ".join(parts[name][0] for name in names)
        row = _within_budget(
            instances.db,
            budget_ms,
            f"WITH few AS MATERIALIZED ({first}) SELECT {selected}",
            [*first_params, *(param for name in names for param in parts[name][1])],
        )
        if row is not None:
            counted = dict(zip(names, (int(value) for value in row), strict=True))
            return {name: counted.get(name) for name in each}
    return dict.fromkeys(each)


def _within_budget(db: str, budget_ms: int, sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    """The one row ``sql`` answers, or None when PostgreSQL cancelled it after ``budget_ms``."""
    connection = connections[db]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return tuple(cursor.fetchone())
    nested = connection.in_atomic_block
    try:
        with transaction.atomic(using=db), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL statement_timeout = {int(budget_ms)}")
            cursor.execute(sql, params)
            row = tuple(cursor.fetchone())
            if nested:  # SET LOCAL outlives a savepoint: the enclosing transaction gets its own back
                cursor.execute("SET LOCAL statement_timeout TO DEFAULT")
            return row
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == _QUERY_CANCELED:
            return None
        raise


_QUERY_CANCELED = "57014"


def capped_count(instances: QuerySet[ProcessInstance], limit: int) -> int:
    """How many of ``instances`` there are, counting at most ``limit + 1`` (which means "more")."""
    return instances.order_by()[: limit + 1].count()


def count_words(count: int | None) -> str:
    """A count as a tab shows it: "734", "1,000+" past the cap, "" when not counted."""
    if count is None:
        return ""
    return f"{COUNT_CAP:,}+" if count > COUNT_CAP else f"{count:,}"


# --- one instance ------------------------------------------------------------------------

# Declared types (graph variables, start-form fields) in words a clerk reads.
TYPE_WORDS = {
    "string": "Text",
    "text": "Text",
    "email": "Email",
    "choice": "Choice",
    "number": "Number",
    "integer": "Whole number",
    "boolean": "Yes/no",
    "date": "Date",
    "map": "Record",
    "list": "List",
    "dyn": "Any",
}
# Keys whose values are never shown (passwords, tokens, keys), at any depth of a step's data.
_SECRET_KEY = re.compile(
    r"pass(word)?|secret|token|api[_-]?key|authori[sz]ation|credential|private|cookie|signature", re.I
)
REDACTED = "•••••• (hidden)"


@dataclass(frozen=True)
class DataItem:
    """One variable: its label, its type in words, its value, and the text an operator edits."""

    name: str
    label: str
    type: str
    kind: str
    value: Any
    text: str
    from_start: bool


@dataclass(frozen=True)
class StepRow:
    """One visit of a token to a block, with everything an operator reads about it."""

    step: Step
    title: str  # its block's name, with the For each item and the Group it runs in
    kind_label: str
    took: str  # how long it ran, in words; "" while it runs
    input: str  # as pretty JSON, secrets hidden; "" when none
    output: str
    incident_id: int | None
    tasks: list[dict[str, Any]] = field(default_factory=list)
    # An AI step's tool calls in plain words ("Look up vendor in the ERP — 120 ms"), as sub-steps.
    tool_calls: list[str] = field(default_factory=list)
    decided: str = ""  # a Decision the AI decided: its choice and reason, in words


def redacted(value: Any) -> Any:
    """``value`` with the values of secret-looking keys hidden, through objects and lists."""
    if isinstance(value, dict):
        return {k: REDACTED if _SECRET_KEY.search(str(k)) else redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redacted(v) for v in value]
    return value


def as_text(value: Any) -> str:
    """A value as an operator types it: text as is, everything else as JSON (yes/no as true/false)."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))  # 120.0 reads 120, as it was typed
    return json.dumps(value, ensure_ascii=False, default=str)


def took(duration: datetime.timedelta | None) -> str:
    """A step's duration as people say it: "0.13 s", "4.2 s", "3 min", "2 h 5 min"."""
    if duration is None:
        return ""
    seconds = duration.total_seconds()
    if seconds < 10:
        return f"{seconds:.2g} s" if seconds < 1 else f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


@dataclass(frozen=True)
class HistoryEntry:
    """One event as the history shows it: when, what, who, and any data it changed (old and new)."""

    event: Event
    who: str
    changes: list[tuple[str, str, str]]


def history(instance: ProcessInstance) -> list[HistoryEntry]:
    """Every event of ``instance``, oldest first, with changed values as text (one query)."""
    entries = []
    for event in instance.events.select_related("actor").order_by("created_at", "id"):
        actor = event.actor
        who = (actor.get_full_name() or actor.get_username()) if actor else (event.actor_label or "Baton")
        changes = [
            (name, _shown(change.get("old")), _shown(change.get("new")))
            for name, change in ((event.data or {}).get("changes") or {}).items()
            if isinstance(change, dict)
        ]
        entries.append(HistoryEntry(event, who.capitalize() if not actor else who, changes))
    return entries


def _shown(value: Any) -> str:
    return "—" if value is None else as_text(value)


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str) if value else ""


def kind_of(value: Any) -> str:
    """The type of a value nothing declares, by what it holds."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "list"
    return "string"


def data_items(instance: ProcessInstance, graph: Graph) -> list[DataItem]:
    """The start data (by the start form's labels, in its order), then every other variable by name."""
    variables = instance.variables or {}
    items: list[DataItem] = []
    seen: set[str] = set()
    for node_id in graph["start_nodes"]:
        for form_field in graph["nodes"][node_id]["config"].get("fields", []):
            name = form_field["name"]
            if name in seen:
                continue
            seen.add(name)
            value = variables.get(name)
            items.append(
                DataItem(
                    name,
                    form_field["label"] or name,
                    TYPE_WORDS.get(form_field["type"], form_field["type"]),
                    form_field["type"],
                    value,
                    as_text(value) if value is not None else "",
                    True,
                )
            )
    declared = graph.get("variables", {})
    for name in sorted(variables):
        if name in seen:
            continue
        value = variables[name]
        kind = declared.get(name) or kind_of(value)
        items.append(
            DataItem(
                name,
                name.replace("_", " ").capitalize(),
                TYPE_WORDS.get(kind, kind),
                kind,
                value,
                as_text(value),
                False,
            )
        )
    return items


def step_rows(instance: ProcessInstance, describe: Callable[[Step], dict[str, Any]]) -> list[StepRow]:
    """Every step of ``instance`` in order, with its open incident and (waiting approvals) who has it.

    ``describe`` is the human-task provider's: one query per approval waiting now.
    """
    open_incidents = dict(
        Incident.objects.filter(instance=instance, resolved_at__isnull=True).values_list("step_id", "id")
    )
    rows = []
    steps = list(instance.steps.order_by("created_at", "id"))
    graph = instance.version.graph if instance.version_id else None
    titles = step_titles(steps, graph)
    calls = _tool_calls(instance, steps, set(ai.asking_nodes(graph)) if graph else set())
    for step in steps:
        duration = step.ended_at - step.started_at if step.ended_at and step.started_at else None
        tasks: list[dict[str, Any]] = []
        if step.kind == "user_task" and step.status == Step.Status.WAITING:
            tasks = describe(step).get("tasks", [])
        rows.append(
            StepRow(
                step,
                titles.get(step.pk or 0, step.node_name or step.node_id),
                step_label(step, graph),
                took(duration),
                _pretty(redacted(step.input)),
                _pretty(redacted(step.output)),
                open_incidents.get(step.id),
                tasks,
                calls.get(step.id, []),
                chosen_words(step.output) if step.kind == "exclusive" and step.output else "",
            )
        )
    return rows


def _tool_calls(instance: ProcessInstance, steps: list[Step], asking: set[str]) -> dict[int, list[str]]:
    """Each AI step's tool calls in words: from its output once done, else as recorded while it ran.

    The recorded calls are read (one query) only when an AI step has not finished: while it
    runs, waits to retry or needs attention, the calls it made so far are what an operator asks about.
    """
    found: dict[int, list[str]] = {}
    unfinished: list[int] = []
    for step in steps:
        done = step.output.get("tool_calls") if isinstance(step.output, dict) else None
        if isinstance(done, list):
            found[step.id] = [ai_tools.call_words(c) for c in done if isinstance(c, dict)]
        elif step.node_id in asking and step.status != Step.Status.COMPLETED:
            unfinished.append(step.id)
    if unfinished:
        for step_id, data in Event.objects.filter(
            instance=instance, step_id__in=unfinished, kind=tool_calls.KIND
        ).values_list("step_id", "data"):
            if isinstance(data, dict):
                found.setdefault(step_id, []).append(ai_tools.call_words(data))
    return found


def family(instance: ProcessInstance) -> tuple[ProcessInstance | None, list[ProcessInstance]]:
    """The instance that called this one (if any) and the ones it called."""
    parent = None
    if instance.parent_step_id:
        parent = (
            ProcessInstance.objects.select_related("workflow")
            .filter(steps__id=instance.parent_step_id)
            .first()
        )
    children = list(
        ProcessInstance.objects.filter(parent_step__instance=instance)
        .select_related("workflow")
        .order_by("started_at")
    )
    return parent, children


def move_targets(graph: Graph) -> list[tuple[str, str]]:
    """The blocks a token may be moved to (id, name): steps and decisions, never starts or joins."""
    targets = []
    for node_id, node in graph["nodes"].items():
        if not is_move_target(node):
            continue
        label = node_label(node)
        targets.append((node_id, f"{node['name'] or node_id} ({label})"))
    return sorted(targets, key=lambda item: item[1].lower())


def produced_by(node: Node) -> list[str]:
    """The variables a block sets when it completes: what skipping it should give values to."""
    config = node["config"]
    names = list(config.get("outputs") or {}) + list(config.get("assignments") or {})
    if config.get("result_variable"):
        names.append(config["result_variable"])
    return list(dict.fromkeys(names))
