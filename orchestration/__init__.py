"""Baton's engine and Django project package."""

from orchestration.celery import app as celery_app

__all__ = ["celery_app"]
