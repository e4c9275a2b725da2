"""Fire due timers and relay undelivered outbox rows, once a tick, until stopped."""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from orchestration.engine.dispatch import relay_outbox
from orchestration.engine.timers import fire_due_timers

logger = logging.getLogger("orchestration.ticker")


class Command(BaseCommand):
    help = "Run Baton's ticker: timers (waits, retries, due dates, schedules) and the outbox relay."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Run one tick and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        interval = float(settings.BATON_TICK_SECONDS)
        self.stdout.write(f"Baton ticker running every {interval:g}s")
        while not stopping:
            started = time.monotonic()
            try:
                fired = fire_due_timers()
                relayed = relay_outbox()
                if fired or relayed:
                    logger.info("tick: %d timer(s) fired, %d step(s) relayed", fired, relayed)
            except Exception:
                logger.exception("Tick failed; trying again next tick")
            finally:
                close_old_connections()
            if options["once"]:
                break
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
