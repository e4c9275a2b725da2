"""The approvals app's side of the engine's human-task interface."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from approvals.models import ApprovalTask
from orchestration.durations import parse_duration
from orchestration.engine.blocks.base import BlockError
from orchestration.models import Timer

if TYPE_CHECKING:
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run
    from orchestration.models import Step

FALLBACK_GROUP = "Finance"


class ApprovalTaskProvider:
    """Creates :class:`ApprovalTask` rows for Approval blocks and closes them."""

    def create_tasks(self, run: Run, step: Step, node: Node) -> None:
        config = node["config"]
        rule = config.get("assignee_rule") or "user"
        task = ApprovalTask(instance=run.instance, step=step, name=node["name"] or "Approval")
        if rule == "user":
            username = config.get("assignee", "")
            user = get_user_model().objects.filter(username=username, is_active=True).first()
            if user is None:
                raise BlockError(f"Approver {username!r} is not an active user.")
            task.assignee = user
            task.reason = f"Named approver {username}"
        else:
            names = config.get("groups") or [config.get("escalate_to") or FALLBACK_GROUP]
            group = Group.objects.filter(name=names[0]).first()
            if group is None:
                raise BlockError(f"Approver group {names[0]!r} does not exist.")
            task.candidate_group = group
            task.reason = (
                f"Queue of group {group.name}"
                if rule == "group"
                else f"Rule {rule}: routed to the fallback group {group.name}"
            )
        for kind, key in ((Timer.Kind.DUE, "due_in"), (Timer.Kind.REMINDER, "reminder_in")):
            delta = parse_duration(config.get(key) or "")
            if delta is None:
                continue
            timer = Timer.objects.create(kind=kind, due_at=run.now + delta, instance=run.instance, step=step)
            if kind == Timer.Kind.DUE:
                task.due_at = timer.due_at
        task.save()
        who = task.assignee.get_username() if task.assignee else f"group {task.candidate_group}"
        run.event("task.created", f"{task.name} assigned to {who}", step=step, data={"task": task.id})

    def cancel_tasks(self, run: Run, step: Step) -> None:
        ApprovalTask.objects.filter(step=step, status=ApprovalTask.Status.OPEN).update(
            status=ApprovalTask.Status.CANCELLED
        )

    def on_timer(self, run: Run, step: Step, timer: Timer) -> None:
        run.event(f"task.{timer.kind}", f"{step.node_name}: {timer.get_kind_display()}", step=step)

    def describe(self, step: Step) -> dict[str, Any]:
        tasks = ApprovalTask.objects.filter(step=step, status=ApprovalTask.Status.OPEN)
        return {
            "tasks": [
                {
                    "id": t.id,
                    "assignee": t.assignee.get_username() if t.assignee else None,
                    "group": t.candidate_group.name if t.candidate_group else None,
                }
                for t in tasks.select_related("assignee", "candidate_group")
            ]
        }
