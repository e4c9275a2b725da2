"""The Celery application: transport only, the database holds the truth."""

import os

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

from orchestration.broker import ALIAS

# The embedded default's filesystem broker with atomic writes (see orchestration/broker.py).
TRANSPORT_ALIASES.setdefault(ALIAS, "orchestration.broker:Transport")

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestration.settings")

app = Celery("baton")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
