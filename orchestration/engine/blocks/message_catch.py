"""Wait for an event: subscribe under the message name and the computed correlation key."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestration.engine.blocks.base import Block, BlockError
from orchestration.engine.transitions import move
from orchestration.expressions import ExpressionError, evaluate
from orchestration.models import MessageSubscription, Step

if TYPE_CHECKING:
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run


class MessageCatchBlock(Block):
    kind = "message_catch"
    saves_first = True

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        config = node["config"]
        try:
            key = evaluate(config["correlation_key"], run.graph["variables"], run.scope())
        except ExpressionError as exc:
            raise BlockError(f"Cannot compute the correlation key: {exc}") from exc
        move(step, Step.Status.WAITING)
        step.input = {"message": config["message"], "correlation_key": str(key)}
        step.save(update_fields=["status", "input"])
        MessageSubscription.objects.create(
            message_name=config["message"],
            correlation_key=str(key),
            instance=run.instance,
            step=step,
            node_id=node["id"],
        )
        return None
