"""Who may see and decide approval tasks: the approvals app's access rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from django.db.models import Exists, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from approvals.models import ApprovalTask, decided_by_words, task_holder
from orchestration.models import Event, Step

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


# How a closed task's outcome reads in "Already … by …".
_DONE = {
    "approved": "approved",
    "rejected": "rejected",
    "changes_requested": "sent back for changes",
    "resubmitted": "resubmitted",
}


def tasks_for(user: AbstractBaseUser) -> QuerySet[ApprovalTask]:
    """Tasks ``user`` may decide: assigned to them or queued for one of their groups.

    Superusers too: administering Baton is not signature authority.
    """
    return ApprovalTask.objects.filter(
        Q(assignee=user) | Q(assignee__isnull=True, candidate_group__in=user.groups.all())  # type: ignore[attr-defined]
    )


def visible_tasks(user: AbstractBaseUser) -> QuerySet[ApprovalTask]:
    """Tasks ``user`` may open: those they may decide, those they decided and those decided for them."""
    if user.is_superuser:  # type: ignore[attr-defined]
        return ApprovalTask.objects.all()
    return ApprovalTask.objects.filter(
        Q(assignee=user)
        | Q(assignee__isnull=True, candidate_group__in=user.groups.all())  # type: ignore[attr-defined]
        | Q(decided_by=user)
        | Q(on_behalf_of=user)  # their tasks a delegate (or whoever they forwarded to) decides
    )


def reachable_tasks(user: AbstractBaseUser) -> QuerySet[ApprovalTask]:
    """Tasks ``user`` may open, plus their groups' tasks someone else took: a race they lost is told, not hidden."""
    return visible_tasks(user) | ApprovalTask.objects.filter(
        candidate_group__in=user.groups.all()  # type: ignore[attr-defined]
    )


def in_task_group(user: AbstractBaseUser, task: ApprovalTask) -> bool:
    """Whether ``user`` belongs to the group ``task`` was queued for (whoever holds it now)."""
    return task.candidate_group_id is not None and (
        user.groups.filter(pk=task.candidate_group_id).exists()  # type: ignore[attr-defined]
    )


def holder_now(task: ApprovalTask) -> str:
    """Who has ``task`` now, in a sentence for someone whose claim or decision came too late."""
    if task.status != ApprovalTask.Status.OPEN:
        return closed_reason(task)
    if task.assignee_id is not None:
        return f"{task_holder(task)} has taken this task; it is theirs to decide now."
    return f"This task is waiting in {task_holder(task)}."


def is_candidate(user: AbstractBaseUser, task: ApprovalTask) -> bool:
    """Whether the task is assigned to ``user`` or queued, unclaimed, for one of their groups."""
    known = getattr(task, "user_is_candidate", None)
    if known is not None:
        return bool(known)
    if task.assignee_id is not None:
        return bool(task.assignee_id == user.pk)
    return tasks_for(user).filter(pk=task.pk).exists()


def with_decision_facts(tasks: QuerySet[ApprovalTask], user: AbstractBaseUser) -> QuerySet[ApprovalTask]:
    """``tasks`` with what :func:`can_decide` asks the database about ``user`` read in the same statement.

    Whether they are a candidate, and the chain level of an approval they already gave on
    the task's step (four eyes): deciding a task then costs one statement instead of three.
    """
    groups = user.groups.filter(pk=OuterRef("candidate_group_id"))  # type: ignore[attr-defined]
    return tasks.annotate(
        user_is_candidate=Q(assignee_id=user.pk) | Q(assignee__isnull=True) & Exists(groups),
        # NULL: no earlier approval; 0: one outside an authority chain.
        earlier_approval_level=Subquery(
            _approvals_by(user, OuterRef("step_id"), OuterRef("pk"))
            .annotate(level=Coalesce("chain_level", 0))
            .values("level")[:1]
        ),
    )


def _approvals_by(user: AbstractBaseUser, step: Any, other_than: Any) -> QuerySet[ApprovalTask]:
    """The approvals ``user`` gave on ``step`` (other than task ``other_than``) since the request last changed."""
    resubmitted_after = ApprovalTask.objects.filter(
        step_id=OuterRef("step_id"),
        kind=ApprovalTask.Kind.RESUBMIT,
        status=ApprovalTask.Status.COMPLETED,
        decided_at__gte=OuterRef("decided_at"),
    )
    return (
        ApprovalTask.objects.filter(
            step_id=step, status=ApprovalTask.Status.COMPLETED, outcome="approved", decided_by_id=user.pk
        )
        .exclude(pk=other_than)
        .exclude(Exists(resubmitted_after))
        .order_by("chain_level", "decided_at", "pk")
    )


def approvals_on(steps: list[Step]) -> list[ApprovalTask]:
    """The approvals given on ``steps``, lowest chain level first."""
    approvals = ApprovalTask.objects.filter(
        step__in=steps, status=ApprovalTask.Status.COMPLETED, outcome="approved", decided_by__isnull=False
    )
    # Approvals given before the requester changed the request do not count for the new one.
    resubmitted = ApprovalTask.objects.filter(
        step__in=steps, kind=ApprovalTask.Kind.RESUBMIT, status=ApprovalTask.Status.COMPLETED
    ).aggregate(last=Max("decided_at"))["last"]
    if resubmitted is not None:
        approvals = approvals.filter(decided_at__gt=resubmitted)
    return list(
        approvals.select_related("decided_by", "on_behalf_of").order_by("chain_level", "decided_at", "pk")
    )


def closed_reason(task: ApprovalTask) -> str:
    """Why a task that is no longer open cannot be decided: who decided it, or that it was withdrawn."""
    if task.status == ApprovalTask.Status.CANCELLED or task.decided_by is None:
        stopped = _path_that_stopped(task)
        if stopped:
            return f"This task is closed, so it can no longer be decided: {stopped}."
        return "This task is closed: the request was withdrawn or moved on."
    done = _DONE.get(task.outcome, task.get_status_display().lower())
    return f"Already {done} by {decided_by_words(task)}."


def _path_that_stopped(task: ApprovalTask) -> str:
    """What stopped ``task``'s step or a Group or For each around it, from the history: a deadline,
    a failure or a message that took its path ("Deadline reached: Legal review stopped, …"); "" if none."""
    around: list[int] = []
    step_id: int | None = task.step_id
    while step_id is not None and len(around) < 20:  # scopes nest a few levels at most
        around.append(step_id)
        step_id = Step.objects.filter(id=step_id).values_list("scope_id", flat=True).first()
    event = (
        Event.objects.filter(kind="boundary.interrupted", step_id__in=around, created_at__gte=task.created_at)
        .order_by("id")
        .first()
    )
    return event.message if event is not None else ""


@dataclass(frozen=True)
class Refusal:
    """Why a person may not decide a task, in words shown to them, and which rule said so."""

    rule: Literal["not_candidate", "taken", "closed", "sent_back", "own_request", "four_eyes"]
    reason: str

    def __str__(self) -> str:
        return self.reason


def can_decide(user: AbstractBaseUser, task: ApprovalTask, outcome: str | None = None) -> Refusal | None:
    """None when ``user`` may decide ``task`` now; otherwise the :class:`Refusal` saying why not.

    The rules, in order: they are a candidate (assignee, or in the unclaimed task's group;
    a member of the group whose task someone else took is told who has it, rule "taken");
    the task is open; it is a decision (a request sent back is edited, not decided); the
    request is not their own; and, four eyes, they did not approve this request already
    (at an earlier level, or before it reached their group). That last rule is about
    approving: asked about a rejection (``outcome``) it does not apply; asked about no
    outcome in particular (a page offering every decision), it does.
    Pages, the API and :func:`approvals.actions.complete_task` all ask here.
    """
    if not is_candidate(user, task):
        if in_task_group(user, task) or task.decided_by_id == user.pk:
            # Someone of their group claimed or decided it first: say who, not "not yours".
            return Refusal("closed" if task.status != ApprovalTask.Status.OPEN else "taken", holder_now(task))
        return Refusal("not_candidate", "You are not an approver of this task.")
    if task.status != ApprovalTask.Status.OPEN:
        return Refusal("closed", closed_reason(task))
    if task.kind == ApprovalTask.Kind.RESUBMIT:
        return Refusal("sent_back", "This request was sent back to you: edit it and resubmit it.")
    if task.instance.initiator_id == user.pk:
        return Refusal("own_request", "You cannot approve your own request.")
    if outcome in (None, "approved"):
        if hasattr(task, "earlier_approval_level"):
            chain_level = task.earlier_approval_level
            approved = chain_level is not None
        else:
            earlier = _approvals_by(user, task.step_id, task.pk).only("chain_level").first()
            approved, chain_level = earlier is not None, earlier.chain_level if earlier else None
        if approved:
            # One person's approval counts once, even when the request reaches their group.
            level = f" at level {chain_level}" if chain_level else ""
            return Refusal(
                "four_eyes", f"You already approved this request{level}; someone else must decide now."
            )
    return None


def can_manage_tasks(user: AbstractBaseUser) -> bool:
    """Whether ``user`` may hand other people's tasks on (reassign, put back in the queue): admin staff."""
    return bool(user.is_staff and user.has_perm("approvals.change_approvaltask"))  # type: ignore[attr-defined]
