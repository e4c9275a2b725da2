"""Actions people take on approval tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Subquery
from django.utils import timezone

from approvals.access import (
    can_decide,
    can_manage_tasks,
    closed_reason,
    holder_now,
    in_task_group,
    is_candidate,
    with_decision_facts,
)
from approvals.models import ApprovalTask, decided_by_words, person, task_holder
from approvals.notifications import notify_on_commit
from approvals.routing import (
    AUTHORITY_CHAIN,
    TASK_TIMERS,
    ApprovalTaskProvider,
    chain_request,
    covers_request,
    escalate_in_chain,
    is_chain_level,
    needs_everyone,
)
from approvals.transitions import TASK
from orchestration.connectors import ai
from orchestration.engine import human
from orchestration.engine.human import BlockError, locked_run

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from orchestration.engine.human import Run
    from orchestration.models import Step

APPROVED, REJECTED, CHANGES_REQUESTED = "approved", "rejected", "changes_requested"
OUTCOMES = (APPROVED, REJECTED, CHANGES_REQUESTED)
# The decision an AI's recommendation stands for, by its words (lower case, "_" and "-" as spaces).
ADVISED_OUTCOMES: Final = {
    **dict.fromkeys(("approve", "approved", "yes", "accept", "pay"), APPROVED),
    **dict.fromkeys(("reject", "rejected", "no", "decline", "deny"), REJECTED),
    **dict.fromkeys(
        ("review", "changes", "request changes", "changes requested", "needs changes", "needs review"),
        CHANGES_REQUESTED,
    ),
}


def advised_outcome(recommendation: str) -> str | None:
    """The decision ``recommendation`` stands for ("Approve." → approved); None when it says none clearly."""
    words = " ".join(recommendation.lower().replace("_", " ").replace("-", " ").strip(" .!").split())
    return ADVISED_OUTCOMES.get(words)


class TaskAlreadyDecided(Exception):
    """Someone else decided (or the process moved on) first."""

    def __init__(self, task: ApprovalTask) -> None:
        super().__init__(closed_reason(task))
        self.task = task


class TaskTaken(Exception):
    """Someone else took the task first (claimed it, or it was handed to them); the message names them."""

    def __init__(self, task: ApprovalTask) -> None:
        super().__init__(holder_now(task))
        self.task = task


class InvalidDecision(ValueError):
    """The decision itself is malformed; ``field`` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class InvalidFields(InvalidDecision):
    """What the approver filled in does not fit the Approval's fields; ``errors`` by field name."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        # Said where fields are not shown (deciding several at once): the fields say which, where they are.
        super().__init__("data", "This approval asks for values to fill in: open the request to give them.")
        self.errors = errors


def complete_task(
    task_id: int,
    user: AbstractBaseUser,
    outcome: str,
    *,
    comment: str = "",
    data: dict[str, Any] | None = None,
) -> ApprovalTask:
    """Decide a task and resume its process step.

    On an authority chain, an approval by someone whose limit does not cover the
    amount opens the next level's task instead (the step keeps waiting, and a
    ``task.escalated`` event says who is next); a rejection at any level ends it.
    The result variable gets ``{outcome, comment, by}`` (plus ``level`` on an
    authority chain) over any extra ``data``.

    Two people deciding at once: the instance row lock serializes them and the
    second gets :class:`TaskAlreadyDecided` naming who won.
    """
    if outcome not in OUTCOMES:
        raise InvalidDecision("outcome", f"Choose one of: {', '.join(OUTCOMES)}.")
    if outcome == REJECTED and not comment.strip():
        raise InvalidDecision("comment", "A rejection needs a comment for the requester.")
    if outcome == CHANGES_REQUESTED and not comment.strip():
        raise InvalidDecision("comment", "Say what the requester should change.")
    # The instance is locked through the task in one statement (a missing task finds no instance).
    with locked_run(
        Subquery(ApprovalTask.objects.filter(id=task_id).values("instance_id")), actor=user
    ) as run:
        task = with_decision_facts(
            ApprovalTask.objects.select_for_update(of=("self",)).select_related("decided_by", "on_behalf_of"),
            user,
        ).get(id=task_id)
        task.instance = run.instance  # the locked row: the rules below read its initiator
        refusal = can_decide(user, task, outcome)
        if refusal is not None and refusal.rule == "closed":
            raise TaskAlreadyDecided(task)
        if refusal is not None and refusal.rule == "taken":
            raise TaskTaken(task)
        if refusal is not None and refusal.rule == "sent_back":
            raise InvalidDecision("outcome", refusal.reason)
        if refusal is not None:
            raise PermissionDenied(refusal.reason)
        step = human.lock_waiting_step(run, task.step_id)
        node = run.graph["nodes"][step.node_id]
        paths = human.outcome_paths(node)
        if paths and outcome not in paths and outcome != CHANGES_REQUESTED:
            raise InvalidDecision(
                "outcome", f"This approval cannot be {outcome}: the workflow has no path for it."
            )
        if outcome == CHANGES_REQUESTED and outcome not in paths and run.instance.initiator_id is None:
            raise InvalidDecision("outcome", "This process has no requester to send it back to.")
        try:
            filled = human.clean_task_fields(node, data or {}, approving=outcome == APPROVED)
        except human.StartDataError as exc:
            raise InvalidFields(exc.errors) from None
        now = timezone.now()
        TASK.move(task, ApprovalTask.Status.COMPLETED)
        task.outcome = outcome
        task.comment = comment
        task.data = filled
        _note_advice(task, run, outcome)
        task.decided_by = user  # type: ignore[assignment]
        task.decided_at = now
        task.lock_version += 1
        task.save()
        others = ApprovalTask.objects.filter(step=step, status=ApprovalTask.Status.OPEN).exclude(id=task.id)
        if needs_everyone(node):
            if outcome == APPROVED and others.exists():
                run.event(
                    "task.approved",
                    f"{task.name}: approved by {decided_by_words(task)}; waiting for {others.count()} more",
                    step=step,
                    data={"task": task.id},
                )
                return task
            # One rejection (or request for changes) decides for the whole group.
            TASK.bulk_move(others, ApprovalTask.Status.CANCELLED)
        if outcome == CHANGES_REQUESTED and outcome not in paths:
            _send_back(run, step, task, user, comment)
            return task
        if outcome == APPROVED and is_chain_level(node, task):
            try:
                # A savepoint, so a failed escalation leaves no half-made task behind its incident.
                with transaction.atomic():
                    request = chain_request(run, node)
                    on_date = timezone.localdate(run.now)
                    # A delegate approves with the authority of the person they decide for.
                    if not covers_request(task.on_behalf_of or user, request, on_date):
                        escalate_in_chain(run, step, node, task, request)
                        return task
            except BlockError as exc:
                # The decision stands; the operator fixes the org chart or data and retries the step.
                human.raise_incident(run, step, str(exc))
                return task
        variable = node["config"].get("result_variable") or "approval"
        # Extra data never overrides what was decided and by whom.
        decision = {**filled, "outcome": outcome, "comment": comment, "by": user.get_username()}
        if task.on_behalf_of is not None:
            decision["on_behalf_of"] = task.on_behalf_of.get_username()
        if node["config"].get("assignee_rule") == AUTHORITY_CHAIN:
            decision["level"] = task.chain_level
        # Declared fields are variables of their own, typed; undeclared data stays in the decision only.
        declared = filled if node["config"].get("fields") else {}
        human.resume(
            run,
            step,
            {**declared, variable: decision},
            message=f"{task.name}: {outcome} by {decided_by_words(task)}"
            + (f" — {comment}" if comment else ""),
            outcome=outcome,
        )
    return task


def _note_advice(task: ApprovalTask, run: Run, outcome: str) -> None:
    """Keep on ``task`` the AI advice its approver was shown (the task page's) and whether ``outcome`` agreed.

    Saved with the decision's own UPDATE; a workflow without Ask AI steps costs no query.
    """
    advice = ai.advice_for(run.instance, run.graph, task.created_at)
    if advice is None:
        return
    advised = advised_outcome(advice.recommendation)
    task.advice = {
        "recommendation": advice.recommendation,
        "reason": advice.reason,
        "step": advice.step_name,
        "outcome": advised or "",
    }
    task.advice_agreed = None if advised is None else advised == outcome


def _send_back(run: Run, step: Step, decided: ApprovalTask, user: AbstractBaseUser, comment: str) -> None:
    """Open a resubmit task for the requester; the step keeps waiting and its timers stop meanwhile."""
    human.cancel_step_timers(run, step, TASK_TIMERS)
    back = ApprovalTask(
        instance=run.instance,
        step=step,
        name=f"Update your request: {decided.name}",
        kind=ApprovalTask.Kind.RESUBMIT,
        assignee=run.instance.initiator,
        reason=f"{person(user)} asked for changes: {comment}"[:500],
    )
    back.take_request_summary(run.instance, run.graph)
    back.save()
    notify_on_commit("sent_back", back)
    run.event(
        "task.changes_requested",
        f"{decided.name}: changes requested by {person(user)} — {comment}",
        step=step,
        data={"task": decided.id, "resubmit_task": back.id},
    )


def resubmit_request(task_id: int, user: AbstractBaseUser, data: dict[str, Any]) -> ApprovalTask:
    """The requester answers a request for changes: new start data, then the approval routes again.

    ``data`` is checked against the start form like a new request (:class:`StartDataError`
    by field). The Approval block's rule runs afresh, so an authority chain starts again
    at the first level: the amount may have changed.
    """
    instance_id = ApprovalTask.objects.values_list("instance_id", flat=True).get(id=task_id)
    with locked_run(instance_id, actor=user) as run:
        task = (
            ApprovalTask.objects.select_for_update(of=("self",)).select_related("decided_by").get(id=task_id)
        )
        if task.kind != ApprovalTask.Kind.RESUBMIT or task.assignee_id != user.pk:
            raise PermissionDenied("Only the requester can resubmit this request.")
        if task.status != ApprovalTask.Status.OPEN:
            raise TaskAlreadyDecided(task)
        step = human.lock_waiting_step(run, task.step_id)
        form_node = run.graph["nodes"][human.start_node_for(run.graph, "manual")]
        fields = {f["name"] for f in form_node["config"].get("fields", [])}
        current = {k: v for k, v in run.variables.items() if k in fields}
        values = human.check_start_data(form_node, {**current, **data})
        run.set_variables(values, step)
        TASK.move(task, ApprovalTask.Status.COMPLETED)
        task.outcome = "resubmitted"
        task.decided_by = user  # type: ignore[assignment]
        task.decided_at = timezone.now()
        task.lock_version += 1
        task.save()
        run.event("request.resubmitted", f"Request updated and resubmitted by {person(user)}", step=step)
        ApprovalTaskProvider().create_tasks(run, step, run.graph["nodes"][step.node_id])
    return task


def _lock_open_task(task_id: int) -> ApprovalTask:
    """The task's row, locked (the caller holds the instance lock); TaskAlreadyDecided when closed."""
    task = ApprovalTask.objects.select_for_update(of=("self",)).select_related("decided_by").get(id=task_id)
    if task.status != ApprovalTask.Status.OPEN:
        raise TaskAlreadyDecided(task)
    return task


def claim_task(task_id: int, user: AbstractBaseUser) -> ApprovalTask:
    """Take a group-queue task: it becomes the user's own until decided or released.

    Claiming one's own claim again changes nothing; a task another member took first
    raises :class:`TaskTaken` naming them.
    """
    instance_id = ApprovalTask.objects.values_list("instance_id", flat=True).get(id=task_id)
    with locked_run(instance_id, actor=user) as run:
        task = _lock_open_task(task_id)
        if task.assignee_id == user.pk and task.candidate_group_id is not None:
            return task
        if task.assignee_id is not None and in_task_group(user, task):
            raise TaskTaken(task)
        if task.assignee_id is not None or not is_candidate(user, task):
            raise PermissionDenied("Only an unclaimed task of one of your groups can be claimed.")
        if run.instance.initiator_id == user.pk:
            raise PermissionDenied("You cannot approve your own request.")
        task.assignee = user  # type: ignore[assignment]
        task.lock_version += 1
        task.save(update_fields=["assignee", "lock_version"])
        run.event("task.claimed", f"{task.name} claimed by {person(user)}", data={"task": task.id})
    return task


def release_task(task_id: int, user: AbstractBaseUser) -> ApprovalTask:
    """Put a claimed task back into its group's queue: by its holder, or by staff who manage tasks.

    A task already back in the queue stays there (nothing changes); one another member
    holds raises :class:`TaskTaken` naming them.
    """
    instance_id = ApprovalTask.objects.values_list("instance_id", flat=True).get(id=task_id)
    with locked_run(instance_id, actor=user) as run:
        task = _lock_open_task(task_id)
        if task.assignee_id is None and task.candidate_group_id is not None and in_task_group(user, task):
            return task
        if (
            task.assignee_id not in (None, user.pk)
            and in_task_group(user, task)
            and not can_manage_tasks(user)
        ):
            raise TaskTaken(task)
        # Staff put back a claim its holder left behind (away, left the company).
        if task.candidate_group_id is None or (task.assignee_id != user.pk and not can_manage_tasks(user)):
            raise PermissionDenied("Only a group task you claimed can be released.")
        task.assignee = None
        task.lock_version += 1
        task.save(update_fields=["assignee", "lock_version"])
        run.event("task.released", f"{task.name} back in {task_holder(task)}", data={"task": task.id})
    return task


def reassign_task(
    task_id: int, actor: AbstractBaseUser, to_user: AbstractBaseUser, reason: str
) -> ApprovalTask:
    """Give an open decision task to ``to_user`` (staff who manage tasks only), saying why.

    The new assignee is emailed as for a new task; the task keeps its group (they may
    put it back in the queue) and its due date. Refused for a closed task
    (:class:`TaskAlreadyDecided`), a request sent back to its requester, an inactive
    person and the requester themselves (:class:`PermissionDenied`).
    """
    if not reason.strip():
        raise InvalidDecision("reason", "Say why the task changes hands.")
    instance_id = ApprovalTask.objects.values_list("instance_id", flat=True).get(id=task_id)
    with locked_run(instance_id, actor=actor) as run:
        task = _lock_open_task(task_id)
        if not can_manage_tasks(actor):
            raise PermissionDenied("Only staff who manage approval tasks can reassign them.")
        _hand_to(run, task, actor, to_user, reason, "reassigned")
    return task


def forward_task(
    task_id: int, holder: AbstractBaseUser, to_user: AbstractBaseUser, reason: str
) -> ApprovalTask:
    """The person holding an open decision task hands it to ``to_user``, saying why.

    ``to_user`` decides on behalf of the person the task is for (the holder, or
    whoever they decide for), so an authority-chain level keeps that person's limit.
    A task in a group queue someone claimed stays that group's. Refused as
    :func:`reassign_task` refuses, and for anyone but the holder or for oneself.
    """
    if not reason.strip():
        raise InvalidDecision("reason", "Say why you forward the task.")
    instance_id = ApprovalTask.objects.values_list("instance_id", flat=True).get(id=task_id)
    with locked_run(instance_id, actor=holder) as run:
        task = _lock_open_task(task_id)
        if task.assignee_id != holder.pk:
            raise PermissionDenied("Only the person holding a task can forward it.")
        if to_user.pk == holder.pk:
            raise InvalidDecision("to", "Choose someone else: the task is already yours.")
        before = task_holder(task)
        if task.candidate_group_id is None:
            task.on_behalf_of = task.on_behalf_of or holder  # type: ignore[assignment]
            task.delegated = False  # forwarded by choice: it stays when an absence ends
        _hand_to(run, task, holder, to_user, reason, "forwarded", before)
    return task


def _hand_to(
    run: Run,
    task: ApprovalTask,
    actor: AbstractBaseUser,
    to_user: AbstractBaseUser,
    reason: str,
    verb: str,
    before: str = "",
) -> None:
    """Give the locked, open ``task`` to ``to_user`` with ``reason``, record it and email them.

    ``before`` names who held it (default: its holder now).
    """
    if task.kind == ApprovalTask.Kind.RESUBMIT:
        raise PermissionDenied("A request sent back to its requester stays with them.")
    if not to_user.is_active:
        raise PermissionDenied(f"{person(to_user)} is not an active user.")
    if run.instance.initiator_id == to_user.pk:
        raise PermissionDenied(f"{person(to_user)} made this request and cannot approve it.")
    if task.on_behalf_of_id == to_user.pk:
        task.on_behalf_of = None  # handed back to the person it is for
    before = before or task_holder(task)
    task.assignee = to_user  # type: ignore[assignment]
    task.reason = f"{verb.capitalize()} by {person(actor)}: {reason}"[:500]
    task.lock_version += 1
    task.save(update_fields=["assignee", "on_behalf_of", "delegated", "reason", "lock_version"])
    run.event(
        f"task.{verb}",
        f"{task.name} {verb} from {before} to {task_holder(task)} by {person(actor)}: {reason}"[:500],
        data={"task": task.id, "from": before, "to": to_user.get_username(), "reason": reason},
    )
    notify_on_commit("assigned", task)
