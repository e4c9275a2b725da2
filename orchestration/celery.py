"""The Celery application: transport only, the database holds the truth."""

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun
from kombu.transport import TRANSPORT_ALIASES

from orchestration.broker import ALIAS

# The embedded default's filesystem broker with atomic writes (see orchestration/broker.py).
TRANSPORT_ALIASES.setdefault(ALIAS, "orchestration.broker:Transport")

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestration.settings")

app = Celery("baton")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_postrun.connect
def _close_old_connections(task: Any = None, **kwargs: Any) -> None:
    """Keep a worker's database connection across tasks, as Django keeps a web process's.

    Celery's Django fix-up would close it around every task (``CELERY_DB_REUSE_MAX`` turns
    that off in the settings), so each step paid a new PostgreSQL session. Django's own rule
    applies instead: a connection is closed when it broke or is older than ``CONN_MAX_AGE``.
    A task run eagerly (in the caller's process, inside its transaction) leaves it alone.
    """
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
