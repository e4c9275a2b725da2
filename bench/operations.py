"""Operations console benchmark: a plain script, not a test.

    .venv/bin/python bench/operations.py [--instances 1000000] [--events 10] [--reuse]

Fills a scratch database (as bench/engine.py does: ``<name>_bench`` on PostgreSQL,
``var/bench.sqlite3`` on SQLite) with N instances over 5 workflows (the operator runs 4),
mostly completed, some running, some stopped by an incident, a few cancelled, each with
its steps and ``--events`` history events, then renders the operations list through
Django's test client: the first page, a deep page, each status tab, and each filter.
Prints the server time p50/p95 and the number of SQL queries of each.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from engine import _prepare_environment  # noqa: E402  (the sibling benchmark)
from harness import recreate_database  # noqa: E402
from inbox import _measure  # noqa: E402

ITEMS = ("Laptop", "Desk lamp", "Printer paper", "Standing desk", "Monitor arm", "Conference booth", "Chair")


def _fill(count: int, events_per: int) -> object:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone
    from guardian.shortcuts import assign_perm

    from orchestration.definitions import create_workflow, publish_version
    from orchestration.models import Event, Incident, ProcessInstance, Step
    from tests import bpmn

    users = get_user_model()
    operator = users.objects.create_user("operator")
    requesters = users.objects.bulk_create([users(username=f"requester{n}") for n in range(500)])
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
    # started_at is auto_now_add: spread the instances over time as a real history would be.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "UPDATE orchestration_processinstance SET started_at = now() - (random() * interval '400 days')"
            )
            cursor.execute("ANALYZE")
        else:
            cursor.execute(
                "UPDATE orchestration_processinstance SET started_at = "
                "datetime('now', '-' || abs(random() % 34560000) || ' seconds')"
            )
    return operator


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--instances", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10, help="History events per instance.")
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
    else:
        recreate_database()
        print(f"Filling {args.instances:,} instances with {args.events} events each…")
        operator = _fill(args.instances, args.events)
    print(f"Load average: {' '.join(f'{n:.2f}' for n in os.getloadavg())}")
    from django.test import Client

    client = Client()
    client.force_login(operator)  # type: ignore[arg-type]
    pages = [
        ("first page", "/operations/"),
        ("page 40", "/operations/?page=40"),
        ("needs attention", "/operations/?status=running&has_incident=true"),
        ("running", "/operations/?status=running"),
        ("one workflow, version 1", "/operations/?workflow=flow-1&version=1"),
        ("waiting at a step", "/operations/?step=approval"),
        ("started by", "/operations/?initiator=requester7"),
        ("business key", "/operations/?reference=PO-0001234"),
        ("started in a week", "/operations/?started_from=2026-06-01&started_to=2026-06-07"),
        ("search in the data", "/operations/?q=lamp+1234"),
        ("oldest first", "/operations/?sort=started"),
        ("API list", "/api/operations/instances/?has_incident=true"),
    ]
    client.get("/operations/")  # the process's first request imports and compiles: not a page's cost
    print(f"{'page':38} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    for label, url in pages:
        p50, p95, queries = _measure(client, url)
        print(f"{label:38} {p50:8.1f} {p95:8.1f} {queries:8d}")


if __name__ == "__main__":
    main()
