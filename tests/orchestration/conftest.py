"""Fixtures for connector tests: a real HTTP server on localhost whose answers a test scripts."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


@dataclass(frozen=True)
class Answer:
    """What the server replies to one request. A dict or list body is sent as JSON."""

    status: int = 200
    body: Any = field(default_factory=dict)
    content_type: str | None = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, self.content_type or "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode(), self.content_type or "text/plain; charset=utf-8"
        return json.dumps(self.body).encode(), self.content_type or "application/json"


@dataclass(frozen=True)
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class ScriptedServer:
    """Answers requests in the order scripted with :meth:`answer`; the last answer repeats."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._answers: deque[Answer] = deque([Answer()])
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True  # a slow answer must not hold up teardown
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def answer(self, *answers: Answer | dict[str, Any]) -> None:
        """Script the next answers; each is an Answer or its keyword arguments."""
        scripted = [a if isinstance(a, Answer) else Answer(**a) for a in answers]
        with self._lock:
            self._answers = deque(scripted)

    def _next_answer(self) -> Answer:
        with self._lock:
            return self._answers.popleft() if len(self._answers) > 1 else self._answers[0]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with server._lock:
                    server.received.append(
                        Received(self.command, self.path, dict(self.headers.items()), body)
                    )
                answer = server._next_answer()
                time.sleep(answer.delay)
                payload, content_type = answer.encoded()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def start(self) -> None:
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def http_server() -> Iterator[ScriptedServer]:
    """A started :class:`ScriptedServer`; answers 200 ``{}`` until scripted otherwise."""
    server = ScriptedServer()
    server.start()
    yield server
    server.stop()


Client = Callable[[Any], APIClient]


@pytest.fixture
def api() -> Client:
    """A factory of API clients authenticated with a user's token."""

    def client_for(user: Any) -> APIClient:
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return client_for
