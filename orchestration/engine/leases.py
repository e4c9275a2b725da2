"""A running step's lease, renewed while its worker lives.

A worker owns a claimed step until ``lease_until``. While the connector runs, a
heartbeat thread in the worker process moves the lease ``BATON_STEP_LEASE_SECONDS``
ahead every ``BATON_STEP_RENEW_SECONDS``, so a slow connector on a live worker is
never taken from it, and a step whose worker died is found by the relay as soon as
the short lease runs out. The renewal is a conditional UPDATE on the step's id,
attempt and status: a step the relay has already taken away is never renewed.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from orchestration.models import Step

logger = logging.getLogger(__name__)


def renew_lease(step_id: int, attempt: int) -> bool:
    """Move the lease of ``step_id``'s running ``attempt`` ahead; False when the step is no longer ours."""
    lease = timezone.now() + timedelta(seconds=settings.BATON_STEP_LEASE_SECONDS)
    renewed = Step.objects.filter(id=step_id, attempt=attempt, status=Step.Status.RUNNING).update(
        lease_until=lease
    )
    return bool(renewed)


class _Heartbeat:
    """One daemon thread per worker process renewing the leases of the steps it runs."""

    def __init__(self) -> None:
        self._held: dict[int, int] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def hold(self, step_id: int, attempt: int) -> None:
        with self._lock:
            self._held[step_id] = attempt
            # Started lazily in the process that runs steps: threads do not survive a fork.
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="baton-lease-heartbeat", daemon=True)
                self._thread.start()

    def release(self, step_id: int) -> None:
        with self._lock:
            self._held.pop(step_id, None)

    def _run(self) -> None:
        stop = threading.Event()  # never set: the thread lives as long as its process
        while not stop.wait(float(settings.BATON_STEP_RENEW_SECONDS)):
            with self._lock:
                held = list(self._held.items())
            for step_id, attempt in held:
                try:
                    if not renew_lease(step_id, attempt):
                        logger.info(
                            "Step %s attempt %s is no longer this worker's; not renewed", step_id, attempt
                        )
                        self.release(step_id)
                except Exception:
                    logger.exception("Could not renew the lease of step %s; trying again", step_id)
                    connection.close()  # a broken connection is reopened on the next renewal


_heartbeat = _Heartbeat()


@contextmanager
def lease_kept(step_id: int, attempt: int) -> Iterator[None]:
    """Keep renewing the lease of ``step_id``'s ``attempt`` until the block ends."""
    _heartbeat.hold(step_id, attempt)
    try:
        yield
    finally:
        _heartbeat.release(step_id)
