"""Inbox benchmark: a plain script, not a test.

    .venv/bin/python bench/inbox.py [--tasks 200000]

Fills a scratch database (as bench/engine.py does: ``<name>_bench`` on PostgreSQL,
``var/bench.sqlite3`` on SQLite) with N approval tasks spread over 200 approvers and
4 groups, then renders inbox pages for one approver through Django's test client:
the first page, a deep page, filtered and sorted pages, and the group queue. Prints
the server time p50/p95 and the number of SQL queries of each.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from engine import _prepare_environment  # noqa: E402  (the sibling benchmark)
from harness import recreate_database  # noqa: E402


def _fill(count: int) -> tuple[object, object]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from approvals.models import ApprovalTask
    from orchestration.definitions import create_workflow, publish_version
    from orchestration.models import ProcessInstance, Step
    from tests import bpmn

    users = get_user_model()
    approvers = users.objects.bulk_create([users(username=f"approver{n}") for n in range(200)])
    requesters = users.objects.bulk_create([users(username=f"requester{n}") for n in range(50)])
    groups = Group.objects.bulk_create([Group(name=f"Queue {n}") for n in range(4)])
    me = approvers[0]
    me.groups.add(groups[0])
    xml = bpmn.definitions(
        bpmn.start("start"),
        bpmn.user_task("approve", assignee="approver0"),
        bpmn.end("end"),
        *bpmn.chain("start", "approve", "end"),
    )
    version = publish_version(create_workflow("bench", "Bench purchases", xml))
    now = timezone.now()
    rng = random.Random(7)
    batch = 5_000
    made = 0
    while made < count:
        size = min(batch, count - made)
        instances = ProcessInstance.objects.bulk_create(
            [
                ProcessInstance(
                    workflow=version.workflow, version=version, variables={}, initiator=rng.choice(requesters)
                )
                for _ in range(size)
            ]
        )
        steps = Step.objects.bulk_create(
            [
                Step(
                    instance=i,
                    node_id="approve",
                    node_name="Approve",
                    kind="user_task",
                    status=Step.Status.WAITING,
                )
                for i in instances
            ]
        )
        tasks = []
        for instance, step in zip(instances, steps, strict=True):
            to_group = rng.random() < 0.1
            tasks.append(
                ApprovalTask(
                    instance=instance,
                    step=step,
                    name="Approve",
                    assignee=None if to_group else rng.choice(approvers),
                    candidate_group=rng.choice(groups) if to_group else None,
                    requester=instance.initiator,
                    subject=f"Item {rng.randrange(10_000)}",
                    amount=Decimal(rng.randrange(1, 50_000)),
                    currency="USD",
                    due_at=now + timezone.timedelta(days=rng.randrange(-5, 15)),
                    status=ApprovalTask.Status.OPEN if rng.random() < 0.7 else ApprovalTask.Status.COMPLETED,
                )
            )
        ApprovalTask.objects.bulk_create(tasks)
        made += size
        print(f"  {made:,} tasks", end="\r", flush=True)
    print()
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh planner statistics, as autovacuum would have by now
    return me, version


def _measure(client: object, url: str, runs: int = 15) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    queries = 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)  # type: ignore[attr-defined]
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        queries = len(captured)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], queries


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=200_000)
    args = parser.parse_args()
    _prepare_environment()
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
    recreate_database()
    print(f"Filling {args.tasks:,} approval tasks…")
    me, _ = _fill(args.tasks)
    from django.test import Client

    from approvals.models import ApprovalTask

    mine = ApprovalTask.objects.filter(assignee=me, status="open").count()
    client = Client()
    client.force_login(me)
    print(f"approver0 has {mine:,} open tasks of {args.tasks:,}")
    pages = [
        ("first page", "/inbox/"),
        ("page 10", "/inbox/?page=10"),
        ("sorted by due", "/inbox/?sort=due"),
        ("amount 1,000-5,000, largest first", "/inbox/?amount_min=1000&amount_max=5000&sort=-amount"),
        ("overdue", "/inbox/?due=overdue"),
        ("search", "/inbox/?q=Item+12"),
        ("group queue", "/inbox/?tab=queue"),
        ("filter request (htmx)", "/inbox/?q=Item&sort=due"),
    ]
    print(f"{'page':38} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    for label, url in pages:
        p50, p95, queries = _measure(client, url)
        print(f"{label:38} {p50:8.1f} {p95:8.1f} {queries:8d}")


if __name__ == "__main__":
    main()
