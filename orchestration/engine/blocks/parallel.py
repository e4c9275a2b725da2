"""Parallel split and join.

A join step waits until a token has arrived on every incoming flow. Branches
serialize on the locked instance row, so exactly one arrival sees them all; the
unique ``join_key`` on the firing step guards that a second time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypedDict

from orchestration.engine.blocks.base import Block, Kind, PaletteEntry
from orchestration.engine.transitions import move
from orchestration.engine.writes import close_steps, waiting_arrivals
from orchestration.models import Step

if TYPE_CHECKING:
    from lxml import etree

    from orchestration.bpmn.context import ReadContext
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run


class ParallelConfig(TypedDict):
    """A parallel gateway's role, from its flows: it splits, joins, both, or passes the token on."""

    role: Literal["split", "join", "both", "pass"]


def read(el: etree._Element, ctx: ReadContext) -> ParallelConfig | None:
    """A parallelGateway; its role is known once its flows are read."""
    return {"role": "pass"}


def connect(node: Node, ctx: ReadContext) -> None:
    """Split, join or both, by the number of flows in and out."""
    incoming, outgoing = node["incoming"], node["outgoing"]
    if len(incoming) > 1:
        node["config"]["role"] = "both" if len(outgoing) > 1 else "join"
    elif len(outgoing) > 1:
        node["config"]["role"] = "split"


class ParallelBlock(Block):
    kind = "parallel"
    leaves_open = False  # a later branch of the same run may consume the arrival

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        incoming = node["incoming"]
        if len(incoming) <= 1:
            return list(node["outgoing"])
        move(step, Step.Status.WAITING)
        arrivals = waiting_arrivals(run, node["id"])
        arrivals.append(step)
        first_by_flow: dict[str, Step] = {}
        for arrival in arrivals:
            first_by_flow.setdefault(arrival.incoming_flow, arrival)
        if not all(flow in first_by_flow for flow in incoming):
            return None  # waits, written with the run's new steps
        consumed = [first_by_flow[flow] for flow in incoming]
        # The oldest arrival names the firing: two runs consuming it would write the same key.
        oldest = next(arrival for arrival in arrivals if any(arrival is c for c in consumed))
        arrivals[:] = [arrival for arrival in arrivals if all(arrival is not c for c in consumed)]
        close_steps(run, [arrival for arrival in consumed if arrival is not step], Step.Status.COMPLETED)
        step.join_key = f"{node['id']}:{oldest.idempotency_key}"
        step.output = {"joined": len(consumed)}
        return list(node["outgoing"])


KIND = Kind(
    name="parallel",
    label="Parallel split/join",
    element="parallelGateway",
    config=ParallelConfig,
    read=read,
    connect=connect,
    role_labels={"split": "Parallel split", "join": "Parallel join"},
    block=ParallelBlock(),
    palette=PaletteEntry(
        key="parallel",
        label="Parallel split/join",
        type="bpmn:ParallelGateway",
        icon="bpmn-icon-gateway-parallel",
        group="route",
        hint="Runs paths at the same time, then waits for all of them",
    ),
)
