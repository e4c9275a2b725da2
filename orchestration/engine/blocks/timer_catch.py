"""Wait (duration or date): a Timer row the ticker fires."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from orchestration.durations import parse_duration
from orchestration.engine.blocks.base import Block, BlockError
from orchestration.engine.transitions import move
from orchestration.expressions import ExpressionError, evaluate
from orchestration.models import Step, Timer

if TYPE_CHECKING:
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run


def _as_datetime(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else parse_datetime(str(value))
    if moment is None:
        raise BlockError(f"{value!r} is not a date and time.")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    return moment


class TimerCatchBlock(Block):
    kind = "timer_catch"
    saves_first = True

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        config = node["config"]
        if config.get("duration"):
            delta = parse_duration(config["duration"])
            if delta is None:
                raise BlockError(f"{config['duration']!r} is not a duration.")
            due_at = run.now + delta
        elif config.get("date"):
            due_at = _as_datetime(config["date"])
        else:
            try:
                due_at = _as_datetime(
                    evaluate(config["date_expression"], run.graph["variables"], run.scope())
                )
            except ExpressionError as exc:
                raise BlockError(f"Cannot compute the date: {exc}") from exc
        move(step, Step.Status.WAITING)
        step.input = {"due_at": due_at.isoformat()}
        step.save(update_fields=["status", "input"])
        Timer.objects.create(kind=Timer.Kind.WAIT, due_at=due_at, instance=run.instance, step=step)
        return None

    def on_timer(self, run: Run, step: Step, payload: dict[str, Any]) -> None:
        from orchestration.engine.runtime import resume_in_run

        resume_in_run(run, step, {}, message="Wait is over")
