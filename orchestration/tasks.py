"""Celery tasks: transport only. The database says what runs; a duplicate message is dropped."""

from celery import shared_task

from orchestration.engine.dispatch import deliver
from orchestration.engine.runtime import continue_handed_off
from orchestration.engine.worker import execute_step
from orchestration.ops.incidents import TELL_OPERATORS, tell_operators


@shared_task(name="orchestration.run_step", acks_late=True, reject_on_worker_lost=True)
def run_step(step_id: int, attempt: int) -> None:
    """Run one attempt of a connector step."""
    execute_step(step_id, attempt)


@shared_task(name="orchestration.deliver", acks_late=True, reject_on_worker_lost=True)
def deliver_task(outbox_id: int, count: int) -> None:
    """Run once the registered task an outbox row names (an approval email)."""
    deliver(outbox_id, count)


@shared_task(name=TELL_OPERATORS)
def tell_operators_task(incident_id: int) -> int:
    """Email a workflow's operators that a new group of incidents appeared (once per group)."""
    return tell_operators(incident_id)


@shared_task(name="orchestration.continue_run")
def continue_run(instance_id: str) -> None:
    """Run the blocks a web request handed off (delivered once through the outbox)."""
    continue_handed_off(instance_id)


@shared_task(name="orchestration.noop")
def noop() -> None:
    """Does nothing: the benchmark measures the broker's bare drain rate with it."""
