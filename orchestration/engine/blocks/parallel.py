"""Parallel split and join.

A join step waits until a token has arrived on every incoming flow. Branches
serialize on the locked instance row, so exactly one arrival sees them all; the
unique ``join_key`` on the firing step guards that a second time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypedDict

from orchestration.engine.blocks.base import Block, Kind, PaletteEntry
from orchestration.engine.transitions import STEP, move
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
    saves_first = True
    leaves_open = False  # a later branch of the same run may consume the arrival

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        incoming = node["incoming"]
        if len(incoming) <= 1:
            return list(node["outgoing"])
        move(step, Step.Status.WAITING)
        step.save(update_fields=["status"])
        first_by_flow: dict[str, int] = {}
        arrivals = Step.objects.filter(
            instance=run.instance, node_id=node["id"], status=Step.Status.WAITING
        ).order_by("id")
        for arrival_id, flow in arrivals.values_list("id", "incoming_flow"):
            first_by_flow.setdefault(flow, arrival_id)
        if not all(flow in first_by_flow for flow in incoming):
            return None
        consumed = sorted(first_by_flow[flow] for flow in incoming)
        STEP.bulk_move(
            Step.objects.filter(id__in=consumed).exclude(id=step.id), Step.Status.COMPLETED, ended_at=run.now
        )
        step.join_key = f"{node['id']}:{consumed[0]}"
        step.output = {"joined": len(consumed)}
        return list(node["outgoing"])


KIND = Kind(
    name="parallel",
    label="Parallel gateway",
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
