"""Engine benchmark: a plain script, not a test.

    .venv/bin/python bench/engine.py [--instances 200] [--only inline,connectors,...]

Runs against the configured database and broker (``DATABASE_URL`` /
``CELERY_BROKER_URL``; the embedded default otherwise), in a scratch database of
its own (``<name>_bench`` on PostgreSQL, ``var/bench.sqlite3`` on SQLite) and on a
queue of its own, with one Celery worker (2 processes) and one ticker.

It prints, all from the same run:

- **floors**: the no-op Celery drain (tasks/s) and the commit floor (single-row
  INSERT + COMMIT transactions/s from one connection);
- **scenarios**: a flow of 10 inline blocks; a flow of 3 connector steps; a purchase
  request on its automatic path (start form, set data, decision, one connector step
  on the worker, end), started back to back and one at a time; and the same request
  through an approval (start, the approver decides with ``complete_task``, 20 %
  rejected, connector step, end). For each: instances/s, start-to-end p50/p99;
- **cost per instance** of each scenario: SQL statements and commits in the web
  process (start, decisions) and on the worker (each connector step: claim, run,
  report), counted in this process on one instance before the worker starts;
- the ratios the targets are set in: inline instances/s to the commit floor,
  connector steps/s to the drain; ``run_step`` messages received per step run
  (at most 1.00 when nothing is sent twice: below 1 as a worker runs an instance's
  next connector step itself, without a message); new database sessions per worker step.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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
APPROVER = "bench-approver"
SCENARIOS = ("inline", "connectors", "auto", "auto-serial", "approval", "for-each")
# Items of the For each scenario: 50 connector steps at once per instance.
FOR_EACH_ITEMS = 50


def _prepare_environment() -> None:
    os.environ["DATABASE_URL"] = scratch_database()
    os.environ.setdefault("BATON_QUEUE", f"baton-bench-{os.getpid()}")
    os.environ.setdefault("BATON_TICK_SECONDS", "0.2")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestration.settings")


def inline_flow() -> str:
    """Ten inline blocks: a decision, Set data, a parallel split and join."""
    from tests import bpmn

    return bpmn.ten_inline_blocks()


def purchase_flow(url: str) -> str:
    """The showcase's shape: start form, Set data, a decision on the amount, an approval over 500,
    a decision on its outcome, one connector step (the order, HTTP to ``url``), two ends."""
    from tests import bpmn

    return bpmn.definitions(
        bpmn.start(
            "start",
            bpmn.field("item", required=True),
            bpmn.field("amount", "number", required=True),
        ),
        bpmn.script("prepare", '{"total": amount * 1.0, "requester": initiator}'),
        bpmn.gateway("needs", default="f_auto"),
        bpmn.user_task("approve", name="Approve", assignee=APPROVER),
        bpmn.gateway("approved", default="f_rejected"),
        bpmn.service(
            "order",
            properties={"url": url},
            inputs={"instance": "instance_id", "i": "1", "item": "item", "total": "total"},
        ),
        bpmn.end("done", outcome="approved"),
        bpmn.end("rejected", outcome="rejected"),
        bpmn.flow("start", "prepare"),
        bpmn.flow("prepare", "needs"),
        bpmn.flow("needs", "approve", id="f_big", condition="total > 500.0"),
        bpmn.flow("needs", "order", id="f_auto"),
        bpmn.flow("approve", "approved"),
        bpmn.flow("approved", "order", id="f_yes", condition='approval.outcome == "approved"'),
        bpmn.flow("approved", "rejected", id="f_rejected"),
        bpmn.flow("order", "done"),
    )


def for_each_flow(url: str) -> str:
    """A For each of ``FOR_EACH_ITEMS`` connector steps at once, outputs collected in item order."""
    from tests import bpmn

    items = ", ".join(str(n) for n in range(FOR_EACH_ITEMS))
    return bpmn.definitions(
        bpmn.start(),
        bpmn.script("lines", f'{{"lines": [{items}]}}'),
        bpmn.for_each(
            bpmn.service("order", properties={"url": url}, inputs={"line": "line"}),
            "lines",
            item="line",
            output="answers",
            output_item="line * 10",
        ),
        bpmn.end(),
        *bpmn.chain("start", "lines", "order", "end"),
    )


def _check_for_each(ids: list[Any]) -> str:
    """Whether every For each instance completed once with its outputs in item order."""
    from orchestration.models import ProcessInstance, Step

    wanted = [n * 10 for n in range(FOR_EACH_ITEMS)]
    done = ProcessInstance.objects.filter(id__in=ids, status=ProcessInstance.Status.COMPLETED)
    ordered = sum(1 for v in done.values_list("variables", flat=True) if v.get("answers") == wanted)
    holders = Step.objects.filter(
        instance_id__in=ids, node_id="order", loop_index__isnull=True, status=Step.Status.COMPLETED
    ).count()
    ends = Step.objects.filter(instance_id__in=ids, node_id="end").count()
    return f"{ordered}/{len(ids)} outputs in order, {holders} holders completed, {ends} ends reached"


# --- counting ------------------------------------------------------------------------


class _Cost:
    """Counts the SQL statements and the commits one block of work costs on this process's connection.

    A commit is an explicit transaction commit, or a write run outside any transaction
    (autocommit makes each such statement its own commit). BEGIN and COMMIT are not statements.
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


@dataclass
class PathCost:
    """Statements and commits of one instance of a scenario, by where they run."""

    web: list[tuple[str, _Cost]] = field(default_factory=list)
    worker: list[_Cost] = field(default_factory=list)

    def add_web(self, what: str) -> _Cost:
        cost = _Cost()
        self.web.append((what, cost))
        return cost

    def total(self) -> tuple[int, int]:
        costs = [c for _, c in self.web] + self.worker
        return sum(c.statements for c in costs), sum(c.commits for c in costs)

    def text(self) -> str:
        parts = [f"{what} {c.statements}/{c.commits}" for what, c in self.web]
        parts += [f"worker step {c.statements}/{c.commits}" for c in self.worker]
        statements, commits = self.total()
        return f"{statements:3d} statements, {commits} commits  ({'; '.join(parts)})"


def _run_worker_steps_here(instance_id: Any, cost: PathCost) -> None:
    """Run the instance's queued connector steps in this process, as the worker would, counting each.

    A step the worker takes for itself while reporting the one before runs inside the same
    ``execute_step``: its cost is then counted with that one's (one entry for the chain).
    """
    from orchestration.engine.worker import execute_step
    from orchestration.models import Step

    while True:
        queued = Step.objects.filter(instance_id=instance_id, status=Step.Status.QUEUED).first()
        if queued is None:
            return
        worker_cost = _Cost()
        with worker_cost:
            execute_step(queued.id, queued.attempt)
        cost.worker.append(worker_cost)


def _costs(versions: dict[str, Any], approver: Any) -> dict[str, PathCost]:
    """One instance of each scenario, run in this process (no worker yet), its statements counted."""
    from approvals.actions import complete_task
    from approvals.models import ApprovalTask
    from orchestration.engine import start_instance

    data = _start_data()
    for name in ("inline", "connectors", "purchase"):  # warm the per-process caches first
        instance = start_instance(versions[name], data[name])
        _run_worker_steps_here(instance.id, PathCost())
    costs: dict[str, PathCost] = {}
    for scenario, version, start in (
        ("inline", "inline", data["inline"]),
        ("connectors", "connectors", data["connectors"]),
        ("auto", "purchase", data["purchase"]),
    ):
        cost = costs[scenario] = PathCost()
        with cost.add_web("start"):
            instance = start_instance(versions[version], start)
        _run_worker_steps_here(instance.id, cost)
    for outcome in ("approved", "approved", "rejected"):  # the first one warms up
        cost = PathCost()
        with cost.add_web("start"):
            instance = start_instance(versions["purchase"], {**data["purchase"], "amount": 5000})
        task = ApprovalTask.objects.get(instance=instance)
        with cost.add_web("complete_task"):
            complete_task(task.id, approver, outcome, comment="bench")
        _run_worker_steps_here(instance.id, cost)
        costs[f"approval ({outcome})"] = cost
    return costs


def _start_data() -> dict[str, dict[str, Any]]:
    return {"inline": {"amount": 120}, "connectors": {}, "purchase": {"item": "Laptop", "amount": 120}}


# --- floors --------------------------------------------------------------------------


def _queue_size() -> int:
    from orchestration.engine.dispatch import queue_depth

    return queue_depth()


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


def _commit_floor(seconds: float = 2.0) -> float:
    """Single-row INSERT + COMMIT transactions per second from this process's one connection."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_commit_floor (id INTEGER, note VARCHAR(20))")
        try:
            count = 0
            started = time.perf_counter()
            while time.perf_counter() - started < seconds:
                cursor.execute("INSERT INTO bench_commit_floor (id, note) VALUES (%s, %s)", [count, "x"])
                count += 1  # autocommit: each INSERT is its own transaction
            return count / (time.perf_counter() - started)
        finally:
            cursor.execute("DROP TABLE bench_commit_floor")


# --- scenarios -----------------------------------------------------------------------


@dataclass
class Result:
    instances: int
    seconds: float
    latencies_ms: list[float]
    steps: int
    worker_steps: int
    failed: int
    messages: int = 0
    sessions: int | None = None

    @property
    def rate(self) -> float:
        return self.instances / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def _step_messages_received() -> int:
    """How many ``run_step`` messages the worker has received since it started (its own count)."""
    from orchestration.celery import app

    replies = app.control.inspect(timeout=5).stats() or {}
    return sum(stats.get("total", {}).get("orchestration.run_step", 0) for stats in replies.values())


def _sessions() -> int | None:
    """PostgreSQL sessions opened on the scratch database so far (None on SQLite)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()",
        )
        return int(cursor.fetchone()[0])


def _measure(ids_of: Callable[[], list[Any]]) -> Result:
    """Run ``ids_of`` (which starts the instances and returns their ids), wait for them all to end."""
    from django.db.models import Sum

    from orchestration.models import ProcessInstance, Step

    received, sessions = _step_messages_received(), _sessions()
    started = time.perf_counter()
    ids = ids_of()
    running = ProcessInstance.objects.filter(id__in=ids, status=ProcessInstance.Status.RUNNING)
    wait(lambda: not running.exists(), 600, _WHAT)
    elapsed = time.perf_counter() - started
    done = list(ProcessInstance.objects.filter(id__in=ids).values_list("started_at", "ended_at", "status"))
    steps = Step.objects.filter(instance_id__in=ids)
    after = _sessions()
    return Result(
        instances=len(ids),
        seconds=elapsed,
        latencies_ms=[(end - start).total_seconds() * 1000 for start, end, _ in done if end],
        steps=steps.count(),
        # Every attempt of a connector step is one run; inline steps have none.
        worker_steps=steps.aggregate(runs=Sum("attempt"))["runs"] or 0,
        failed=sum(1 for _, _, status in done if status != ProcessInstance.Status.COMPLETED),
        messages=_step_messages_received() - received,
        sessions=None if sessions is None or after is None else after - sessions,
    )


def _back_to_back(version: Any, data: dict[str, Any], n: int) -> Result:
    from orchestration.engine import start_instance

    return _measure(lambda: [start_instance(version, data).id for _ in range(n)])


def _one_at_a_time(version: Any, data: dict[str, Any], n: int) -> Result:
    """Start one, wait until it ended (seen from here, polling every millisecond), start the next."""
    from orchestration.engine import start_instance
    from orchestration.models import ProcessInstance

    observed: list[float] = []

    def run() -> list[Any]:
        ids = []
        for _ in range(n):
            began = time.perf_counter()
            instance = start_instance(version, data)
            ended = ProcessInstance.objects.filter(id=instance.id, status=ProcessInstance.Status.COMPLETED)
            while not ended.exists():
                if time.perf_counter() - began > 60:
                    raise SystemExit(f"{_WHAT} timed out")
                time.sleep(0.001)
            observed.append((time.perf_counter() - began) * 1000)
            ids.append(instance.id)
        return ids

    result = _measure(run)
    result.latencies_ms = observed
    return result


def _with_approvals(version: Any, data: dict[str, Any], n: int, approver: Any) -> Result:
    """Start ``n`` requests that need approval, then decide each as the approver: every fifth rejected."""
    from approvals.actions import complete_task
    from approvals.models import ApprovalTask
    from orchestration.engine import start_instance

    def run() -> list[Any]:
        ids = [start_instance(version, data).id for _ in range(n)]
        tasks = dict(ApprovalTask.objects.filter(instance_id__in=ids).values_list("instance_id", "id"))
        for i, instance_id in enumerate(ids):
            outcome = "rejected" if i % 5 == 4 else "approved"
            complete_task(tasks[instance_id], approver, outcome, comment="bench")
        return ids

    return _measure(run)


# --- the run ---------------------------------------------------------------------------


def _serve_target(ready: Any) -> None:
    target = CountingTarget()
    ready.put(target.url)
    target.server.serve_forever()


def _target_process() -> tuple[str, multiprocessing.process.BaseProcess]:
    """The connector steps' HTTP server in a process of its own, as the systems they call are: in the
    benchmark's process it would wait for the interpreter lock while that process starts instances."""
    from django.db import connections

    connections.close_all()  # the child must not share this process's database connection
    context = multiprocessing.get_context("fork")
    ready = context.Queue()
    process = context.Process(target=_serve_target, args=(ready,), daemon=True)
    process.start()
    return str(ready.get(timeout=30)), process


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


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for proc in processes:
        proc.terminate()
    for proc in processes:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _line(name: str, r: Result) -> str:
    return (
        f"{name:>24}: {r.rate:8.1f} instances/s  p50 {r.percentile(0.5):7.1f} ms  "
        f"p99 {r.percentile(0.99):7.1f} ms  ({r.instances} instances, {r.steps} steps, {r.failed} failed)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--instances", type=int, default=200, help="instances per scenario (default 200)")
    parser.add_argument(
        "--only", default=",".join(SCENARIOS), help=f"scenarios to run, of {', '.join(SCENARIOS)}"
    )
    args = parser.parse_args()
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    _prepare_environment()
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection

    from orchestration.celery import app
    from orchestration.definitions import create_workflow, publish_version

    recreate_database()
    target_url, target = _target_process()
    approver = get_user_model().objects.create_user(APPROVER)
    versions = {
        name: publish_version(create_workflow(f"bench-{name}", f"Bench {name}", xml))
        for name, xml in (
            ("inline", inline_flow()),
            ("connectors", connector_flow(target_url)),
            ("purchase", purchase_flow(target_url)),
            ("for-each", for_each_flow(target_url)),
        )
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        db = f"{connection.vendor} ({settings.DATABASES['default']['NAME']})"
        print(f"database {db}; broker {settings.CELERY_BROKER_URL.split('@')[-1]}; N={args.instances}")
        costs = _costs(versions, approver)
        app.control.purge()  # the counted steps' messages: already run here
        floor = _commit_floor()
        processes = _start_processes()
        drain = _noop_drain(args.instances)
        print(f"floors: no-op Celery drain {drain:8.1f} tasks/s; commit floor {floor:8.1f} commits/s")
        data = _start_data()
        n = args.instances
        results: dict[str, Result] = {}
        if "inline" in only:
            results["inline (10 blocks)"] = _back_to_back(versions["inline"], data["inline"], n)
        if "connectors" in only:
            results["3 connector steps"] = _back_to_back(versions["connectors"], data["connectors"], n)
        if "auto" in only:
            results["purchase, auto"] = _back_to_back(versions["purchase"], data["purchase"], n)
        if "auto-serial" in only:
            results["purchase, auto, serial"] = _one_at_a_time(versions["purchase"], data["purchase"], n)
        if "approval" in only:
            results["purchase, approval"] = _with_approvals(
                versions["purchase"], {**data["purchase"], "amount": 5000}, n, approver
            )
        if "for-each" in only:
            runs = min(n, 100)
            started: list[Any] = []

            def _start_for_each() -> list[Any]:
                from orchestration.engine import start_instance

                started.extend(start_instance(versions["for-each"], {}).id for _ in range(runs))
                return started

            results[f"for each of {FOR_EACH_ITEMS} steps"] = _measure(_start_for_each)
            print(f"for each of {FOR_EACH_ITEMS}: {_check_for_each(started)}")
        for name, r in results.items():
            print(_line(name, r))
        print("cost per instance (web and worker; statements/commits):")
        for name, cost in costs.items():
            print(f"{name:>24}: {cost.text()}")
        if "inline (10 blocks)" in results:
            inline = results["inline (10 blocks)"].rate
            print(f"inline instances/s vs commit floor: {inline:.1f} / {floor:.1f} = {inline / floor:.3f}")
        if "3 connector steps" in results:
            r = results["3 connector steps"]
            worker_steps = r.rate * 3
            print(
                f"connector steps/s vs no-op drain: {worker_steps:.1f} / {drain:.1f} = {worker_steps / drain:.2f}"
            )
            print(
                f"step messages received / connector steps run: {r.messages} / {r.worker_steps} = "
                f"{r.messages / max(r.worker_steps, 1):.2f}"
            )
            if r.sessions is not None:
                print(
                    f"new database sessions / connector steps run: {r.sessions} / {r.worker_steps} = "
                    f"{r.sessions / max(r.worker_steps, 1):.2f}"
                )
    finally:
        _stop(processes)
        target.terminate()


if __name__ == "__main__":
    main()
