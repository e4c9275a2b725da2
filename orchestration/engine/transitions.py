"""Which status may follow which: the one table for steps and instances.

Every status change in the engine goes through :func:`move` (one row) or
:meth:`StatusTable.bulk_move` (a query), which refuse a move the table does not
list, so a step can never go back from done to running, whatever the caller.
Apps that own their own rows (approval tasks) declare a :class:`StatusTable` too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from django.db.models import QuerySet

from orchestration.models import ProcessInstance, Step

__all__ = ["INSTANCE", "STEP", "IllegalMove", "StatusTable", "move"]


class IllegalMove(Exception):
    """A status change the table does not allow (e.g. a completed step set running again)."""


class _HasStatus(Protocol):
    pk: Any
    status: str


class StatusTable:
    """The statuses each status may move to, for one model's ``status`` field."""

    def __init__(self, name: str, allowed: Mapping[str, Iterable[str]]) -> None:
        self.name = name
        self.allowed = {
            str(source): frozenset(str(t) for t in targets) for source, targets in allowed.items()
        }

    def can_move(self, source: str, to: str) -> bool:
        """Whether a row in ``source`` may move to ``to``."""
        return to in self.allowed.get(source, frozenset())

    def move(self, obj: _HasStatus, to: str) -> None:
        """Set ``obj.status`` to ``to`` (the caller saves); :class:`IllegalMove` if the table forbids it."""
        if not self.can_move(obj.status, to):
            raise IllegalMove(f"A {self.name} cannot go from {obj.status} to {to} (#{obj.pk}).")
        obj.status = to

    def sources(self, to: str) -> list[str]:
        """The statuses that may move to ``to``."""
        return sorted(source for source, targets in self.allowed.items() if to in targets)

    def bulk_move(self, queryset: QuerySet[Any], to: str, **fields: Any) -> int:
        """Move the rows of ``queryset`` that may go to ``to`` (others are left as they are); returns how many."""
        return queryset.filter(status__in=self.sources(to)).update(status=to, **fields)


_S = Step.Status
STEP = StatusTable(
    "step",
    {
        # Entered inline: it completes, waits, goes to a worker or fails at once.
        _S.ACTIVE: {_S.COMPLETED, _S.WAITING, _S.QUEUED, _S.INCIDENT, _S.CANCELLED},
        _S.WAITING: {_S.COMPLETED, _S.INCIDENT, _S.CANCELLED},
        _S.QUEUED: {_S.RUNNING, _S.CANCELLED},
        _S.RUNNING: {_S.COMPLETED, _S.RETRY_WAIT, _S.INCIDENT, _S.CANCELLED},
        _S.RETRY_WAIT: {_S.QUEUED, _S.CANCELLED},
        # An operator retries (again to the worker, or mapping the stored output, which may
        # fail again), skips, or the step is cancelled and entered afresh.
        _S.INCIDENT: {_S.QUEUED, _S.COMPLETED, _S.INCIDENT, _S.SKIPPED, _S.CANCELLED},
        _S.COMPLETED: set(),
        _S.SKIPPED: set(),
        _S.CANCELLED: set(),
    },
)

_I = ProcessInstance.Status
INSTANCE = StatusTable(
    "process instance",
    {_I.RUNNING: {_I.COMPLETED, _I.CANCELLED}, _I.COMPLETED: set(), _I.CANCELLED: set()},
)

_TABLES: dict[type, StatusTable] = {Step: STEP, ProcessInstance: INSTANCE}


def move(obj: Step | ProcessInstance, to: str) -> None:
    """Set the status of a step or instance to ``to`` by its table; the caller saves the row."""
    _TABLES[type(obj)].move(obj, to)
