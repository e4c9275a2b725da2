"""Automated step and Notify: evaluate inputs, hand the step to a Celery worker."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestration.engine.blocks.base import Block, evaluate_mapping
from orchestration.engine.dispatch import queue_for_worker

if TYPE_CHECKING:
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run
    from orchestration.models import Step


class ServiceTaskBlock(Block):
    kind = "service_task"
    runs_on_worker = True

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        config = node["config"]
        step.input = evaluate_mapping(run, config.get("inputs", {}), "input")
        step.max_attempts = int(config.get("retries", 3)) + 1
        queue_for_worker(run, step, attempt=1)
        return None


class SendTaskBlock(ServiceTaskBlock):
    kind = "send_task"
