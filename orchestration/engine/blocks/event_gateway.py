"""First event wins: wait for the Waits after it together; the first event to happen picks the path.

The gateway's own step waits for every Wait after it (a timer row or a message subscription
each, pointing at the gateway's step and naming its Wait). The first to fire wins: in the
same transaction the others are cancelled, and the token passes through the winning Wait
as already caught. Two events at once advance the process once: both take the instance
lock, and the loser then finds its timer cancelled or its subscription gone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from orchestration.bpmn.context import Subject
from orchestration.engine.blocks.base import Block, BlockError, Kind, PaletteEntry
from orchestration.engine.transitions import move
from orchestration.engine.writes import write_step
from orchestration.models import MessageSubscription, Step, Timer

if TYPE_CHECKING:
    from lxml import etree

    from orchestration.bpmn.context import ReadContext
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run

# The kinds that may follow: Waits, for a message or for time.
_WAITS = ("timer_catch", "message_catch")


class EventGatewayConfig(TypedDict):
    """Nothing to set: the Waits after it say what it waits for."""


def read(el: etree._Element, ctx: ReadContext) -> EventGatewayConfig | None:
    """An eventBasedGateway between steps (one that starts a process is refused)."""
    if el.get("instantiate", "").strip().lower() == "true":
        ctx.error(ctx.subject(el), "starts the process; use a Start for each event instead.")
    return {}


def connect(node: Node, ctx: ReadContext) -> None:
    """At least two ways out, each to a Wait for a message or for time."""
    subject = ctx.subject_of(node)
    if len(node["outgoing"]) < 2:
        ctx.error(subject, "needs at least two paths, each to a Wait: the first event to happen picks one.")
    for flow_id in node["outgoing"]:
        flow = ctx.flows[flow_id]
        target = ctx.nodes.get(flow["target"])
        if target is not None and target["kind"] not in _WAITS:
            named = f'"{target["name"]}" ({target["id"]})' if target["name"] else f"({target['id']})"
            ctx.error(
                subject,
                'after "First event wins" only Waits (for a message or for time) can follow; '
                f"{named} is {_a(ctx.subject_of(target).label)}.",
            )
        elif target is None and flow["target"] in ctx.placeholders:
            ctx.error(
                Subject(flow_id, flow["name"], "Flow"),
                f"leads from {subject.text()} to an element Baton does not run; only Waits can follow.",
            )


def _a(label: str) -> str:
    return f"an {label}" if label[:1].lower() in "aeiou" else f"a {label}"


class EventGatewayBlock(Block):
    kind = "event_gateway"
    waits = True
    saves_first = True

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        from orchestration.engine.blocks import block_for  # the registry imports this module

        move(step, Step.Status.WAITING)
        write_step(run, step, ["status"])
        waits: dict[str, str] = {}
        for flow_id in node["outgoing"]:
            target = run.graph["nodes"][run.graph["flows"][flow_id]["target"]]
            waits[target["id"]] = block_for(target["kind"]).arm(run, step, target)
        step.input = {"waits": waits}
        step.save(update_fields=["input"])
        return None

    def on_timer(self, run: Run, step: Step, payload: dict[str, Any]) -> None:
        target = payload["target"]
        self.on_caught(run, step, target, {}, message=f"{_wait_text(step, target).capitalize()} ended")

    def on_caught(
        self, run: Run, step: Step, catch_node_id: str, variables: dict[str, Any], *, message: str
    ) -> None:
        from orchestration.engine.runtime import complete_caught

        node = run.graph["nodes"][step.node_id]
        flow_id = next(
            (f for f in node["outgoing"] if run.graph["flows"][f]["target"] == catch_node_id), None
        )
        if flow_id is None:
            raise BlockError(f"{step.node_name or step.node_id} has no path to {catch_node_id!r}.")
        # The losers: the spent timer is already marked fired, the winning subscription deleted.
        Timer.objects.filter(step=step, fired_at__isnull=True, cancelled_at__isnull=True).update(
            cancelled_at=run.now
        )
        MessageSubscription.objects.filter(step=step).delete()
        waits = step.input.get("waits", {})
        losers = [_wait_text(step, wait) for wait in waits if wait != catch_node_id]
        cancelled = f"; {_joined(losers)} {'was' if len(losers) == 1 else 'were'} cancelled" if losers else ""
        run.event(
            "event_gateway.won",
            f"{message} first{cancelled}",
            step=step,
            data={"winner": catch_node_id, "cancelled": [w for w in waits if w != catch_node_id]},
        )
        complete_caught(run, step, flow_id, variables, message=message)

    def skip_flows(self, node: Node) -> list[str]:
        raise BlockError(
            '"First event wins" cannot be skipped: retry it, or move the request to one of its Waits.'
        )


def _wait_text(step: Step, wait: str) -> str:
    return str(step.input.get("waits", {}).get(wait) or f"the wait {wait}")


def _joined(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


KIND = Kind(
    name="event_gateway",
    label="First event wins",
    element="eventBasedGateway",
    config=EventGatewayConfig,
    read=read,
    connect=connect,
    block=EventGatewayBlock(),
    palette=PaletteEntry(
        key="first-event",
        label="First event wins",
        type="bpmn:EventBasedGateway",
        icon="bpmn-icon-gateway-eventbased",
        group="route",
        hint="Waits for several events; the first to happen picks the path, the others are cancelled",
    ),
)
