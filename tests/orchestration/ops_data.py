"""Requests in every state for the operations console's tests, made through the engine's actions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model

from orchestration.engine import start_instance
from orchestration.models import ProcessInstance, WorkflowVersion
from tests import bpmn
from tests.orchestration.factories import publish

# Start form: an item and a count; dividing by the count fails inline when it is 0 (an incident
# without any worker), otherwise the request waits for the owner's approval.
DIVIDE_XML = bpmn.definitions(
    bpmn.start(
        "start", bpmn.field("item", "string", required=True), bpmn.field("count", "integer", required=True)
    ),
    bpmn.script("divide", '{"share": 100 / count}', name="Share out"),
    bpmn.user_task("approve", name="Manager approval", assignee="owner"),
    bpmn.end(outcome="approved"),
    *bpmn.chain("start", "divide", "approve", "end"),
)


@dataclass
class OpsData:
    """Who is who, the two workflows and a few requests of each."""

    people: dict[str, Any]
    divide: WorkflowVersion
    other: WorkflowVersion

    def start(self, item: str, count: int, *, by: str = "alice", key: str = "") -> ProcessInstance:
        return start_instance(
            self.divide, {"item": item, "count": count}, initiator=self.people[by], business_key=key
        )


def make_ops_data() -> OpsData:
    """``owner`` operates Divide (it made it); ``olga`` operates Other; ``alice`` only starts requests."""
    users = get_user_model()
    people = {
        name: users.objects.create_user(name, first_name=name.title(), last_name="Example")
        for name in ("owner", "alice", "olga", "victor")
    }
    divide = publish(DIVIDE_XML, key="divide", name="Divide the budget", owner=people["owner"])
    other = publish(bpmn.linear_inline(1), key="other", name="Other work", owner=people["olga"])
    return OpsData(people, divide, other)
