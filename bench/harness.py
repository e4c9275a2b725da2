"""What the benchmark scripts share: the scratch database, the connector flow and its counting target.

Imported by the scripts in this folder (``bench/`` is on ``sys.path`` when one of them runs).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def scratch_database(suffix: str = "bench") -> str:
    """The URL of the scratch database next to the configured one (``<name>_<suffix>``)."""
    import dj_database_url

    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{ROOT / 'var' / f'{suffix}.sqlite3'}"
    parsed = dj_database_url.parse(url)
    if parsed["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{ROOT / 'var' / f'{suffix}.sqlite3'}"
    name = parsed["NAME"]
    return url.rsplit("/", 1)[0] + f"/{name}_{suffix}"


def _admin_url() -> str:
    return os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"


def recreate_database() -> None:
    """Drop and create the configured (scratch) database, then migrate it."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db['NAME']}{suffix}").unlink(missing_ok=True)
    else:
        import psycopg

        with psycopg.connect(_admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def drop_database() -> None:
    """Drop the PostgreSQL scratch database (closing this process's connections to it first)."""
    import psycopg
    from django.conf import settings
    from django.db import connections

    connections.close_all()
    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{settings.DATABASES["default"]["NAME"]}" WITH (FORCE)')


def connector_flow(url: str) -> str:
    """A flow of 3 HTTP connector steps in a row; each sends its instance id and step number to ``url``."""
    from tests import bpmn

    steps = [
        bpmn.service(f"c{i}", properties={"url": url}, inputs={"instance": "instance_id", "i": str(i)})
        for i in (1, 2, 3)
    ]
    return bpmn.definitions(bpmn.start(), *steps, bpmn.end(), *bpmn.chain("start", "c1", "c2", "c3", "end"))


def worker_and_ticker(queues: str) -> list[list[str]]:
    """The commands (after the Python executable) of one Celery worker of 2 processes on ``queues``, and a ticker."""
    worker = [
        "-m",
        "celery",
        "-A",
        "orchestration",
        "worker",
        "--concurrency=2",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-Q",
        queues,
        "--loglevel=WARNING",
    ]
    return [worker, ["manage.py", "baton_ticker"]]


def wait(condition: Callable[[], bool], timeout: float, what: str = "the benchmark") -> None:
    """Poll ``condition`` until it holds; SystemExit naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} timed out after {timeout:g} s")
        time.sleep(0.02)


@dataclass(frozen=True)
class Tally:
    """What the target saw. A double is an external effect done twice, not a harmless repeat.

    ``repeats``: requests whose Idempotency-Key had been seen before with the same body
    (a retried step; the target answered from its record and did nothing again).
    ``key_conflicts``: keys sent again with a different body (one key, two different effects).
    ``doubled_effects``: (instance, step) pairs applied under more than one key (done twice).
    """

    requests: int
    applied: int
    repeats: int
    key_conflicts: int
    doubled_effects: int


def _effect(key: str, body: bytes) -> tuple[Any, Any]:
    """What a request does: (instance, step) for a step of :func:`connector_flow`, else its key."""
    try:
        data = json.loads(body)
        return (str(data["instance"]), data["i"])
    except (ValueError, TypeError, KeyError):
        return (None, key)


class CountingTarget:
    """A local HTTP server for connector steps that records every call by its Idempotency-Key.

    The first request with a key is applied; a later one with the same key is answered
    from the record, as an idempotent API would.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        self._bodies: dict[str, list[bytes]] = {}
        # Requests by client address: which machine made them.
        self.clients: Counter[str] = Counter()
        # Called with the client's address after a request is recorded and before it is answered.
        self.before_reply: Callable[[str], None] | None = None
        target = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keeps the connection open between calls, as API servers do
            disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target.record(self.headers.get("Idempotency-Key", ""), body, self.client_address[0])
                if target.before_reply is not None:
                    target.before_reply(self.client_address[0])
                reply = b'{"ok": true}'
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:
                    pass  # the caller died waiting (the scale benchmark kills it on purpose)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}/"

    def record(self, key: str, body: bytes, client: str = "") -> None:
        """Note one request (the handler calls this; tests may too)."""
        with self._lock:
            self._bodies.setdefault(key, []).append(body)
            self.clients[client] += 1

    def tally(self, instances: set[str] | None = None) -> Tally:
        """Count requests, repeats and doubles so far, of ``instances`` (ids as text) or of all."""
        with self._lock:
            calls = {key: list(bodies) for key, bodies in self._bodies.items()}
        keys_per_effect: dict[tuple[Any, Any], set[str]] = {}
        for key, bodies in list(calls.items()):
            effect = _effect(key, bodies[0])
            if instances is not None and effect[0] not in instances:
                del calls[key]
                continue
            keys_per_effect.setdefault(effect, set()).add(key)
        requests = sum(len(bodies) for bodies in calls.values())
        return Tally(
            requests=requests,
            applied=len(calls),
            repeats=requests - len(calls),
            key_conflicts=sum(1 for bodies in calls.values() if len(set(bodies)) > 1),
            doubled_effects=sum(1 for keys in keys_per_effect.values() if len(keys) > 1),
        )

    def start(self) -> None:
        """Serve in a background thread."""
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()
