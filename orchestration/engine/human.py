"""The engine's interface to people: human wait states.

The engine knows that an Approval block waits for people; who those people are,
how they are notified and how they decide belongs to the provider named by the
``BATON_HUMAN_TASKS`` setting (the approvals app). The provider creates its task
rows inside the engine's transaction and, when people have decided, calls
:func:`orchestration.engine.runtime.resume_step`.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.db.models import QuerySet

    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run
    from orchestration.models import Step, Timer


class HumanTaskProvider(Protocol):
    def create_tasks(self, run: Run, step: Step, node: Node) -> None:
        """Create the task(s) for a user task step that has just started waiting."""

    def cancel_tasks(self, run: Run, step: Step) -> None:
        """Close the open tasks of a step that will not complete (cancel, skip)."""

    def on_timer(self, run: Run, step: Step, timer: Timer) -> None:
        """A due date, reminder or escalation timer of the step is due."""

    def describe(self, step: Step) -> dict[str, Any]:
        """Summary of the step's open tasks for the API (assignees, groups)."""

    def instances_of(self, user: AbstractBaseUser) -> QuerySet[Any]:
        """Ids (a ``values`` queryset) of the instances ``user`` has a task on: they may see those."""


@cache
def provider() -> HumanTaskProvider:
    """The configured provider (imported once)."""
    cls = import_string(settings.BATON_HUMAN_TASKS)
    instance: HumanTaskProvider = cls()
    return instance
