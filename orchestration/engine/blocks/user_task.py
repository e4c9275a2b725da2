"""Approval: wait for people; the human task provider creates and completes the tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestration.engine.blocks.base import Block
from orchestration.engine.human import provider
from orchestration.engine.transitions import move
from orchestration.models import Step

if TYPE_CHECKING:
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run


class UserTaskBlock(Block):
    kind = "user_task"
    saves_first = True

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        move(step, Step.Status.WAITING)
        step.save(update_fields=["status"])
        provider().create_tasks(run, step, node)
        return None

    def on_timer(self, run: Run, step: Step, payload: dict[str, Any]) -> None:
        from orchestration.models import Timer

        timer = Timer.objects.get(id=payload["timer_id"])
        provider().on_timer(run, step, timer)
