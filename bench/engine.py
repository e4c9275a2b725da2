"""Engine benchmark: a plain script, not a test.

    .venv/bin/python bench/engine.py [--instances 200]

Runs against the configured database and broker (``DATABASE_URL`` /
``CELERY_BROKER_URL``; the embedded default otherwise), in a scratch database of
its own (``<name>_bench`` on PostgreSQL, ``var/bench.sqlite3`` on SQLite) and on a
queue of its own. It starts one Celery worker (2 processes) and one ticker, then:

1. drains N no-op Celery tasks (the broker's bare speed),
2. starts N instances of a flow of inline blocks only,
3. starts N instances of a flow of 3 connector steps (HTTP to a local server),

and prints instances/s, steps/s and start-to-end latency p50/p99 for each, the
ratio of connector steps/s to the no-op drain rate, and the ``run_step`` messages
the worker received per connector step run (1.0 when nothing is sent twice).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import (  # noqa: E402
    CountingTarget,
    connector_flow,
    recreate_database,
    scratch_database,
    wait,
    worker_and_ticker,
)

# Named in a timeout, with where to look.
_WHAT = "the benchmark (is the worker running? see var/bench-processes.log)"


def _prepare_environment() -> None:
    os.environ["DATABASE_URL"] = scratch_database()
    os.environ.setdefault("BATON_QUEUE", f"baton-bench-{os.getpid()}")
    os.environ.setdefault("BATON_TICK_SECONDS", "0.2")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestration.settings")


def _flows(url: str) -> dict[str, str]:
    from tests import bpmn

    inline = bpmn.definitions(
        bpmn.start("start", bpmn.field("amount", "number", required=True)),
        bpmn.gateway("big", default="f_small"),
        bpmn.script("s1", '{"a": amount * 2.0}'),
        bpmn.script("s2", '{"b": a + 1.0}'),
        bpmn.gateway("split", "parallel"),
        bpmn.script("p1", '{"c": b > 10.0}'),
        bpmn.script("p2", '{"d": "x"}'),
        bpmn.gateway("join", "parallel"),
        bpmn.end(),
        bpmn.flow("start", "big"),
        bpmn.flow("big", "s2", id="f_big", condition="amount > 1000000.0"),
        bpmn.flow("big", "s1", id="f_small"),
        bpmn.flow("s1", "s2"),
        bpmn.flow("s2", "split"),
        bpmn.flow("split", "p1"),
        bpmn.flow("split", "p2"),
        bpmn.flow("p1", "join"),
        bpmn.flow("p2", "join"),
        bpmn.flow("join", "end"),
    )
    return {"inline": inline, "connectors": connector_flow(url)}


def _start_processes() -> list[subprocess.Popen[bytes]]:
    from django.conf import settings

    log = open(ROOT / "var" / "bench-processes.log", "ab")
    return [
        subprocess.Popen(
            [sys.executable, *cmd],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        for cmd in worker_and_ticker(settings.CELERY_TASK_DEFAULT_QUEUE)
    ]


def _queue_size() -> int:
    from orchestration.engine.dispatch import queue_depth

    return queue_depth()


def _step_messages_received() -> int:
    """How many ``run_step`` messages the worker has received since it started (its own count)."""
    from orchestration.celery import app

    replies = app.control.inspect(timeout=5).stats() or {}
    return sum(stats.get("total", {}).get("orchestration.run_step", 0) for stats in replies.values())


def _noop_drain(n: int) -> float:
    from orchestration.tasks import noop

    noop.delay()  # warm-up: the worker is connected once this is gone
    wait(lambda: _queue_size() == 0, 60, _WHAT)
    time.sleep(0.5)
    started = time.perf_counter()
    for _ in range(n):
        noop.delay()
    wait(lambda: _queue_size() == 0, 300, _WHAT)
    return n / (time.perf_counter() - started)


def _scenario(name: str, xml: str, n: int, data: dict[str, Any]) -> dict[str, float]:
    from django.db.models import Sum

    from orchestration.definitions import create_workflow, publish_version
    from orchestration.engine import start_instance
    from orchestration.models import ProcessInstance, Step

    version = publish_version(create_workflow(f"bench-{name}", f"Bench {name}", xml))
    received = _step_messages_received()
    started = time.perf_counter()
    ids = [start_instance(version, data).id for _ in range(n)]
    running = ProcessInstance.objects.filter(id__in=ids, status=ProcessInstance.Status.RUNNING)
    wait(lambda: not running.exists(), 600, _WHAT)
    elapsed = time.perf_counter() - started
    done = list(ProcessInstance.objects.filter(id__in=ids).values_list("started_at", "ended_at", "status"))
    failed = sum(1 for _, _, status in done if status != ProcessInstance.Status.COMPLETED)
    latencies = sorted((end - start).total_seconds() * 1000 for start, end, _ in done if end)
    steps = Step.objects.filter(instance_id__in=ids).count()
    # Every attempt of a connector step is one run; inline steps have none.
    runs = Step.objects.filter(instance_id__in=ids).aggregate(runs=Sum("attempt"))["runs"] or 0
    return {
        "messages": _step_messages_received() - received,
        "runs": runs,
        "instances/s": n / elapsed,
        "steps/s": steps / elapsed,
        "p50 ms": statistics.median(latencies),
        "p99 ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "steps": steps,
        "failed": failed,
    }


class _Cost:
    """Counts the SQL statements and the commits one block of work costs on this process's connection.

    A commit is an explicit transaction commit, or a write run outside any transaction
    (autocommit makes each such statement its own commit).
    """

    def __init__(self) -> None:
        self.statements = 0
        self.commits = 0

    def __enter__(self) -> _Cost:
        from django.db import connection

        self._connection = connection
        self._commit = connection._commit
        self._wrapper = connection.execute_wrapper(self._count)
        self._wrapper.__enter__()

        def commit() -> None:
            self.commits += 1
            self._commit()

        connection._commit = commit
        return self

    def _count(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.statements += 1
        writes = sql.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")
        if writes and not self._connection.in_atomic_block:
            self.commits += 1
        return execute(sql, params, many, context)

    def __exit__(self, *exc: Any) -> None:
        self._connection._commit = self._commit
        self._wrapper.__exit__(*exc)


def _costs(inline_xml: str) -> dict[str, _Cost]:
    """Statements and commits of the paths that run in the web process: an inline instance start to
    end, an approval flow's start up to its task, and ``complete_task`` as the approver (the decision
    and the inline run to the end). Connector steps run in the worker and are not counted here."""
    from django.contrib.auth import get_user_model

    from approvals.actions import complete_task
    from approvals.models import ApprovalTask
    from orchestration.definitions import create_workflow, publish_version
    from orchestration.engine import start_instance
    from tests import bpmn

    approver = get_user_model().objects.create_user("bench-approver")
    approval_xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("item")),
        bpmn.user_task("approve", name="Approve", assignee="bench-approver"),
        bpmn.end(),
        *bpmn.chain("start", "approve", "end"),
    )
    inline = publish_version(create_workflow("bench-cost-inline", "Cost inline", inline_xml))
    approval = publish_version(create_workflow("bench-cost-approval", "Cost approval", approval_xml))
    start_instance(inline, {"amount": 120})  # warm the per-process caches first
    costs = {name: _Cost() for name in ("inline instance", "approval start", "complete_task")}
    with costs["inline instance"]:
        start_instance(inline, {"amount": 120})
    with costs["approval start"]:
        instance = start_instance(approval, {"item": "Desk"})
    task = ApprovalTask.objects.get(instance=instance)
    with costs["complete_task"]:
        complete_task(task.id, approver, "approved", comment="ok")
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--instances", type=int, default=200, help="instances per scenario (default 200)")
    args = parser.parse_args()
    _prepare_environment()
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    recreate_database()
    target = CountingTarget()
    target.start()
    flows = _flows(target.url)
    processes = _start_processes()
    try:
        db = f"{connection.vendor} ({settings.DATABASES['default']['NAME']})"
        print(f"database {db}; broker {settings.CELERY_BROKER_URL.split('@')[-1]}; N={args.instances}")
        drain = _noop_drain(args.instances)
        print(f"no-op Celery drain: {drain:8.1f} tasks/s")
        results = {
            "inline blocks": _scenario("inline", flows["inline"], args.instances, {"amount": 120}),
            "3 connector steps": _scenario("connectors", flows["connectors"], args.instances, {}),
        }
        for name, r in results.items():
            print(
                f"{name:>18}: {r['instances/s']:8.1f} instances/s {r['steps/s']:8.1f} steps/s "
                f"p50 {r['p50 ms']:7.1f} ms  p99 {r['p99 ms']:7.1f} ms  "
                f"({int(r['steps'])} steps, {int(r['failed'])} failed)"
            )
        for path, cost in _costs(flows["inline"]).items():
            print(f"{path:>18}: {cost.statements:4d} SQL statements, {cost.commits} commits")
        connectors = results["3 connector steps"]
        print(
            f"step messages received / connector steps run: {int(connectors['messages'])} / "
            f"{int(connectors['runs'])} = {connectors['messages'] / max(connectors['runs'], 1):.2f}"
        )
        worker_steps = results["3 connector steps"]["instances/s"] * 3
        print(
            f"connector steps/s vs no-op drain: {worker_steps:.1f} / {drain:.1f} = {worker_steps / drain:.2f}"
        )
    finally:
        for proc in processes:
            proc.terminate()
        for proc in processes:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        target.stop()


if __name__ == "__main__":
    main()
