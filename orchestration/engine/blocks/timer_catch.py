"""Wait (duration or date): a Timer row the ticker fires."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from orchestration import values
from orchestration.bpmn.context import local_name, text_of
from orchestration.bpmn.parse import bpmn
from orchestration.durations import iso_to_duration, parse_duration
from orchestration.engine.blocks.base import Block, BlockError, Kind, PaletteEntry
from orchestration.engine.transitions import move
from orchestration.engine.writes import write_step
from orchestration.expressions import ExpressionError, evaluate
from orchestration.models import Step, Timer

if TYPE_CHECKING:
    from lxml import etree

    from orchestration.bpmn.context import ReadContext
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run


class TimerCatchConfig(TypedDict, total=False):
    """A Wait for time: exactly one of the three keys."""

    duration: str  # ISO 8601 duration
    date: str  # ISO 8601 timestamp
    date_expression: str  # CEL giving a timestamp or an ISO string


def read(el: etree._Element, ctx: ReadContext) -> TimerCatchConfig | None:
    """An intermediateCatchEvent with a timer: a duration or a date (Baton's Wait reads it by default)."""
    subject = ctx.subject(el)
    defs = ctx.event_definitions(el, subject)
    if not defs:
        ctx.error(subject, "waits for nothing: give it a timer or a message.")
        return {"duration": ""}
    definition, local = defs[0], local_name(defs[0])
    if local != "timerEventDefinition":
        kind = local.removesuffix("EventDefinition")
        ctx.refuse(el, subject, f"{kind} catch event", "wait for a timer or a message")
        return None
    duration = text_of(definition.find(bpmn("timeDuration")))
    date = text_of(definition.find(bpmn("timeDate")))
    if definition.find(bpmn("timeCycle")) is not None:
        ctx.error(subject, "repeats on a cycle; a Wait takes a duration or a date.")
    if duration:
        if parse_duration(duration) is None:
            ctx.error(
                subject,
                f'"{duration}" is not an ISO 8601 duration such as P2D, PT4H or P1W (no years or months).',
            )
        return {"duration": duration}
    if date:
        if values.is_timestamp(date):
            return {"date": date}
        ctx.check_expression(subject, "date", date, expect="moment")
        return {"date_expression": date}
    ctx.error(subject, "needs a duration (such as P2D) or a date to wait for.")
    return {"duration": ""}


def _as_datetime(value: Any) -> datetime:
    try:
        moment = value if isinstance(value, datetime) else parse_datetime(str(value))
    except ValueError:  # well formed but impossible, such as an offset of +25:00
        moment = None
    if moment is None:
        raise BlockError(f"{value!r} is not a date and time.")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    utc = values.as_utc(moment)
    if utc is None:
        raise BlockError(f"{value!r} is outside the calendar Baton can keep (years 1 to 9999, UTC).")
    return utc


def due_moment(run: Run, config: Mapping[str, Any]) -> datetime:
    """When a Wait for time with ``config`` is over, counted from now (BlockError when it cannot say)."""
    if config.get("duration"):
        delta = parse_duration(config["duration"])
        if delta is None:
            raise BlockError(f"{config['duration']!r} is not a duration.")
        return run.now + delta
    if config.get("date"):
        return _as_datetime(config["date"])
    try:
        return _as_datetime(evaluate(config["date_expression"], run.graph["variables"], run.scope()))
    except ExpressionError as exc:
        raise BlockError(f"Cannot compute the date: {exc}") from exc


def _in_words(config: Mapping[str, Any], due_at: datetime) -> str:
    if config.get("duration"):
        count, unit = iso_to_duration(config["duration"])
        if count is not None:
            return f"the wait of {count} {unit.removesuffix('s') if count == 1 else unit}"
    return f"the wait until {due_at:%Y-%m-%d %H:%M} UTC"


class TimerCatchBlock(Block):
    kind = "timer_catch"
    waits = True
    saves_first = True

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        due_at = due_moment(run, node["config"])
        move(step, Step.Status.WAITING)
        step.input = {"due_at": due_at.isoformat()}
        write_step(run, step, ["status", "input"])
        Timer.objects.create(kind=Timer.Kind.WAIT, due_at=due_at, instance=run.instance, step=step)
        return None

    def arm(self, run: Run, step: Step, node: Node) -> str:
        due_at = due_moment(run, node["config"])
        Timer.objects.create(
            kind=Timer.Kind.WAIT,
            due_at=due_at,
            instance=run.instance,
            step=step,
            payload={"target": node["id"]},
        )
        return _in_words(node["config"], due_at)

    def on_timer(self, run: Run, step: Step, payload: dict[str, Any]) -> None:
        from orchestration.engine.runtime import resume_in_run

        resume_in_run(run, step, {}, message="Wait is over")


KIND = Kind(
    name="timer_catch",
    label="Wait",
    element="intermediateCatchEvent",
    event_definition="timerEventDefinition",
    config=TimerCatchConfig,
    read=read,
    block=TimerCatchBlock(),
    palette=PaletteEntry(
        key="wait",
        label="Wait",
        type="bpmn:IntermediateCatchEvent",
        icon="bpmn-icon-intermediate-event-catch-timer",
        group="route",
        hint="Pauses for a duration, until a date, or for an event",
        event_definition="bpmn:TimerEventDefinition",
    ),
)
