"""Events attached to a step: deadlines and reminders, "if it fails", messages while it waits.

A step whose block has boundary events arms them when it starts waiting (:func:`arm`): a
timer row per deadline or reminder, a message subscription per message. When one fires
(:func:`fire`) an interrupting event cancels the step and everything inside it (approval
tasks leave the inboxes, a worker's late result is ignored) and takes its own path; a
non-interrupting one takes its path as well and leaves the step waiting (a repeating
reminder arms its next time). Errors are thrown (:func:`throw_error`) by a connector's
business error, by a failure that used up its retries, or by an End with error; the nearest
"If it fails" path around the failing step catches them, else the caller raises an incident.
When the step completes its events are disarmed (:func:`disarm`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestration.engine.blocks.base import BlockError
from orchestration.engine.context import Token
from orchestration.engine.scopes import cancel_children_after_commit, cancel_steps, scope_step
from orchestration.engine.writes import write_steps
from orchestration.expressions import ExpressionError, evaluate
from orchestration.models import MessageSubscription, Step, Timer
from orchestration.schedules import TimerError, TimerSpec, parse_timer

if TYPE_CHECKING:
    from datetime import datetime

    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run

__all__ = ["arm", "catches", "disarm", "fire", "fire_timer", "throw_error"]


def _spec(config: dict[str, Any]) -> TimerSpec:
    timer = config["timer"]
    try:
        return parse_timer(timer["kind"], timer["text"])
    except TimerError as exc:  # checked when published: only a graph edited by hand gets here
        raise BlockError(str(exc)) from exc


def arm(run: Run, step: Step, node: Node) -> None:
    """Arm the timers and message waits of the boundary events on ``step``, which has just started waiting."""
    nodes = run.graph["nodes"]
    timers: list[Timer] = []
    subscriptions: list[MessageSubscription] = []
    for boundary_id in node.get("boundaries", []):
        config = nodes[boundary_id]["config"]
        if config["trigger"] == "timer":
            due = _spec(config).first_due(run.now)
            if due is not None:
                timers.append(_timer(run, step, boundary_id, due, fired=0))
        elif config["trigger"] == "message":
            try:
                key = evaluate(config["correlation_key"], run.graph["variables"], run.scope())
            except ExpressionError as exc:
                raise BlockError(
                    f"Cannot compute the correlation key of {_name(nodes[boundary_id])}: {exc}"
                ) from exc
            subscriptions.append(
                MessageSubscription(
                    message_name=config["message"],
                    correlation_key=str(key),
                    instance=run.instance,
                    step=step,
                    node_id=boundary_id,
                )
            )
    if not timers and not subscriptions:
        return
    if step.pk is None:
        write_steps(run)  # the rows point at the step
    for row in timers:
        row.step = step
    for subscription in subscriptions:
        subscription.step = step
    if timers:
        Timer.objects.bulk_create(timers)
    if subscriptions:
        MessageSubscription.objects.bulk_create(subscriptions)


def _timer(run: Run, step: Step, boundary_id: str, due: datetime, *, fired: int) -> Timer:
    return Timer(
        kind=Timer.Kind.BOUNDARY,
        due_at=due,
        instance=run.instance,
        step=step,
        payload={"boundary": boundary_id, "fired": fired},
    )


def disarm(run: Run, step: Step) -> None:
    """Cancel what the boundary events of ``step`` wait for: the step is done."""
    if step.pk is None:
        return  # never armed: made and closed in this run
    nodes = run.graph["nodes"]
    triggers = {nodes[b]["config"]["trigger"] for b in nodes[step.node_id].get("boundaries", [])}
    if "timer" in triggers:
        Timer.objects.filter(
            step=step, kind=Timer.Kind.BOUNDARY, fired_at__isnull=True, cancelled_at__isnull=True
        ).update(cancelled_at=run.now)
    if "message" in triggers:
        MessageSubscription.objects.filter(step=step, node_id__in=nodes[step.node_id]["boundaries"]).delete()


def _name(node: Node) -> str:
    return f'"{node["name"]}"' if node["name"] else node["id"]


def fire(
    run: Run,
    host: Step,
    boundary_id: str,
    *,
    why: str,
    variables: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> list[Token]:
    """Boundary event ``boundary_id`` of ``host`` happened: take its path; returns the tokens to drive.

    An interrupting event first cancels ``host`` and everything inside it. ``details`` go into the
    history event's data (an error's code).
    """
    data = {"boundary": boundary_id, **(details or {})}
    boundary = run.graph["nodes"][boundary_id]
    config = boundary["config"]
    host_name = host.node_name or host.node_id
    if config["interrupting"]:
        children = cancel_steps(run, [host], reason=f"{why} on {host_name}")
        cancel_children_after_commit(children, f"{why} on {host_name}")
        # "E-signature failed: taking the path …"; "Deadline reached: Legal review stopped, taking the path …".
        stopped = "" if why.startswith(host_name) else f"{host_name} stopped, "
        run.event(
            "boundary.interrupted",
            f"{why}: {stopped}taking the path {_name(boundary)}",
            step=host,
            data=data,
        )
    else:
        run.event(
            "boundary.fired",
            f"{why}: {host_name} goes on, and the path {_name(boundary)} starts too",
            step=host,
            data=data,
        )
    if variables:
        run.set_variables(variables, host)
    return [Token(boundary_id, "", host.scope_id)]


def fire_timer(run: Run, host: Step, timer: Timer) -> list[Token]:
    """A deadline or reminder timer of ``host`` is due: fire it, and arm a repeating one's next time."""
    boundary_id = timer.payload["boundary"]
    config = run.graph["nodes"][boundary_id]["config"]
    fired = int(timer.payload.get("fired", 0)) + 1
    if not config["interrupting"]:
        # A ticker that was down fires a reminder once for the times it missed.
        due, fired = _spec(config).following(timer.due_at, fired, run.now)
        if due is not None:
            _timer(run, host, boundary_id, due, fired=fired).save()
    why = "Deadline reached" if config["interrupting"] else "Reminder time"
    return fire(run, host, boundary_id, why=why)


def _catcher(run: Run, step: Step, code: str | None) -> tuple[Step, str] | None:
    """The nearest step around ``step`` (itself first) with an "If it fails" path for ``code``."""
    nodes = run.graph["nodes"]
    current: Step | None = step
    while current is not None:
        if current.loop_index is None:  # a For each's events are on the step holding its items
            catch_all = None
            for boundary_id in nodes[current.node_id].get("boundaries", []):
                config = nodes[boundary_id]["config"]
                if config["trigger"] != "error":
                    continue
                if code is not None and config["error_code"] == code:
                    return current, boundary_id
                if not config["error_code"] and catch_all is None:
                    catch_all = boundary_id
            if catch_all is not None:
                return current, catch_all
        current = scope_step(run, current.scope_id) if current.scope_id is not None else None
    return None


def catches(run: Run, step: Step, code: str | None) -> bool:
    """Whether an "If it fails" path around ``step`` would catch an error with ``code``."""
    return _catcher(run, step, code) is not None


def throw_error(run: Run, step: Step, code: str | None, message: str) -> list[Token] | None:
    """An error happened at ``step``: take the nearest "If it fails" path, or None when nothing catches it.

    ``code`` is a business error's code (caught by a path for that code or for any error);
    None is a failure without one (retries used up), caught only by a path for any error.
    """
    found = _catcher(run, step, code)
    if found is None:
        return None
    host, boundary_id = found
    config = run.graph["nodes"][boundary_id]["config"]
    step.error = message  # what the system answered: the history shows it beside the path taken
    if step.pk is not None:
        step.save(update_fields=["error"])
    variables = (
        {config["error_variable"]: {"code": code or "", "message": message}}
        if config.get("error_variable")
        else None
    )
    # People read what failed; the code is in the failed step's history data and the error variable.
    why = f"{step.node_name or step.node_id} failed"
    details = {"error_code": code or "", "error": message}
    return fire(run, host, boundary_id, why=why, variables=variables, details=details)
