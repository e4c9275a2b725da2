"""The engine's interface to people: human wait states.

The engine knows that an Approval block waits for people; who those people are,
how they are notified and how they decide belongs to the provider named by the
``BATON_HUMAN_TASKS`` setting (the approvals app). The provider creates its task
rows inside the engine's transaction and, when people have decided, resumes the
step through this module.

This module (with the package's public actions in :mod:`orchestration.engine`,
and :class:`~orchestration.engine.transitions.StatusTable` to declare its own
rows' statuses) is all an app that owns human work may use: it never writes engine rows
(``Timer``, ``Step``, ``Incident``) nor imports the runtime's internals. Every
function that changes state takes the :class:`Run` of :func:`locked_run`, so the
caller holds the instance row lock whenever it does.

The runtime is imported inside each function: it loads the blocks, which load
this module for :func:`provider`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from orchestration.engine.blocks.base import BlockError
from orchestration.engine.blocks.start import AMOUNT_TYPES, TITLE_TYPES, RequestSummary, request_summary
from orchestration.engine.context import Run
from orchestration.engine.dispatch import queue_task
from orchestration.engine.graphs import graph_for
from orchestration.engine.start_data import (
    DEFAULT_MAX_LENGTH,
    MAX_LENGTH_CEILING,
    StartDataError,
    clean_approver_data,
    clean_start_data,
    max_length_of,
    refuse_nul,
)
from orchestration.models import Step, Timer

if TYPE_CHECKING:
    from datetime import datetime

    from django.contrib.auth.models import AbstractBaseUser
    from django.db.models import QuerySet

    from orchestration.bpmn.graph import FormField, Graph, Node
    from orchestration.engine.context import Actor

__all__ = [
    "AMOUNT_TYPES",
    "DEFAULT_MAX_LENGTH",
    "HUMAN_TIMER_KINDS",
    "MAX_LENGTH_CEILING",
    "PATH_OUTCOMES",
    "TITLE_TYPES",
    "BlockError",
    "HumanTaskProvider",
    "RequestSummary",
    "Run",
    "StartDataError",
    "cancel_step_timers",
    "check_start_data",
    "clean_task_fields",
    "graph_for",
    "lock_waiting_step",
    "locked_run",
    "max_length_of",
    "outcome_paths",
    "provider",
    "raise_incident",
    "request_summary",
    "resume",
    "schedule_step_timer",
    "see_as_step",
    "send_on_commit",
    "stand_in",
    "start_node_for",
]

# The decisions an Approval's outgoing paths may each be taken for, with their words on the diagram.
PATH_OUTCOMES = {"approved": "Approved", "rejected": "Rejected", "changes_requested": "Changes requested"}

# The timers a provider may set on its steps; waits, retries and schedules belong to the engine.
HUMAN_TIMER_KINDS = (Timer.Kind.DUE, Timer.Kind.REMINDER, Timer.Kind.ESCALATION)


class HumanTaskProvider(Protocol):
    def create_tasks(self, run: Run, step: Step, node: Node) -> None:
        """Create the task(s) for a user task step that has just started waiting.

        Raising :class:`BlockError` turns the step into an incident.
        """

    def cancel_tasks(self, run: Run, step: Step) -> None:
        """Close the open tasks of a step that will not complete (cancel, skip)."""

    def on_timer(self, run: Run, step: Step, timer: Timer) -> None:
        """A due date, reminder or escalation timer of the step is due."""

    def instance_cancelled(self, run: Run, reason: str) -> None:
        """The instance is being cancelled by ``run.actor``: tell its requester (on commit), unless they did it."""

    def describe(self, step: Step) -> dict[str, Any]:
        """Summary of the step's open tasks: ``{"tasks": [{"id", "assignee", "group", "holder"}]}``.

        ``assignee`` is a username, ``group`` a group name, ``holder`` who has it in words.
        """

    def instances_of(self, user: AbstractBaseUser) -> QuerySet[Any]:
        """Ids (a ``values`` queryset) of the instances ``user`` has a task on: they may see those."""

    def decision_variables(self, node: Node, outcome: str, comment: str, by: str) -> dict[str, Any]:
        """The variables a decision ``outcome`` on Approval ``node`` sets, as when people decide.

        A test run in the designer resumes the step with these instead of deciding a task.
        """


_stand_in: ContextVar[HumanTaskProvider | None] = ContextVar("human_task_stand_in", default=None)


def provider() -> HumanTaskProvider:
    """The provider in charge: the configured one, or a stand-in a dry run set (:func:`stand_in`)."""
    return _stand_in.get() or configured_provider()


@cache
def configured_provider() -> HumanTaskProvider:
    """The provider ``BATON_HUMAN_TASKS`` names (imported once)."""
    cls = import_string(settings.BATON_HUMAN_TASKS)
    instance: HumanTaskProvider = cls()
    return instance


@contextmanager
def stand_in(stand_in_provider: HumanTaskProvider) -> Iterator[None]:
    """Let ``stand_in_provider`` answer for people inside the block (a dry run, always rolled back)."""
    token = _stand_in.set(stand_in_provider)
    try:
        yield
    finally:
        _stand_in.reset(token)


@contextmanager
def locked_run(instance_id: Any, *, actor: Actor = None) -> Iterator[Run]:
    """Open (or join) a transaction, lock the instance row and yield its :class:`Run`.

    Takes the instance lock itself; lock the provider's own rows (tasks) inside the
    block, after it, so every path locks instance first. Events queued on the run,
    the instance's version bump and dispatch happen when the block exits.
    """
    from orchestration.engine import runtime

    with runtime.locked_run(instance_id, actor=actor) as run:
        yield run


def lock_waiting_step(run: Run, step_id: int) -> Step:
    """The step ``step_id`` of the run's instance, row-locked; :class:`InvalidState` unless it waits.

    The caller holds the instance lock (inside :func:`locked_run`).
    """
    from orchestration.engine import runtime

    step = runtime.lock_step(run, step_id)
    runtime.ensure_waiting(step)
    return step


def resume(
    run: Run,
    step: Step,
    variables: dict[str, Any],
    *,
    message: str,
    output: dict[str, Any] | None = None,
    outcome: str = "",
) -> None:
    """Complete the waiting ``step`` with ``variables`` (people decided) and move its token on.

    An Approval with paths drawn per decision follows the one for ``outcome``
    (:func:`outcome_paths`); otherwise every outgoing path. Cancels the step's open
    timers and writes a ``step.completed`` event saying ``message``. The caller holds
    the instance lock (inside :func:`locked_run`) and has locked ``step``
    (:func:`lock_waiting_step`).
    """
    from orchestration.engine import runtime

    paths = outcome_paths(run.graph["nodes"][step.node_id])
    flows = [paths[outcome]] if outcome in paths else None
    runtime.resume_in_run(run, step, variables, message=message, output=output, flows=flows)


def outcome_paths(node: Node) -> dict[str, str]:
    """The paths an Approval ``node`` takes per decision (outcome -> flow id); empty when it has one way on.

    Pure: no lock needed. A decision with no path of its own here is not offered, except
    "changes requested", which sends the request back to the requester when it has none.
    """
    paths: dict[str, str] = node["config"].get("outcomes") or {}
    return paths


def clean_task_fields(node: Node, data: dict[str, Any], *, approving: bool) -> dict[str, Any]:
    """What the approver filled in, checked and converted against Approval ``node``'s fields (:class:`StartDataError`).

    The fields are typed like a start form's; required ones are required only when
    ``approving`` (a rejection needs just its comment). An Approval that declares no
    fields takes ``data`` as it is. Pure: no lock needed.
    """
    fields: list[FormField] = node["config"].get("fields") or []
    if not fields:
        if not isinstance(data, dict):
            raise StartDataError({"data": ["Expected an object of field values."]})
        refuse_nul(data)
        return dict(data)
    if not approving:
        fields = [{**f, "required": False} for f in fields]
    return clean_approver_data(fields, data)


def raise_incident(run: Run, step: Step, error: str) -> None:
    """Stop ``step`` with an incident saying ``error``; an operator retries, skips or fixes it.

    The caller holds the instance lock (inside :func:`locked_run`, or a provider
    callback, which the engine calls with it held).
    """
    from orchestration.engine import runtime

    runtime.raise_incident(run, step, error)


def schedule_step_timer(run: Run, step: Step, kind: str, due_at: datetime) -> None:
    """Set a due date, reminder or escalation timer on ``step``; the ticker calls ``on_timer`` then.

    ``kind`` is one of :data:`HUMAN_TIMER_KINDS`. The caller holds the instance lock
    (inside :func:`locked_run` or a provider callback).
    """
    if kind not in HUMAN_TIMER_KINDS:
        raise ValueError(f"A human task cannot set a {kind} timer.")
    Timer.objects.create(kind=kind, due_at=due_at, instance=run.instance, step=step)


def cancel_step_timers(run: Run, step: Step, kinds: Iterable[str] = HUMAN_TIMER_KINDS) -> None:
    """Cancel ``step``'s timers of ``kinds`` that have not fired yet (the default: every human one).

    The caller holds the instance lock (inside :func:`locked_run` or a provider callback).
    """
    Timer.objects.filter(
        step=step, kind__in=list(kinds), fired_at__isnull=True, cancelled_at__isnull=True
    ).update(cancelled_at=run.now)


def send_on_commit(task: str, args: list[Any]) -> None:
    """Run the registered Celery task ``task`` with JSON ``args`` once, after the transaction commits.

    It goes through the outbox like a step: a message lost with the broker is sent
    again by the relay, and a duplicate runs nothing. Call it inside the transaction
    whose rows the task is about (inside :func:`locked_run`); it opens none and
    needs no lock of its own.
    """
    queue_task(task, args)


def start_node_for(graph: Graph, trigger: str) -> str:
    """The start event a ``trigger`` ("manual", "api"...) starts at; :class:`StartDataError` when none.

    Reads only the compiled graph: no lock needed.
    """
    from orchestration.engine import runtime

    return runtime.start_node_for(graph, trigger)


def check_start_data(node: Node, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` checked and converted against start event ``node``'s form (:class:`StartDataError`).

    Pure: no lock needed. Used when a requester resubmits a request sent back to them.
    """
    return clean_start_data(node, data)


def see_as_step(run: Run, step: Step) -> None:
    """Let expressions evaluated in ``run`` see what ``step`` sees (its For each item), as when it was entered."""
    from orchestration.engine.scopes import locals_for  # the scopes load the blocks, which load this module

    run.locals = locals_for(run, step)
