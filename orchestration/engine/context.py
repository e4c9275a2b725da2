"""The state one engine transaction carries while it moves tokens."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from orchestration.models import Event, Outbox, ProcessInstance, Step
from orchestration.request_numbers import format_number

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    # Whoever acts: a user, the anonymous user of a request, or nobody (worker, timer).
    Actor = AbstractBaseUser | AnonymousUser | None

    from orchestration.bpmn.graph import Graph


# Set while a dry run (test run, replay) drives the engine: its request is never a real one.
_trying: ContextVar[bool] = ContextVar("baton_trying", default=False)


@contextmanager
def trying() -> Iterator[None]:
    """Runs inside the block are a dry run's (always rolled back): they show stand-ins for what is real."""
    token = _trying.set(True)
    try:
        yield
    finally:
        _trying.reset(token)


def stand_in_number() -> int | None:
    """The number a new request takes: None (the database's next) or, in a dry run, a stand-in.

    A PostgreSQL sequence does not roll back, so a dry run's request would use up a real number;
    its stand-in is negative (no real request has one) and random (two dry runs never collide).
    """
    return -secrets.randbits(62) - 1 if _trying.get() else None


@dataclass(frozen=True)
class Token:
    """A token on its way to a node: the flow it came by and the Group or For each step it moves inside.

    ``step`` is set for a step already made (handed off by a request, an item of a For each
    made by its host); ``loop_index`` for a new item of a For each.
    """

    node_id: str
    flow_id: str
    scope_id: int | None = None
    loop_index: int | None = None
    step: Step | None = None

    @classmethod
    def resuming(cls, step: Step) -> Token:
        """A token for a step made earlier and not entered yet."""
        return cls(step.node_id, step.incoming_flow, step.scope_id, step.loop_index, step)


@dataclass
class Run:
    """One ``advance()``: a locked instance, its compiled graph, who acts, what to do on commit.

    Create it with :func:`orchestration.engine.runtime.locked_run` inside a transaction
    and end it with ``finish_run``; blocks receive it and never commit themselves.
    """

    instance: ProcessInstance
    graph: Graph
    actor: Actor = None
    actor_label: str = ""
    events: list[Event] = field(default_factory=list)
    # Steps handed to a worker in this run, with their attempt: published once committed.
    dispatch: list[tuple[Step, int]] = field(default_factory=list)
    now: Any = field(default_factory=timezone.now)
    # Set when a block of this run left a step waiting for the outside world (worker, people,
    # timer, message): the instance cannot have completed, so finishing skips that query.
    left_open: bool = False
    # Blocks this run may execute before it hands the tokens left to a worker (None: no limit
    # but the loop guard). A start from a web request sets it, so the request stays short.
    hand_off_after: int | None = None
    blocks_run: int = 0
    # Whether the instance was created by this run: no row of it exists before the run finishes.
    fresh: bool = False
    # Steps created by this run and not written yet, and the outbox rows pointing at them: written
    # in one INSERT each when a row must exist (a block writes rows pointing at its step) or when
    # the run finishes. ``created`` holds every step this run made, written or not.
    pending: list[Step] = field(default_factory=list)
    pending_outbox: list[Outbox] = field(default_factory=list)
    created: list[Step] = field(default_factory=list)
    # The instance's open steps as counted by the first statement that locked one of its steps
    # (after the instance lock, so no other run can change them), and the ids of those this run
    # closed since: when both agree and no created step is open, no open step is left and
    # finishing needs no query. None: not counted (finishing asks the database).
    open_counted: int | None = None
    closed: set[int] = field(default_factory=set)
    # A worker reporting a result sets ``take_for_worker``: the first connector step the run
    # queues is then ``taken`` (running, leased to that worker) instead of published.
    take_for_worker: bool = False
    taken: Step | None = None
    # Parallel join arrivals waiting, by join node, as this run knows them (read once per run).
    arrivals: dict[str, list[Step]] = field(default_factory=dict)
    # Tokens a block started besides its outgoing flows (a Group's start, For each items): driven next.
    spawned: list[Token] = field(default_factory=list)
    # What the block being entered sees besides the variables: a For each item (see scopes.locals_for).
    locals: dict[str, Any] = field(default_factory=dict)
    # Group and For each steps this run has read or made, by id.
    scope_steps: dict[int, Step] = field(default_factory=dict)

    @property
    def variables(self) -> dict[str, Any]:
        return self.instance.variables

    def scope(self) -> dict[str, Any]:
        """Variables plus the built-ins every expression may read."""
        data = dict(self.instance.variables)
        data["initiator"] = self.instance.initiator.get_username() if self.instance.initiator else ""
        data["instance_id"] = str(self.instance.id)
        data["business_key"] = self.instance.business_key
        data["requested_on"] = timezone.localdate(self.instance.started_at).isoformat()
        if self.graph.get("reads_request_number"):
            data["request_number"] = self.request_number()
        data.update(self.locals)
        return data

    def request_number(self) -> str:
        """The request's number (``REQ-2026-000123``), for the graphs that read it.

        The database gives the number in the INSERT that writes the request, so a new request
        is written here rather than when the run finishes (which then updates it: the same
        statements, in another order). A dry run shows a stand-in and takes no number.
        """
        instance = self.instance
        if _trying.get():
            return format_number(0, instance.started_at)
        if instance._state.adding:
            instance.save()
        return instance.reference

    def set_variables(self, values: dict[str, Any], step: Step | None = None) -> None:
        """Assign variables and record what changed (old and new values) in the history."""
        changed = {
            name: {"old": self.instance.variables.get(name), "new": value}
            for name, value in values.items()
            if self.instance.variables.get(name, _MISSING) != value
        }
        if not changed:
            return
        self.instance.variables.update(values)
        self.event("variables.set", "Data changed", step=step, data={"changes": changed})

    def event(
        self, kind: str, message: str, *, step: Step | None = None, data: dict[str, Any] | None = None
    ) -> None:
        """Queue a history event; written in one batch when the run finishes."""
        user: Any = self.actor if self.actor is not None and self.actor.is_authenticated else None
        self.events.append(
            Event(
                instance=self.instance,
                workflow_id=self.instance.workflow_id,
                step=step,
                kind=kind,
                actor=user,
                actor_label=self.actor_label or (user.get_username() if user else ""),
                message=message[:500],
                data=data or {},
            )
        )


_MISSING = object()
