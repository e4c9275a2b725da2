"""Parallel split and join.

A join step waits until a token has arrived on every incoming flow. Branches
serialize on the locked instance row, so exactly one arrival sees them all; the
unique ``join_key`` on the firing step guards that a second time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestration.engine.blocks.base import Block
from orchestration.engine.transitions import STEP, move
from orchestration.models import Step

if TYPE_CHECKING:
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run


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
