"""Automated step and Notify: evaluate inputs, hand the step to a Celery worker."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestration.engine.blocks.base import Block, BlockError
from orchestration.engine.dispatch import queue_for_worker
from orchestration.expressions import ExpressionError, evaluate

if TYPE_CHECKING:
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run
    from orchestration.models import Step


class ServiceTaskBlock(Block):
    kind = "service_task"
    runs_on_worker = True

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        config = node["config"]
        scope = run.scope()
        inputs = {}
        for name, source in config.get("inputs", {}).items():
            try:
                inputs[name] = evaluate(source, run.graph["variables"], scope)
            except ExpressionError as exc:
                raise BlockError(f"Cannot compute input {name!r}: {exc}") from exc
        step.input = inputs
        step.max_attempts = int(config.get("retries", 3)) + 1
        queue_for_worker(run, step, attempt=1)
        return None


class SendTaskBlock(ServiceTaskBlock):
    kind = "send_task"
