"""Shared fixtures: a real Celery worker and ticker running against the test database.

The test command (``./baton test``) picks the database and broker through
``DATABASE_URL`` / ``CELERY_BROKER_URL``; with neither set the tests run on the
embedded default (SQLite file + ``filesystem://`` broker). Worker and ticker are
separate processes pointed at pytest-django's test database.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.db.backends.postgresql.operations import DatabaseOperations as PostgresOperations
from django.test import override_settings

ROOT = Path(__file__).resolve().parent.parent

# Short engine timings so the tests exercise leases, relay and backoff in seconds.
ENGINE_TIMINGS = {
    "BATON_STEP_LEASE_SECONDS": "4",
    "BATON_DISPATCH_GRACE_SECONDS": "3.0",
    "BATON_RETRY_BASE_SECONDS": "0.2",
    "BATON_TICK_SECONDS": "0.2",
}


_LEFT_OUT = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend-specific-only",
        action="store_true",
        help="leave out the tests marked backend_neutral (./baton test's PostgreSQL pass: its embedded pass runs them)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--backend-specific-only"):
        return
    neutral = [item for item in items if item.get_closest_marker("backend_neutral")]
    if neutral:
        config.hook.pytest_deselected(items=neutral)
        items[:] = [item for item in items if not item.get_closest_marker("backend_neutral")]
        config.stash[_LEFT_OUT] = len(neutral)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # `./baton test tests/browser/test_designer.py`: the second pass has nothing left to run, and says so.
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and session.config.stash.get(_LEFT_OUT, 0):
        session.exitstatus = pytest.ExitCode.OK


def wait_for(
    condition: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05, what: str = ""
) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout}s waiting for {what or condition}")
        time.sleep(interval)


def wait_until_completed(instances: list[Any], timeout: float = 60.0) -> None:
    """Wait until every one of ``instances`` has completed (the worker ran their steps)."""
    from orchestration.models import ProcessInstance

    ids = [instance.id for instance in instances]
    wait_for(
        lambda: (
            ProcessInstance.objects.filter(id__in=ids, status=ProcessInstance.Status.COMPLETED).count()
            == len(ids)
        ),
        timeout=timeout,
        what=f"{len(ids)} instance(s) completed",
    )


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


class Process:
    """A Baton process (worker or ticker) started for the tests, in its own process group."""

    def __init__(self, name: str, args: list[str]) -> None:
        self.name = name
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = Path(settings.VAR_DIR) / f"{name}.log"

    def env(self) -> dict[str, str]:
        return {**os.environ, **ENGINE_TIMINGS, "DATABASE_URL": _database_url(), "PYTHONUNBUFFERED": "1"}

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self.args,
                cwd=ROOT,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL the whole process group: no chance to finish or acknowledge anything."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def terminate(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # the main process shuts its children down warmly

    def stop(self) -> None:
        self.terminate()
        if self.proc and self.proc.poll() is None:
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def worker_process(name: str = "worker") -> Process:
    return Process(
        name,
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "orchestration",
            "worker",
            "--pool=prefork",
            "--concurrency=2",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-Q",
            settings.CELERY_TASK_DEFAULT_QUEUE,
            "-n",
            f"{name}-{os.getpid()}@%h",
            "--loglevel=INFO",
        ],
    )


def ticker_process() -> Process:
    return Process("ticker", [sys.executable, "manage.py", "baton_ticker"])


class Engine:
    """The running worker and ticker; tests may kill and restart the worker."""

    def __init__(self, procurement_url: str, esignature_url: str) -> None:
        self.procurement_url = procurement_url
        self.esignature_url = esignature_url
        os.environ["BATON_PROCUREMENT_URL"] = procurement_url  # inherited by the processes below
        os.environ["BATON_ESIGNATURE_URL"] = esignature_url
        self.worker = worker_process()
        self.ticker = ticker_process()

    def start(self) -> None:
        self.worker.start()
        self.ticker.start()

    def restart_worker(self) -> None:
        self.worker = worker_process("worker-restarted")
        self.worker.start()

    def stop(self) -> None:
        self.ticker.terminate()  # both shut down at once: the worker's warm shutdown takes seconds
        self.worker.stop()
        self.ticker.stop()


@pytest.fixture(scope="session", autouse=True)
def fast_passwords() -> Iterator[None]:
    """A fast hasher for the whole run: the production hasher (PBKDF2, ~0.4 s a password here) is
    Django's, not under test, and the demo's seven accounts plus every browser sign-in would pay it."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


_truncate = PostgresOperations.sql_flush
# Content types and permissions stay through a flush (post_migrate would recreate the same rows under
# new ids): the worker and ticker processes cache them, and a stale id made a permission lookup there
# find nobody (the incident notice's recipients, in a random test order).
_KEPT = frozenset({"django_content_type", "auth_permission"})


def _lock_and_delete(
    self: PostgresOperations,
    style: Any,
    tables: list[str],
    *,
    reset_sequences: bool = False,
    allow_cascade: bool = False,
) -> list[str]:
    """Empty the tables as TRUNCATE would, without its cost (new files for every table and index).

    The lock waits for the worker's and ticker's transactions and holds off their next ones until
    the flush commits, as TRUNCATE's does; the foreign keys are checked at commit (Django declares
    them deferrable), when every table is empty.
    """
    if not tables or reset_sequences or allow_cascade:
        return _truncate(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
    names = [style.SQL_FIELD(self.quote_name(table)) for table in tables if table not in _KEPT]
    return [
        "SET CONSTRAINTS ALL DEFERRED;",
        f"LOCK TABLE {', '.join(names)} IN ACCESS EXCLUSIVE MODE;",
        *(f"DELETE FROM {name};" for name in names),
    ]


@pytest.fixture(scope="session", autouse=True)
def quick_flush() -> Iterator[None]:
    """Transactional tests end with a flush of every table; on PostgreSQL TRUNCATE took ~0.3-0.9 s
    of each (68 such tests), DELETE takes a tenth of that on tables this small."""
    # Through the backend's base module: importing its operations module first is a circular import.
    from django.db.backends.sqlite3.base import DatabaseWrapper as SqliteWrapper

    SqliteOperations = SqliteWrapper.ops_class
    sqlite_flush = SqliteOperations.sql_flush

    def sqlite_keeping_content_types(self: Any, style: Any, tables: list[str], **kwargs: Any) -> list[str]:
        """Django's SQLite flush, less the content types and permissions (kept as on PostgreSQL)."""
        return sqlite_flush(self, style, [t for t in tables if t not in _KEPT], **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PostgresOperations, "sql_flush", _lock_and_delete)
        patch.setattr(SqliteOperations, "sql_flush", sqlite_keeping_content_types)
        yield


@pytest.fixture(scope="session")
def engine_timings() -> None:
    for name, value in ENGINE_TIMINGS.items():
        setattr(settings, name, float(value) if "." in value else int(value))


@pytest.fixture(scope="session")
def engine(django_db_setup: None, live_server: Any, engine_timings: None) -> Iterator[Engine]:
    """A real Celery worker and ticker on the test database (torn down before it is dropped).

    The worker places procurement orders and sends documents for signature to the demo
    services served by ``live_server``.
    """
    running = Engine(
        procurement_url=f"{live_server.url}/demo/procurement/orders/",
        esignature_url=f"{live_server.url}/demo/signature/envelopes/",
    )
    running.start()
    yield running
    running.stop()


@pytest.fixture
def procurement_url(engine: Engine) -> str:
    """Where the worker's ``procurement.create_order`` connector posts orders."""
    return engine.procurement_url


@pytest.fixture
def live_engine(engine: Engine, transactional_db: None) -> Engine:
    """The engine for a test whose data must be committed so other processes see it."""
    return engine


@pytest.fixture
def eager_email(mailoutbox: list[Any]) -> Iterator[list[Any]]:
    """Celery runs the email task in-process, so what a worker would send lands in ``mailoutbox``."""
    from orchestration.celery import app

    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    yield mailoutbox
    app.conf.update(task_always_eager=before[0], task_eager_propagates=before[1])
