"""The approvals app's side of the engine's human-task interface.

:class:`ApprovalTaskProvider` turns an Approval block's assignee rule into an
:class:`~approvals.models.ApprovalTask`: a named user, a group queue, the
requester's manager, the authority chain (the requester's manager, then
upward until an approver's limit covers the amount), or a person or group
named in the request's data (a CEL expression, e.g. the item of a For each). Each task records why its
approver was chosen. Everything here runs inside the engine's transaction with
the instance row locked.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from approvals import chain
from approvals.access import approvals_on, visible_tasks
from approvals.exchange import NoRate
from approvals.models import (
    NOBODY_MAY_DECIDE,
    ApprovalTask,
    Profile,
    decided_by_words,
    person,
    task_holder,
)
from approvals.notifications import Kind, notify_cancelled_on_commit, notify_on_commit
from approvals.transitions import TASK
from orchestration import money
from orchestration.durations import parse_duration
from orchestration.engine import human
from orchestration.engine.human import BlockError, see_as_step
from orchestration.expressions import ExpressionError, evaluate
from orchestration.models import Incident, Step, Timer

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from django.contrib.auth.models import AbstractBaseUser
    from django.db.models import QuerySet

    from orchestration.bpmn.graph import Node
    from orchestration.engine.human import Run

FALLBACK_GROUP = "Finance"
AUTHORITY_CHAIN = "authority_chain"

# Each task timer and the block setting that sets it; they restart for each new approver.
_TIMER_SETTINGS = ((Timer.Kind.DUE, "due_in"), (Timer.Kind.REMINDER, "reminder_in"))
TASK_TIMERS = tuple(kind for kind, _ in _TIMER_SETTINGS)


class NoApprover(BlockError):
    """Nobody eligible is left: the chain, its fallback group and the final approvers are all exhausted."""

    def __init__(self, why: str) -> None:
        super().__init__(
            f"{NOBODY_MAY_DECIDE}: {why}. An administrator adds an approver (for example under "
            "Final approvers), then an operator retries this step."
        )


@dataclass(frozen=True)
class ChainRequest:
    """What an authority-chain Approval compares with limits: who asks, how much, in what, for what.

    ``rate_date`` is the day the request was made: a conversion into the base currency
    uses the rate in force then, at every level and on every retry.
    """

    requester: Any
    amount: Decimal
    currency: str
    category: str
    rate_date: datetime.date


def chain_request(run: Run, node: Node) -> ChainRequest:
    """Read the Approval block's amount, and ``currency`` and ``category`` from the variables.

    The amount is the block's ``amount_expression``: a money variable named there is
    read exactly from its stored text; any other expression is evaluated (CEL gives a
    double) and rounded half up to the currency's minor units. The currency is the
    ``currency`` variable, never assumed; the category is the ``category`` variable
    when set, else none. Raises :class:`BlockError` when the currency is missing or
    not an ISO 4217 code, or the amount is not one Baton accepts in it.
    """
    source = (node["config"].get("amount_expression") or "").strip()
    if not source:
        raise BlockError("The authority chain needs an amount, and this Approval names none.")
    currency = run.variables.get("currency")
    if currency in (None, ""):
        raise BlockError(
            "The request has no currency, so its amount cannot be compared with authority limits: "
            'give the process a "currency" field (a code such as USD).'
        )
    if not money.is_currency(currency):
        raise BlockError(f"The currency {currency!r} is not a currency code such as USD or EUR.")
    currency = currency.upper()
    value = run.variables.get(source)
    if not isinstance(value, str):
        try:
            value = evaluate(source, run.graph["variables"], run.scope())
        except ExpressionError as exc:
            raise BlockError(f"The amount ({source}) could not be evaluated: {exc}") from None
    try:
        amount = money.parse_amount(value, currency, computed=True)
    except money.MoneyError as exc:
        raise BlockError(f"The amount ({source}) is {value!r}: {exc}") from None
    category = run.variables.get("category")
    return ChainRequest(
        requester=run.instance.initiator,
        amount=amount,
        currency=currency,
        category=category.strip() if isinstance(category, str) else "",
        rate_date=timezone.localdate(run.instance.started_at),
    )


def covers_request(user: Any, request: ChainRequest, on_date: datetime.date) -> bool:
    """Whether ``user``'s own limit covers ``request`` on ``on_date``; a missing rate is a :class:`BlockError`."""
    try:
        return chain.covers(
            user, request.amount, request.currency, request.category, on_date, rate_date=request.rate_date
        )
    except NoRate as exc:
        raise BlockError(str(exc)) from None


def is_chain_level(node: Node, task: ApprovalTask) -> bool:
    """Whether ``task`` is a personal level of an authority chain (not its fallback group queue)."""
    # A claimed fallback-queue task has an assignee too, but it is not a level of the chain.
    return (
        node["config"].get("assignee_rule") == AUTHORITY_CHAIN
        and task.assignee_id is not None
        and task.candidate_group_id is None
    )


def needs_everyone(node: Node) -> bool:
    """Whether the block is a group approval where every member must approve (quorum "all")."""
    return node["config"].get("assignee_rule") == "group" and node["config"].get("quorum") == "all"


def escalate_in_chain(
    run: Run, step: Step, node: Node, decided: ApprovalTask, request: ChainRequest
) -> ApprovalTask:
    """Open the next level's task after ``decided`` was approved by someone whose limit is too low.

    The step keeps waiting; its due date and reminder start again for the new
    approver. The caller holds the instance lock (``locked_run``) and has saved
    ``decided`` as approved.
    """
    approved_by = [t.decided_by for t in approvals_on([step, *_failed_attempts(step)])]
    task = ApprovalTask(instance=run.instance, step=step, name=decided.name)
    _route_chain(run, task, node["config"], request, decided.chain_level, approved_by, decided.on_behalf_of)
    # The new approver gets the block's full time to decide, not what is left of the last one's.
    human.cancel_step_timers(run, step, TASK_TIMERS)
    decider = decided_by_words(decided)
    run.event(
        "task.escalated",
        f"{decided.name}: approved at level {decided.chain_level} by {decider}, "
        f"next: {task_holder(task)} (level {task.chain_level})",
        step=step,
        data={"task": decided.id, "level": decided.chain_level, "next_level": task.chain_level},
    )
    _open(run, step, node, task)
    return task


class ApprovalTaskProvider:
    """Creates :class:`ApprovalTask` rows for Approval blocks and closes them."""

    def instances_of(self, user: AbstractBaseUser) -> QuerySet[Any]:
        """Ids of the instances ``user`` has a task on (to decide, or decided)."""
        return visible_tasks(user).values("instance_id")

    def create_tasks(self, run: Run, step: Step, node: Node) -> None:
        """Create the task for ``step`` by the block's assignee rule, with the reason for its approver."""
        config = node["config"]
        rule = config.get("assignee_rule") or "user"
        if needs_everyone(node):
            _open_for_every_member(run, step, node)
            return
        # A resubmitted request routes again outside the step's own run: give it the item it sees.
        see_as_step(run, step)
        task = ApprovalTask(instance=run.instance, step=step, name=_task_name(run, node))
        route = _RULES.get(rule, _by_unknown_rule)
        route(run, node, task)
        _open(run, step, node, task)

    def cancel_tasks(self, run: Run, step: Step) -> None:
        TASK.bulk_move(ApprovalTask.objects.filter(step=step), ApprovalTask.Status.CANCELLED)

    def instance_cancelled(self, run: Run, reason: str) -> None:
        """Email the requester when someone else (an operator) cancels their request; a withdrawal needs none."""
        requester_id = run.instance.initiator_id
        actor = run.actor if run.actor is not None and run.actor.is_authenticated else None
        if requester_id is None or (actor is not None and actor.pk == requester_id):
            return
        if run.instance.parent_step_id is not None:
            return  # a sub-process: its parent request is the one people know
        notify_cancelled_on_commit(run.instance, actor, reason)

    def on_timer(self, run: Run, step: Step, timer: Timer) -> None:
        """A reminder emails the approvers of the step's open tasks again; a due date escalates them."""
        node = run.graph["nodes"][step.node_id]
        tasks = (
            ApprovalTask.objects.select_for_update(of=("self",))
            .select_related("assignee", "candidate_group")
            .filter(step=step, status=ApprovalTask.Status.OPEN, kind=ApprovalTask.Kind.DECISION)
            .order_by("pk")
        )
        for task in tasks:
            if timer.kind == Timer.Kind.REMINDER:
                run.event(
                    "task.reminder",
                    f"{task.name}: reminder sent to {task_holder(task)}",
                    step=step,
                    data={"task": task.id},
                )
                notify_on_commit("reminder", task)
            elif timer.kind == Timer.Kind.DUE and needs_everyone(node):
                # Everyone must approve: handing each vote to a queue could never complete; mark it late.
                _overdue(run, step, task, f"{task.name}: still waiting for {task_holder(task)}")
            elif timer.kind == Timer.Kind.DUE:
                _escalate_on_timeout(run, step, node, task)
            else:
                run.event(f"task.{timer.kind}", f"{task.name}: {timer.get_kind_display()}", step=step)

    def decision_variables(self, node: Node, outcome: str, comment: str, by: str) -> dict[str, Any]:
        """What deciding ``outcome`` sets, as :func:`approvals.actions.complete_task` writes it."""
        decision: dict[str, Any] = {"outcome": outcome, "comment": comment, "by": by}
        if node["config"].get("assignee_rule") == AUTHORITY_CHAIN:
            decision["level"] = 1
        return {node["config"].get("result_variable") or "approval": decision}

    def describe(self, step: Step) -> dict[str, Any]:
        tasks = ApprovalTask.objects.filter(step=step, status=ApprovalTask.Status.OPEN)
        return {
            "tasks": [
                {
                    "id": t.id,
                    "assignee": t.assignee.get_username() if t.assignee else None,
                    "group": t.candidate_group.name if t.candidate_group else None,
                    "holder": task_holder(t),
                }
                for t in tasks.select_related("assignee", "candidate_group")
            ]
        }


# --- routing rules ---------------------------------------------------------------------


def _by_user(run: Run, node: Node, task: ApprovalTask) -> None:
    username = node["config"].get("assignee", "")
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        _to_fallback(run, node["config"], task, f"The named approver {username} is not an active user")
        return
    _to_person(run, node["config"], task, user, f"Named approver {username}")


def _by_group(run: Run, node: Node, task: ApprovalTask) -> None:
    names = node["config"].get("groups") or [_fallback(node["config"])]
    _to_group(run, task, names[0], f"Queue of group {names[0]}", then=_fallback(node["config"]))


def _open_for_every_member(run: Run, step: Step, node: Node) -> None:
    """Quorum "all": one personal task per active member of the group (never the requester)."""
    name = (node["config"].get("groups") or [_fallback(node["config"])])[0]
    group = Group.objects.filter(name=name).first()
    if group is None:
        raise BlockError(f"Approver group {name!r} does not exist.")
    requester_id = run.instance.initiator_id
    members = [m for m in group.user_set.filter(is_active=True).order_by("username") if m.pk != requester_id]
    if not members:
        raise NoApprover(
            f"everyone in the {name} group must approve, but {chain.nobody_eligible(group, run.instance.initiator)}"
        )
    due_at = None
    for n, member in enumerate(members):
        task = ApprovalTask(
            instance=run.instance, step=step, name=node["name"] or "Approval", assignee=member, due_at=due_at
        )
        # Personal tasks (no queue to claim from): the group is named in the reason.
        task.reason = f"Everyone in group {name} must approve ({len(members)} people)"
        _open(run, step, node, task, timers=n == 0)
        due_at = task.due_at


def _by_manager(run: Run, node: Node, task: ApprovalTask) -> None:
    requester = run.instance.initiator
    if requester is None:
        _to_fallback(run, node["config"], task, "The process has no requester, so no manager")
        return
    profile = Profile.objects.select_related("manager").filter(user=requester).first()
    manager = profile.manager if profile else None
    if manager is None or not manager.is_active:
        _to_fallback(run, node["config"], task, f"{person(requester)} has no active manager in the org chart")
        return
    _to_person(run, node["config"], task, manager, f"{person(requester)}'s manager")


def _by_authority_chain(run: Run, node: Node, task: ApprovalTask) -> None:
    request = chain_request(run, node)
    # A retried incident enters the block again as a new step: resume above the levels approved so far.
    approvals = approvals_on(_failed_attempts(task.step))
    after_level = max((t.chain_level for t in approvals), default=0)
    approved_by = [t.decided_by for t in approvals]
    last_for = approvals[-1].on_behalf_of if approvals else None
    _route_chain(run, task, node["config"], request, after_level, approved_by, last_for)


def _by_person_from_data(run: Run, node: Node, task: ApprovalTask) -> None:
    username, origin = _named_in_data(run, node, "person")
    user = get_user_model().objects.filter(username=username).first()
    if user is None or not user.is_active:
        raise BlockError(f"No {'active ' if user is not None else ''}user named {username!r} ({origin}).")
    _to_person(run, node["config"], task, user, f"Named in the request's data ({origin})")


def _by_group_from_data(run: Run, node: Node, task: ApprovalTask) -> None:
    name, origin = _named_in_data(run, node, "group")
    if not Group.objects.filter(name=name).exists():
        raise BlockError(f"No group named {name!r} ({origin}).")
    reason = f"Queue of group {name}, named in the request's data ({origin})"
    _to_group(run, task, name, reason, then=_fallback(node["config"]))


def _named_in_data(run: Run, node: Node, what: str) -> tuple[str, str]:
    """The username or group name the block's ``assignee_expression`` gives, and where it came from in words.

    Raises :class:`BlockError` (an incident) when it cannot be computed or is not a name.
    """
    source = str(node["config"].get("assignee_expression") or "").strip()
    loop = node.get("loop")
    if loop is not None and source == loop["item"]:
        origin = f"one of the {_list_words(loop['collection'])}"
    elif loop is not None and loop["item"] in run.locals:
        origin = f"for {run.locals[loop['item']]}, one of the {_list_words(loop['collection'])}"
    else:
        origin = f"from {source}"
    try:
        value = evaluate(source, run.graph["variables"], run.scope())
    except ExpressionError as exc:
        raise BlockError(f"Cannot work out the {what} who decides ({origin}): {exc}") from None
    if not isinstance(value, str) or not value.strip():
        raise BlockError(f"The {what} who decides ({origin}) is {value!r}, not a {what}'s name.")
    return value.strip(), origin


def _list_words(collection: str) -> str:
    """A For each's list as people read it: ``cost_centres`` -> "cost centres" (an expression: "items of its list")."""
    name = collection.strip()
    return name.replace("_", " ") if name.isidentifier() else "items of its list"


def _task_name(run: Run, node: Node) -> str:
    """The block's name; inside a For each, with the item it is for ("Cost centre approval: MKT-110")."""
    name = node["name"] or "Approval"
    loop = node.get("loop")
    item = run.locals.get(loop["item"]) if loop is not None else None
    if isinstance(item, str | int | float) and not isinstance(item, bool) and str(item).strip():
        name = f"{name}: {item}"
    return name[:200]


def _by_unknown_rule(run: Run, node: Node, task: ApprovalTask) -> None:
    # The compiler refuses unknown rules; a graph compiled by a newer Baton still gets a queue.
    _to_fallback(run, node["config"], task, f"Rule {node['config'].get('assignee_rule')} is unknown")


_RULES: dict[str, Callable[[Run, Node, ApprovalTask], None]] = {
    "user": _by_user,
    "group": _by_group,
    "manager": _by_manager,
    AUTHORITY_CHAIN: _by_authority_chain,
    "from_data": _by_person_from_data,
    "group_from_data": _by_group_from_data,
}


# --- assigning -------------------------------------------------------------------------


def _fallback(config: dict[str, Any]) -> str:
    return str(config.get("escalate_to") or FALLBACK_GROUP)


def _to_group(
    run: Run,
    task: ApprovalTask,
    name: str,
    reason: str,
    approved_by: Sequence[Any] = (),
    *,
    then: str = "",
) -> None:
    """Queue ``task`` for group ``name``; when nobody there may decide, for group ``then``, then the final approvers.

    Raises :class:`NoApprover` when no group has anyone eligible (active, not the
    requester, not in ``approved_by``): a task nobody may decide is never opened.
    """
    requester = run.instance.initiator
    currency, category = _request_scope(run)
    given, reason = reason, reason or f"Queue of group {name}"
    named = [(n, Group.objects.filter(name=n).first()) for n in dict.fromkeys(filter(None, [name, then]))]
    problems = [f"the group {n} does not exist" for n, group in named if group is None]
    finals = [row.group for row in chain.final_approvers(currency, category)]
    seen: set[int] = set()
    for group in [*(g for _, g in named), *finals]:
        if group is None or group.pk in seen:
            continue
        seen.add(group.pk)
        problem = chain.nobody_eligible(group, requester, approved_by)
        if problem:
            problems.append(problem)
            continue
        if group.name == then and problems:
            reason = f"{reason}, but {'; and '.join(problems)}, so it goes to the fallback group {group}"
        elif problems:
            reason = (
                f"{reason}, but {'; and '.join(problems)}, so the final approvers decide: the {group} group"
            )
        task.assignee = None
        task.candidate_group = group
        task.reason = (reason if problems or given else "")[:500]
        return
    scope = " ".join(filter(None, [currency, category])) or "these"
    if not finals:
        problems.append(f"no final approvers are set for {scope} requests")
    raise NoApprover(f"{reason}, but {'; and '.join(problems)}")


def _request_scope(run: Run) -> tuple[str, str]:
    """The request's currency and spend category, as final approvers are chosen by (blank: unknown)."""
    currency, category = run.variables.get("currency"), run.variables.get("category")
    return (
        currency.upper() if money.is_currency(currency) else "",
        category.strip() if isinstance(category, str) else "",
    )


def _to_fallback(
    run: Run, config: dict[str, Any], task: ApprovalTask, why: str, approved_by: Sequence[Any] = ()
) -> None:
    name = _fallback(config)
    _to_group(run, task, name, f"{why}; routed to the fallback group {name}", approved_by)


def _to_person(run: Run, config: dict[str, Any], task: ApprovalTask, user: Any, reason: str) -> None:
    """Assign ``user`` or their delegate while away; never the requester (the group decides then)."""
    approver, delegation = chain.resolve_approver(user, timezone.localdate(run.now))
    if delegation:
        reason = f"{reason}; {delegation}"
    requester = run.instance.initiator
    if requester is not None and approver.pk == requester.pk:
        _to_fallback(
            run, config, task, f"{reason}; {person(approver)} is the requester and cannot approve it"
        )
        return
    task.assignee = approver
    task.on_behalf_of = user if approver.pk != user.pk else None
    task.delegated = task.on_behalf_of is not None
    task.reason = reason[:500]


def _route_chain(
    run: Run,
    task: ApprovalTask,
    config: dict[str, Any],
    request: ChainRequest,
    after_level: int,
    approved_by: list[Any],
    last_authority_of: Any = None,
) -> None:
    """Assign the authority chain's level above ``after_level``, or the fallback group when it ends.

    ``last_authority_of``: whose limit the last approval carried, when a delegate gave it.
    """
    on_date = timezone.localdate(run.now)
    task.chain_level = after_level + 1
    if request.requester is None:
        _to_fallback(run, config, task, "The process has no requester, so no management chain")
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
            last_authority_of=last_authority_of,
            rate_date=request.rate_date,
        )
    except chain.ManagerCycle as exc:
        _to_fallback(run, config, task, str(exc), approved_by)
        return
    except NoRate as exc:
        raise BlockError(str(exc)) from None
    if found is None:
        group = _fallback(config)
        why = chain.chain_ended(request.requester, after_level, request.amount, request.currency, group)
        _to_group(run, task, group, why, approved_by)
        task.name = f"{task.candidate_group} approval"
        return
    task.assignee = found.approver
    task.on_behalf_of = found.on_behalf_of
    task.delegated = found.on_behalf_of is not None
    task.candidate_group = None
    task.chain_level = found.level
    applied = str(found.limit) if found.limit else ""
    if found.conversion is not None:
        applied += f"; the request counts as {found.conversion.describe()}"
    task.limit_applied = applied[:200]
    task.reason = found.reason[:500]
    if found.level > 1:
        # "Manager approval" is the block's name for level 1; the CFO's level says whose it is.
        owner = found.on_behalf_of or found.approver
        profile = Profile.objects.filter(user=owner).first()
        task.name = f"Level {found.level} approval: {(profile.title if profile else '') or person(owner)}"


def _open(
    run: Run,
    step: Step,
    node: Node,
    task: ApprovalTask,
    *,
    notify: Kind = "assigned",
    previous: ApprovalTask | None = None,
    timers: bool = True,
) -> None:
    """Schedule the block's due date and reminder, save ``task``, record its creation, email its approvers.

    ``timers=False`` for the second and later tasks of one step: the step's timers serve them all
    (the caller copies the first task's ``due_at``).
    """
    config = node["config"]
    for kind, key in _TIMER_SETTINGS if timers else ():
        delta = parse_duration(config.get(key) or "")
        if delta is None:
            continue
        human.schedule_step_timer(run, step, kind, run.now + delta)
        if kind == Timer.Kind.DUE:
            task.due_at = run.now + delta
    task.take_request_summary(run.instance, run.graph)
    task.save()
    level = f" (level {task.chain_level})" if task.chain_level else ""
    run.event(
        "task.created",
        f"{task.name} assigned to {task_holder(task)}{level}",
        step=step,
        data={"task": task.id, "reason": task.reason},
    )
    notify_on_commit(notify, task, previous=previous)


# --- timeouts --------------------------------------------------------------------------


def _overdue(run: Run, step: Step, task: ApprovalTask, message: str) -> None:
    """Record that ``task`` is late and stays where it is."""
    run.event("task.overdue", message, step=step, data={"task": task.id})


def _escalate_on_timeout(run: Run, step: Step, node: Node, task: ApprovalTask) -> None:
    """Pass the overdue ``task`` on: to the chain's next level, else to the ``escalate_to`` group.

    The timed-out approver's task is cancelled (outcome ``escalated``) and counts
    as no approval; the new task gets the block's full due date and reminder. A
    task already in the ``escalate_to`` group's queue stays there (event
    ``task.overdue``). When no one can be found, the task is closed and the step
    becomes an incident; retrying it resumes the chain above the last approval.
    """
    config = node["config"]
    group = _fallback(config)
    late = f"No decision by {task_holder(task, 'group')} within {_waited(config)}"
    # Nobody named to hand it to (and no chain to climb): it stays, marked overdue, as the panel says.
    stays = f"{task.name}: no decision by {task_holder(task)} within {_waited(config)}; it stays"
    if not config.get("escalate_to") and not is_chain_level(node, task):
        _overdue(run, step, task, f"{stays} with them")
        return
    # Claimed or not, a task in that queue has nowhere further to go.
    if task.candidate_group is not None and task.candidate_group.name == group:
        _overdue(run, step, task, f"{stays} in that queue")
        return
    new = ApprovalTask(instance=run.instance, step=step, name=task.name)
    approvals = approvals_on([step, *_failed_attempts(step)])
    approved_by = [t.decided_by for t in approvals]
    try:
        if is_chain_level(node, task):
            request = chain_request(run, node)
            last_for = approvals[-1].on_behalf_of if approvals else None
            _route_chain(run, new, config, request, task.chain_level, approved_by, last_for)
        else:
            _to_group(run, new, group, "", approved_by)
    except BlockError as exc:
        # Raised here rather than by the ticker, so the overdue task closes with the incident.
        _close(task, run, f"{late}; it could not be escalated: {exc}")
        human.raise_incident(run, step, f"{task.name} is overdue and could not be escalated: {exc}")
        return
    level = f" (level {new.chain_level})" if new.chain_level else ""
    passed = f"{late}; escalated to {task_holder(new, 'group')}{level}"
    new.reason = (f"{passed}. {new.reason}" if new.reason else passed)[:500]
    _close(task, run, passed)
    human.cancel_step_timers(run, step, TASK_TIMERS)
    run.event(
        "task.escalated_on_timeout",
        f"{task.name}: no decision by {task_holder(task)} within {_waited(config)}; escalated to {task_holder(new)}{level}",
        step=step,
        data={"task": task.id, "level": task.chain_level, "next_level": new.chain_level},
    )
    _open(run, step, node, new, notify="escalated", previous=task)


def _close(task: ApprovalTask, run: Run, why: str) -> None:
    """Cancel an overdue task, saying why; its emailed links stop working (new version)."""
    TASK.move(task, ApprovalTask.Status.CANCELLED)
    task.outcome = "escalated"
    task.comment = why
    task.decided_at = run.now
    task.lock_version += 1
    task.save(update_fields=["status", "outcome", "comment", "decided_at", "lock_version"])


def _waited(config: dict[str, Any]) -> str:
    """The block's due time in words: ``P2D`` is "2 days", ``PT1H30M`` "1 hour 30 minutes"."""
    delta = parse_duration(config.get("due_in") or "")
    if delta is None:
        return "the time allowed"
    seconds = round(delta.total_seconds())
    parts = []
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return " ".join(parts[:2]) or "no time"


def _failed_attempts(step: Step) -> list[Step]:
    """The earlier steps of this Approval that an operator retried after an incident, latest first.

    Retrying re-enters the block as a new step, so the work those attempts did
    (approvals on a chain) belongs to ``step`` too.
    """
    attempts = []
    earlier = Step.objects.filter(instance_id=step.instance_id, node_id=step.node_id, id__lt=step.id)
    for previous in earlier.order_by("-id"):
        if not Incident.objects.filter(step=previous, resolution=Incident.Resolution.RETRIED).exists():
            break
        attempts.append(previous)
    return attempts
