"""Wait (a duration or a date, never a cycle): a Timer row the ticker fires."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict

from orchestration import schedules, values
from orchestration.bpmn.context import local_name
from orchestration.durations import iso_to_duration
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
    """An intermediateCatchEvent with a timer: a duration or a date (Baton's Wait reads it by default).

    A cycle is refused: a Wait waits once, then the request moves on; a repeating reminder
    belongs on the step it is about (a timer on a step), not in the path.
    """
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
    found = {timer["kind"]: timer["text"] for timer in schedules.definitions_in(definition)}
    if "cycle" in found:
        ctx.error(
            subject,
            f'repeats on a cycle ("{found["cycle"]}"), but a Wait waits once: '
            "give it a duration (such as PT1H) or a date.",
        )
    duration, date = found.get("duration", ""), found.get("date", "")
    if duration:
        try:
            schedules.parse_timer("duration", duration)
        except schedules.TimerError as exc:
            ctx.error(subject, str(exc))
        return {"duration": duration}
    if date:
        if values.is_timestamp(date):
            try:
                schedules.parse_timer("date", date)
            except schedules.TimerError as exc:
                ctx.error(subject, str(exc))
            return {"date": date}
        ctx.check_expression(subject, "date", date, expect="moment")
        return {"date_expression": date}
    if "cycle" not in found:
        ctx.error(subject, "needs a duration (such as P2D) or a date to wait for.")
    return {"duration": ""}


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        value = value.isoformat()
    try:
        return schedules.parse_moment(str(value))
    except schedules.TimerError as exc:
        raise BlockError(str(exc)) from None


def due_moment(run: Run, config: Mapping[str, Any]) -> datetime:
    """When a Wait for time with ``config`` is over, counted from now (BlockError when it cannot say)."""
    if config.get("date_expression"):
        try:
            value = evaluate(config["date_expression"], run.graph["variables"], run.scope())
        except ExpressionError as exc:
            raise BlockError(f"Cannot compute the date: {exc}") from exc
        return _as_datetime(value)
    kind: schedules.TimerKind = "duration" if config.get("duration") else "date"
    try:
        due = schedules.parse_timer(kind, str(config.get(kind, ""))).first_due(run.now)
    except schedules.TimerError as exc:
        raise BlockError(str(exc)) from None
    assert due is not None  # a duration or a date is always due once
    return due


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
