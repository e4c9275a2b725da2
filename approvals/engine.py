"""The approvals app's side of the engine's human-task interface.

:class:`ApprovalTaskProvider` turns an Approval block's assignee rule into an
:class:`~approvals.models.ApprovalTask`: a named user, a group queue, the
requester's manager, or the authority chain (the requester's manager, then
upward until an approver's limit covers the amount). Each task records why its
approver was chosen. Everything here runs inside the engine's transaction with
the instance row locked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from approvals import chain
from approvals.models import ApprovalTask, Profile, person
from orchestration.durations import parse_duration
from orchestration.engine.blocks.base import BlockError
from orchestration.expressions import ExpressionError, evaluate
from orchestration.models import Timer

if TYPE_CHECKING:
    import datetime
    from collections.abc import Callable

    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run
    from orchestration.models import Step

FALLBACK_GROUP = "Finance"
DEFAULT_CURRENCY = "USD"
AUTHORITY_CHAIN = "authority_chain"

_CURRENCY = re.compile(r"^[A-Za-z]{3}$")
_TASK_TIMERS = ((Timer.Kind.DUE, "due_in"), (Timer.Kind.REMINDER, "reminder_in"))


@dataclass(frozen=True)
class ChainRequest:
    """What an authority-chain Approval compares with limits: who asks, how much, in what, for what."""

    requester: Any
    amount: Decimal
    currency: str
    category: str


def chain_request(run: Run, node: Node) -> ChainRequest:
    """Evaluate the Approval block's amount and read ``currency`` and ``category`` from the variables.

    The amount is the block's ``amount_expression`` (CEL); the currency is the
    ``currency`` variable when set, else USD; the category is the ``category``
    variable when set, else none. Raises :class:`BlockError` when the amount is not
    a non-negative number or the currency is not a three-letter code.
    """
    source = node["config"].get("amount_expression") or ""
    if not source:
        raise BlockError("The authority chain needs an amount, and this Approval names none.")
    try:
        value = evaluate(source, run.graph["variables"], run.scope())
    except ExpressionError as exc:
        raise BlockError(f"The amount ({source}) could not be evaluated: {exc}") from None
    # bool is an int in Python, but true is no amount.
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise BlockError(f"The amount ({source}) is {value!r}, not a number.")
    amount = Decimal(str(value))
    if not amount.is_finite() or amount < 0:
        raise BlockError(f"The amount ({source}) is {value!r}; it must be zero or more.")
    currency = run.variables.get("currency")
    if currency in (None, ""):
        currency = DEFAULT_CURRENCY
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise BlockError(f"The currency {currency!r} is not a three-letter code such as USD.")
    category = run.variables.get("category")
    return ChainRequest(
        requester=run.instance.initiator,
        amount=amount,
        currency=currency.upper(),
        category=category.strip() if isinstance(category, str) else "",
    )


def is_chain_level(node: Node, task: ApprovalTask) -> bool:
    """Whether ``task`` is a personal level of an authority chain (not its fallback group queue)."""
    return node["config"].get("assignee_rule") == AUTHORITY_CHAIN and task.assignee_id is not None


def escalate_in_chain(
    run: Run, step: Step, node: Node, decided: ApprovalTask, request: ChainRequest
) -> ApprovalTask:
    """Open the next level's task after ``decided`` was approved by someone whose limit is too low.

    The step keeps waiting; its due date and reminder start again for the new
    approver. The caller holds the instance lock (``locked_run``) and has saved
    ``decided`` as approved.
    """
    approvals = (
        ApprovalTask.objects.filter(
            step=step, status=ApprovalTask.Status.COMPLETED, outcome="approved", decided_by__isnull=False
        )
        .select_related("decided_by")
        .order_by("chain_level", "decided_at", "pk")
    )
    approved_by = [t.decided_by for t in approvals]
    task = ApprovalTask(instance=run.instance, step=step, name=decided.name)
    _route_chain(task, node["config"], request, decided.chain_level, approved_by, timezone.localdate(run.now))
    # The new approver gets the block's full time to decide, not what is left of the last one's.
    Timer.objects.filter(
        step=step, kind__in=[k for k, _ in _TASK_TIMERS], fired_at__isnull=True, cancelled_at__isnull=True
    ).update(cancelled_at=run.now)
    decider = decided.decided_by.get_username() if decided.decided_by else "?"
    run.event(
        "task.escalated",
        f"{decided.name}: approved at level {decided.chain_level} by {decider}, "
        f"next: {_who(task)} (level {task.chain_level})",
        step=step,
        data={"task": decided.id, "level": decided.chain_level, "next_level": task.chain_level},
    )
    _open(run, step, node, task)
    return task


class ApprovalTaskProvider:
    """Creates :class:`ApprovalTask` rows for Approval blocks and closes them."""

    def create_tasks(self, run: Run, step: Step, node: Node) -> None:
        """Create the task for ``step`` by the block's assignee rule, with the reason for its approver."""
        config = node["config"]
        rule = config.get("assignee_rule") or "user"
        task = ApprovalTask(instance=run.instance, step=step, name=node["name"] or "Approval")
        route = _RULES.get(rule, _by_unknown_rule)
        route(run, node, task)
        _open(run, step, node, task)

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


# --- routing rules ---------------------------------------------------------------------


def _by_user(run: Run, node: Node, task: ApprovalTask) -> None:
    username = node["config"].get("assignee", "")
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise BlockError(f"Approver {username!r} is not an active user.")
    _to_person(run, node["config"], task, user, f"Named approver {username}")


def _by_group(run: Run, node: Node, task: ApprovalTask) -> None:
    names = node["config"].get("groups") or [_fallback(node["config"])]
    _to_group(task, names[0], f"Queue of group {names[0]}")


def _by_manager(run: Run, node: Node, task: ApprovalTask) -> None:
    requester = run.instance.initiator
    if requester is None:
        _to_fallback(node["config"], task, "The process has no requester, so no manager")
        return
    profile = Profile.objects.select_related("manager").filter(user=requester).first()
    manager = profile.manager if profile else None
    if manager is None or not manager.is_active:
        _to_fallback(node["config"], task, f"{person(requester)} has no active manager in the org chart")
        return
    _to_person(run, node["config"], task, manager, f"{person(requester)}'s manager")


def _by_authority_chain(run: Run, node: Node, task: ApprovalTask) -> None:
    request = chain_request(run, node)
    _route_chain(task, node["config"], request, 0, [], timezone.localdate(run.now))


def _by_unknown_rule(run: Run, node: Node, task: ApprovalTask) -> None:
    # The compiler refuses unknown rules; a graph compiled by a newer Baton still gets a queue.
    _to_fallback(node["config"], task, f"Rule {node['config'].get('assignee_rule')} is unknown")


_RULES: dict[str, Callable[[Run, Node, ApprovalTask], None]] = {
    "user": _by_user,
    "group": _by_group,
    "manager": _by_manager,
    AUTHORITY_CHAIN: _by_authority_chain,
}


# --- assigning -------------------------------------------------------------------------


def _fallback(config: dict[str, Any]) -> str:
    return str(config.get("escalate_to") or FALLBACK_GROUP)


def _to_group(task: ApprovalTask, name: str, reason: str) -> None:
    group = Group.objects.filter(name=name).first()
    if group is None:
        raise BlockError(f"Approver group {name!r} does not exist.")
    task.assignee = None
    task.candidate_group = group
    task.reason = reason[:500]


def _to_fallback(config: dict[str, Any], task: ApprovalTask, why: str) -> None:
    name = _fallback(config)
    _to_group(task, name, f"{why}; routed to the fallback group {name}")


def _to_person(run: Run, config: dict[str, Any], task: ApprovalTask, user: Any, reason: str) -> None:
    """Assign ``user`` or their delegate while away; never the requester (the group decides then)."""
    approver, delegation = chain.resolve_approver(user, timezone.localdate(run.now))
    if delegation:
        reason = f"{reason}; {delegation}"
    requester = run.instance.initiator
    if requester is not None and approver.pk == requester.pk:
        _to_fallback(config, task, f"{reason}; {person(approver)} is the requester and cannot approve it")
        return
    task.assignee = approver
    task.reason = reason[:500]


def _route_chain(
    task: ApprovalTask,
    config: dict[str, Any],
    request: ChainRequest,
    after_level: int,
    approved_by: list[Any],
    on_date: datetime.date,
) -> None:
    """Assign the authority chain's level above ``after_level``, or the fallback group when it ends."""
    task.chain_level = after_level + 1
    if request.requester is None:
        _to_fallback(config, task, "The process has no requester, so no management chain")
        return
    try:
        found = chain.next_level(
            request.requester,
            after_level,
            request.amount,
            request.currency,
            request.category,
            on_date,
            approved_by=approved_by,
        )
    except chain.ManagerCycle as exc:
        _to_fallback(config, task, str(exc))
        return
    if found is None:
        group = _fallback(config)
        why = chain.chain_ended(request.requester, after_level, request.amount, request.currency, group)
        _to_group(task, group, why)
        return
    task.assignee = found.approver
    task.candidate_group = None
    task.chain_level = found.level
    task.limit_applied = str(found.limit)[:200] if found.limit else ""
    task.reason = found.reason[:500]


def _who(task: ApprovalTask) -> str:
    return task.assignee.get_username() if task.assignee else f"group {task.candidate_group}"


def _open(run: Run, step: Step, node: Node, task: ApprovalTask) -> None:
    """Schedule the block's due date and reminder, save ``task`` and record its creation."""
    config = node["config"]
    for kind, key in _TASK_TIMERS:
        delta = parse_duration(config.get(key) or "")
        if delta is None:
            continue
        timer = Timer.objects.create(kind=kind, due_at=run.now + delta, instance=run.instance, step=step)
        if kind == Timer.Kind.DUE:
            task.due_at = timer.due_at
    task.save()
    level = f" (level {task.chain_level})" if task.chain_level else ""
    run.event(
        "task.created",
        f"{task.name} assigned to {_who(task)}{level}",
        step=step,
        data={"task": task.id, "reason": task.reason},
    )
