"""Operations console benchmark: a plain script, not a test.

    .venv/bin/python bench/operations.py [--instances 1000000] [--events 10] [--reuse]

Fills a scratch database (as bench/engine.py does: ``<name>_bench`` on PostgreSQL,
``var/bench.sqlite3`` on SQLite) with N instances over 5 workflows (the operator runs 4),
mostly completed, some running, some stopped by an incident, a few cancelled, each with
its steps and ``--events`` history events (PostgreSQL: ``INSERT … SELECT`` with the big
tables' secondary indexes made after; 10^6 instances and 10^7 events in about 3 minutes),
then renders each list view of the operations console and the API's list through Django's
test client, ``--rounds`` times: the server time p50/p95 and the SQL statements of each,
beside two floors measured in the same round (an indexed one-row SELECT, and a page that
reads no request) and the load average. ``--reuse`` times an existing fill again.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from engine import _prepare_environment  # noqa: E402  (the sibling benchmark)
from harness import drop_database, recreate_database  # noqa: E402

ITEMS = ("Laptop", "Desk lamp", "Printer paper", "Standing desk", "Monitor arm", "Conference booth", "Chair")


def _fill(count: int, events_per: int) -> object:
    """Make the operator, 500 requesters, 5 workflows, then ``count`` instances with their rows.

    PostgreSQL: ``INSERT … SELECT`` from ``generate_series`` with the big tables' secondary
    indexes and foreign keys dropped first and made again after (one sort per index instead
    of 10^7 index insertions). Other databases: the ORM in batches (small counts only).
    """
    from django.contrib.auth import get_user_model
    from django.db import connection
    from guardian.shortcuts import assign_perm

    from orchestration.definitions import create_workflow, publish_version
    from tests import bpmn

    users = get_user_model()
    operator = users.objects.create_user("operator")
    users.objects.bulk_create([users(username=f"requester{n}") for n in range(500)])
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("item", "string"), bpmn.field("amount", "number")),
        bpmn.service("order", properties={"url": "http://127.0.0.1:9/none"}, name="Place order"),
        bpmn.user_task("approve", name="Manager approval", assignee="operator"),
        bpmn.end(),
        *bpmn.chain("start", "order", "approve", "end"),
    )
    versions = []
    for n in range(5):
        version = publish_version(create_workflow(f"flow-{n}", f"Purchase flow {n}", xml))
        if n < 4:
            assign_perm("orchestration.change_workflow", operator, version.workflow)
        versions.append(version)
    started = time.perf_counter()
    if connection.vendor == "postgresql":
        _fill_postgresql(count, events_per, versions)
    else:
        _fill_orm(count, events_per, versions)
    print(f"Filled in {time.perf_counter() - started:.0f} s.")
    return operator


_BIG_TABLES = (
    "orchestration_processinstance",
    "orchestration_step",
    "orchestration_event",
    "orchestration_incident",
)


def _fill_postgresql(count: int, events_per: int, versions: list[Any]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)",
            [list(_BIG_TABLES)],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))",
            [list(_BIG_TABLES)],
        )
        indexes = cursor.fetchall()
        for table, name, _ in foreign_keys:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SELECT setseed(0.11)")
        # 70 % completed, 23 % running (15 % of those stopped by an incident), 7 % cancelled.
        cursor.execute(
            """
            INSERT INTO orchestration_processinstance (id, status, outcome, business_key, variables, trigger,
                has_incident, started_at, ended_at, lock_version, initiator_id, workflow_id, version_id)
            SELECT gen_random_uuid(), status, CASE status WHEN 'completed' THEN 'approved' ELSE '' END,
                'PO-' || lpad(n::text, 7, '0'),
                jsonb_build_object('item', (%(items)s::text[])[1 + (n %% 7)] || ' ' || n, 'amount', 1 + (n::bigint * 7919) %% 8999),
                'api', status = 'running' AND attention < 0.15, started,
                CASE WHEN status = 'running' THEN NULL ELSE started + interval '3 hours' END,
                0, (SELECT min(id) FROM auth_user WHERE username LIKE 'requester%%') + (n %% 500),
                (%(workflows)s::bigint[])[1 + version], (%(versions)s::bigint[])[1 + version]
            FROM (
                SELECT n, CASE WHEN roll < 0.7 THEN 'completed' WHEN roll < 0.93 THEN 'running' ELSE 'cancelled' END AS status,
                    attention, version, now() - random() * interval '400 days' AS started
                FROM (SELECT n, random() AS roll, random() AS attention, floor(random() * 5)::int AS version
                      FROM generate_series(0, %(count)s - 1) AS n) AS drawn
            ) AS made
            """,
            {
                "count": count,
                "items": list(ITEMS),
                "workflows": [v.workflow_id for v in versions],
                "versions": [v.id for v in versions],
            },
        )
        print(f"  {count:,} instances", flush=True)
        step = (
            "INSERT INTO orchestration_step (node_id, node_name, kind, status, incoming_flow, attempt, "
            "max_attempts, idempotency_key, input, output, error, created_at, instance_id) "
            "SELECT {node}, {name}, {kind}, {status}, '', 0, 1, gen_random_uuid(), '{{}}', '{{}}', {error}, "
            "started_at, id FROM orchestration_processinstance {where}"
        )
        cursor.execute(
            step.format(
                node="'start'", name="'Start'", kind="'start'", status="'completed'", error="''", where=""
            )
        )
        cursor.execute(
            step.format(
                node="CASE WHEN has_incident THEN 'order' ELSE 'approve' END",
                name="CASE WHEN has_incident THEN 'Place order' ELSE 'Manager approval' END",
                kind="CASE WHEN has_incident THEN 'service_task' ELSE 'user_task' END",
                status="CASE WHEN has_incident THEN 'incident' ELSE 'waiting' END",
                error="CASE WHEN has_incident THEN 'POST answered 400' ELSE '' END",
                where="WHERE status = 'running'",
            )
        )
        cursor.execute(
            "INSERT INTO orchestration_incident (error, created_at, resolution, instance_id, step_id, cause) "
            "SELECT error, created_at, '', instance_id, id, 'step_failed' FROM orchestration_step WHERE status = 'incident'"
        )
        print("  steps and incidents", flush=True)
        for e in range(events_per):
            cursor.execute(
                "INSERT INTO orchestration_event (kind, actor_label, message, data, created_at, instance_id, workflow_id) "
                "SELECT 'step.completed', '', %s, '{}', started_at + %s * interval '1 minute', id, workflow_id "
                "FROM orchestration_processinstance",
                [f"Event {e}", e],
            )
            print(f"  {(e + 1) * count:,} events", end="\r", flush=True)
        print()
        for _name, definition in indexes:
            cursor.execute(definition)
        print(f"  {len(indexes)} indexes made again", flush=True)
        for table, name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        cursor.execute("VACUUM ANALYZE")


def _fill_orm(count: int, events_per: int, versions: list[Any]) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from orchestration.models import Event, Incident, ProcessInstance, Step

    requesters = list(get_user_model().objects.filter(username__startswith="requester"))
    rng = random.Random(11)
    now = timezone.now()
    batch = 5_000
    made = 0
    while made < count:
        size = min(batch, count - made)
        instances = []
        for k in range(size):
            roll = rng.random()
            status = "completed" if roll < 0.7 else "running" if roll < 0.93 else "cancelled"
            started = now - timezone.timedelta(minutes=made + k)
            instances.append(
                ProcessInstance(
                    workflow=(version := rng.choice(versions)).workflow,
                    version=version,
                    status=status,
                    outcome="approved" if status == "completed" else "",
                    has_incident=status == "running" and rng.random() < 0.15,
                    business_key=f"PO-{made + k:07d}",
                    variables={"item": f"{rng.choice(ITEMS)} {made + k}", "amount": rng.randrange(1, 9000)},
                    initiator=rng.choice(requesters),
                    ended_at=None if status == "running" else started + timezone.timedelta(hours=3),
                )
            )
        instances = ProcessInstance.objects.bulk_create(instances)
        steps = []
        for instance in instances:
            steps.append(
                Step(instance=instance, node_id="start", node_name="Start", kind="start", status="completed")
            )
            if instance.status == "running":
                failed = instance.has_incident
                steps.append(
                    Step(
                        instance=instance,
                        node_id="order" if failed else "approve",
                        node_name="Place order" if failed else "Manager approval",
                        kind="service_task" if failed else "user_task",
                        status="incident" if failed else "waiting",
                        error="POST answered 400" if failed else "",
                    )
                )
        steps = Step.objects.bulk_create(steps)
        Incident.objects.bulk_create(
            [
                Incident(instance_id=s.instance_id, step=s, error=s.error)
                for s in steps
                if s.status == "incident"
            ]
        )
        Event.objects.bulk_create(
            [
                Event(instance=i, workflow_id=i.workflow_id, kind="step.completed", message=f"Event {e}")
                for i in instances
                for e in range(events_per)
            ]
        )
        made += size
        print(f"  {made:,} instances", end="\r", flush=True)
    print()
    # started_at is the moment the row was made: spread the instances over time as a real history would be.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE orchestration_processinstance SET started_at = "
            "datetime('now', '-' || abs(random() % 34560000) || ' seconds')"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--instances", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10, help="History events per instance.")
    parser.add_argument("--rounds", type=int, default=2, help="Measure every page this many times over.")
    parser.add_argument("--runs", type=int, default=15, help="Requests per page and round.")
    parser.add_argument("--drop", action="store_true", help="Drop the scratch database at the end.")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="Keep the scratch database a previous run filled (migrating it): time the pages only.",
    )
    args = parser.parse_args()
    _prepare_environment()
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
    from django.contrib.auth import get_user_model

    operator = get_user_model().objects.filter(username="operator").first() if args.reuse else None
    if operator is not None:
        from django.core.management import call_command

        from orchestration.models import ProcessInstance

        call_command("migrate", verbosity=0)  # new indexes, on the rows already there
        print(f"Reusing {ProcessInstance.objects.count():,} instances.")
        _report_size()
    else:
        recreate_database()
        print(f"Filling {args.instances:,} instances with {args.events} events each…")
        operator = _fill(args.instances, args.events)
    from django.test import Client

    client = Client()
    client.force_login(operator)  # type: ignore[arg-type]
    client.get("/operations/")  # the process's first request imports and compiles: not a page's cost
    for round_number in range(1, args.rounds + 1):
        print(f"\nRound {round_number} of {args.rounds}")
        _round(client, args.runs)
    if args.drop:
        _report_size()
        drop_database()
        print("Dropped the scratch database.")


# Each list view the console offers, and the API's list.
PAGES = [
    ("first page", "/operations/"),
    ("page 2", "/operations/?page=2"),
    ("deep page (page 40)", "/operations/?page=40"),
    ("needs attention", "/operations/?status=running&has_incident=true"),
    ("running", "/operations/?status=running"),
    ("completed", "/operations/?status=completed"),
    ("one workflow, version 1", "/operations/?workflow=flow-1&version=1"),
    ("waiting at a step", "/operations/?step=approval"),
    ("waiting at a step, needs attention", "/operations/?step=place+order&status=running&has_incident=true"),
    ("search in the data", "/operations/?q=lamp+1234"),
    ("search, a common word", "/operations/?q=lamp"),
    ("business key", "/operations/?reference=PO-0001234"),
    ("request number", "/operations/?reference=0a1b2c3d"),
    ("started by", "/operations/?initiator=requester7"),
    ("started in a week", "/operations/?started_from=2026-06-01&started_to=2026-06-07"),
    ("oldest first", "/operations/?sort=started"),
    ("recently finished", "/operations/?sort=-ended"),
    ("by workflow", "/operations/?sort=workflow"),
    ("by status", "/operations/?sort=status"),
    ("by who started it", "/operations/?sort=initiator"),
    ("API list", "/api/operations/instances/"),
    ("API list, needs attention", "/api/operations/instances/?has_incident=true"),
    ("API list, deep (offset 2,000)", "/api/operations/instances/?offset=2000"),
]


def _round(client: Any, runs: int) -> None:
    """Each page ``runs`` times: p50/p95 ms and statements, after this round's floors and load."""
    print(f"Load average: {' '.join(f'{n:.2f}' for n in os.getloadavg())}")
    p50, p95 = _floor_select(runs * 10)
    print(f"Floor: an indexed SELECT of one row, round trip       p50 {p50:6.2f} ms  p95 {p95:6.2f} ms")
    p50, p95, statements, database = _measure(client, "/accounts/login/", runs)
    print(
        f"Floor: a page that reads no request (sign-in page)   p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
        f"{statements} statements, {database:.1f} ms in the database"
    )
    print(f"{'page':38} {'p50 ms':>8} {'p95 ms':>8} {'statements':>11} {'db ms':>7}")
    for label, url in PAGES:
        p50, p95, statements, database = _measure(client, url, runs)
        print(f"{label:38} {p50:8.1f} {p95:8.1f} {statements:11d} {database:7.1f}", flush=True)
    print(f"Load average: {' '.join(f'{n:.2f}' for n in os.getloadavg())}")


def _measure(client: Any, url: str, runs: int) -> tuple[float, float, int, float]:
    """p50/p95 ms of ``runs`` requests, the statements of the last, and their execution time in the database.

    The database time is EXPLAIN ANALYZE's "Execution Time" of each SELECT of the last request
    run again (what the server did, without the round trips and the Python around it).
    """
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from orchestration.ops.instances import COUNT_BUDGET_MS as budget

    times = []
    captured: list[dict[str, Any]] = []
    for _ in range(runs):
        reset_queries()  # the debug log keeps at most 9,000 statements
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        captured = list(queries.captured_queries)
    times.sort()
    database = 0.0
    for query in captured:
        sql = query["sql"]
        if connection.vendor == "postgresql" and sql.lstrip().upper().startswith(("SELECT", "WITH")):
            database += _executed_ms(sql, budget)
    return statistics.median(times), times[int(len(times) * 0.95) - 1], len(captured), database


def _executed_ms(sql: str, budget: int) -> float:
    """EXPLAIN ANALYZE's execution time of ``sql``; a statement cancelled at ``budget`` ms (as the page's counts are) costs that."""
    from django.db import OperationalError, connection, transaction

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL statement_timeout = {budget}")
            cursor.execute(f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {sql}")
            return float(cursor.fetchone()[0][0]["Execution Time"])
    except OperationalError:
        return float(budget)


def _floor_select(runs: int) -> tuple[float, float]:
    """p50/p95 of one indexed primary-key SELECT on the instances table (the database's round trip)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM orchestration_processinstance ORDER BY started_at DESC LIMIT 1")
        (known,) = cursor.fetchone()
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            cursor.execute("SELECT status FROM orchestration_processinstance WHERE id = %s", [known])
            cursor.fetchone()
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def _report_size() -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            print(f"Scratch database size: {cursor.fetchone()[0]}")


if __name__ == "__main__":
    main()
