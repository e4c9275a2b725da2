"""Out of office: people name a delegate for dates, and their approval tasks follow the absence.

While someone is away, new tasks for them open for their delegate (routing asks
:func:`approvals.chain.resolve_approver`) and :func:`hand_over_open_tasks` moves the
tasks they already had; when the absence ends, it gives the delegated tasks back.
A delegate decides *on behalf of* the person away, with that person's authority.

When open tasks move: at once when a person saves an absence that has started (or
ends it), and otherwise the next time anyone's inbox or home page is listed (a
cheap query that finds nothing to do on most days), or by the
``baton_out_of_office`` command for a nightly cron. Every move writes a history
event on the request; every change to an absence writes one on the person.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from approvals.access import approvals_on
from approvals.chain import resolve_approver
from approvals.models import ApprovalTask, Profile, person, task_holder
from approvals.notifications import notify_on_commit, notify_returned_on_commit
from orchestration.engine.human import locked_run
from orchestration.models import Event
from orchestration.templatetags.moments import when

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.db.models import QuerySet

__all__ = [
    "ABSENCE_FIELDS",
    "OUT_OF_OFFICE_EVENT",
    "Absence",
    "OutOfOfficeError",
    "absence_edited",
    "absence_history",
    "active_users",
    "check_absence",
    "end_out_of_office",
    "hand_over_open_tasks",
    "set_out_of_office",
]

# The history event each change to a person's absence writes (no request: ``data["user"]`` says whose).
OUT_OF_OFFICE_EVENT = "person.out_of_office"


class OutOfOfficeError(ValueError):
    """An absence that cannot be saved; ``errors`` maps each field to what to fix, in plain words."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class Absence:
    """Dates (inclusive) and the person who decides meanwhile."""

    starts: datetime.date
    ends: datetime.date
    delegate: Any

    def describe(self) -> str:
        """``from 8 Dec 2026 to 12 Dec 2026, delegate Dana Delegate``."""
        return f"from {when(self.starts)} to {when(self.ends)}, delegate {person(self.delegate)}"


def check_absence(user: AbstractBaseUser, absence: Absence, today: datetime.date | None = None) -> None:
    """Raise :class:`OutOfOfficeError` unless ``user`` may be away as ``absence`` says.

    Refused: dates out of order or ended already, an inactive delegate, oneself as
    delegate, and a delegate whose own delegation (while it runs) leads back to ``user``.
    """
    today = today or timezone.localdate()
    errors: dict[str, str] = {}
    if absence.ends < absence.starts:
        errors["ends"] = "The last day is before the first day: check the dates."
    elif absence.ends < today:
        errors["ends"] = "These dates are over already: choose days from today on."
    delegate = absence.delegate
    if delegate.pk == user.pk:
        errors["delegate"] = "You cannot be your own delegate: choose someone who decides while you are away."
    elif not delegate.is_active:
        errors["delegate"] = f"{person(delegate)} can no longer sign in: choose someone else."
    else:
        loop = _delegation_back_to(user, delegate, absence)
        if loop:
            errors["delegate"] = (
                f"{' → '.join(loop)}: your tasks would come back to you while you are away. "
                "Choose someone who is not handing their tasks to you."
            )
    if errors:
        raise OutOfOfficeError(errors)


def _delegation_back_to(user: Any, delegate: Any, absence: Absence) -> list[str]:
    """The names around the loop when ``delegate``'s delegation (overlapping ``absence``) reaches ``user``."""
    names = [person(user), person(delegate)]
    seen = {user.pk}
    current = delegate
    while current.pk not in seen:
        seen.add(current.pk)
        profile = Profile.objects.select_related("delegate").filter(user=current).first()
        if profile is None or profile.delegate is None:
            return []
        if profile.out_of_office_from is None and profile.out_of_office_to is None:
            return []
        starts = profile.out_of_office_from or absence.starts
        ends = profile.out_of_office_to or absence.ends
        if ends < absence.starts or starts > absence.ends:
            return []  # away at another time: no loop while this absence runs
        current = profile.delegate
        names.append(person(current))
    return names if current.pk == user.pk else []


def set_out_of_office(
    user: AbstractBaseUser, absence: Absence, *, today: datetime.date | None = None
) -> Profile:
    """Save ``user``'s absence (checked by :func:`check_absence`), record it, and move their tasks if it has begun.

    Open tasks move to the delegate now when the absence includes today; a later
    absence moves them when it starts (see the module's docstring).
    """
    today = today or timezone.localdate()
    check_absence(user, absence, today)
    with transaction.atomic():
        profile, _ = Profile.objects.select_for_update().get_or_create(user_id=user.pk)
        profile.out_of_office_from = absence.starts
        profile.out_of_office_to = absence.ends
        profile.delegate = absence.delegate
        profile.save(update_fields=["out_of_office_from", "out_of_office_to", "delegate"])
        _record(user, f"{person(user)} is out of office {absence.describe()}", absence)
    hand_over_open_tasks(today, people=[user.pk, absence.delegate.pk])
    return profile


def end_out_of_office(user: AbstractBaseUser, *, today: datetime.date | None = None) -> Profile:
    """Clear ``user``'s absence, record it, and give them back the tasks their delegate still has open."""
    today = today or timezone.localdate()
    with transaction.atomic():
        profile, _ = Profile.objects.select_for_update().get_or_create(user_id=user.pk)
        had = profile.out_of_office_from is not None or profile.out_of_office_to is not None
        began = profile.is_out_of_office(today)
        profile.out_of_office_from = profile.out_of_office_to = None
        profile.save(update_fields=["out_of_office_from", "out_of_office_to"])
        if had:
            message = (
                f"{person(user)} is back: out of office ended"
                if began
                else f"{person(user)} cancelled a planned out of office"
            )
            _record(user, message, None)
    hand_over_open_tasks(today, people=[user.pk])
    return profile


ABSENCE_FIELDS = ("out_of_office_from", "out_of_office_to", "delegate")


def absence_edited(profile: Profile, actor: Any) -> None:
    """Record an absence an administrator set or cleared on ``profile`` (saved already), and move tasks now."""
    user = profile.user
    if profile.out_of_office_from is None and profile.out_of_office_to is None:
        message = f"Out of office of {person(user)} cleared by {person(actor)}"
    else:
        starts = when(profile.out_of_office_from) if profile.out_of_office_from else "now"
        ends = when(profile.out_of_office_to) if profile.out_of_office_to else "further notice"
        delegate = person(profile.delegate) if profile.delegate else "nobody"
        message = f"Out of office of {person(user)} set from {starts} to {ends}, delegate {delegate}, by {person(actor)}"
    Event.objects.create(kind=OUT_OF_OFFICE_EVENT, actor=actor, message=message[:500], data={"user": user.pk})
    hand_over_open_tasks(people=[user.pk])


def _record(user: Any, message: str, absence: Absence | None) -> None:
    data: dict[str, Any] = {"user": user.pk}
    if absence is not None:
        data |= {
            "from": absence.starts.isoformat(),
            "to": absence.ends.isoformat(),
            "delegate": absence.delegate.get_username(),
        }
    Event.objects.create(kind=OUT_OF_OFFICE_EVENT, actor=user, message=message[:500], data=data)


def absence_history(user: AbstractBaseUser) -> QuerySet[Event]:
    """The changes to ``user``'s absences, newest first (the page and the admin list them)."""
    return Event.objects.filter(kind=OUT_OF_OFFICE_EVENT, data__user=user.pk).order_by("-created_at", "-id")


def _away_on(on_date: datetime.date, prefix: str) -> Q:
    """People (through ``prefix``) out of office on ``on_date`` with a delegate named (open ends allowed)."""
    starts, ends = f"{prefix}out_of_office_from", f"{prefix}out_of_office_to"
    return (
        (Q(**{f"{starts}__lte": on_date}) | Q(**{f"{starts}__isnull": True}))
        & (Q(**{f"{ends}__gte": on_date}) | Q(**{f"{ends}__isnull": True}))
        & ~Q(**{f"{starts}__isnull": True, f"{ends}__isnull": True})
        & Q(**{f"{prefix}delegate__isnull": False})
    )


def hand_over_open_tasks(on_date: datetime.date | None = None, *, people: list[Any] | None = None) -> int:
    """Move open tasks of people away on ``on_date`` to their delegates, and give back those of people back.

    A task a delegate holds follows a change of delegate too. A group-queue task its
    holder claimed goes back to the group's queue when the holder is away: it is the
    group's work, the other members are there to take it, and the holder's delegate
    may not be one of them (it does not come back to the holder on their return).
    Each person whose tasks came back gets one email listing them.

    A moved task keeps its level and authority: the delegate decides on behalf of
    the person away (``on_behalf_of``), never on their own request (the task stays
    then, as when the delegate already approved it). ``people`` narrows the sweep to tasks held by or for these user ids.
    Returns how many tasks changed hands. Each move locks its request and writes
    ``task.delegated`` or ``task.returned`` in its history.
    """
    on_date = on_date or timezone.localdate()
    open_personal = ApprovalTask.objects.filter(
        status=ApprovalTask.Status.OPEN, kind=ApprovalTask.Kind.DECISION, candidate_group__isnull=True
    )
    to_move = open_personal.filter(on_behalf_of__isnull=True).filter(_away_on(on_date, "assignee__profile__"))
    # Back in the office, or away with another delegate named since: the task follows.
    to_return = open_personal.filter(delegated=True).filter(
        ~_away_on(on_date, "on_behalf_of__profile__")
        | ~Q(assignee_id=F("on_behalf_of__profile__delegate_id"))
    )
    claimed = ApprovalTask.objects.filter(
        status=ApprovalTask.Status.OPEN,
        kind=ApprovalTask.Kind.DECISION,
        candidate_group__isnull=False,
        assignee__isnull=False,
    ).filter(_away_on(on_date, "assignee__profile__"))
    if people is not None:
        to_move = to_move.filter(assignee_id__in=people)
        to_return = to_return.filter(Q(on_behalf_of_id__in=people) | Q(assignee_id__in=people))
        claimed = claimed.filter(assignee_id__in=people)
    moved = 0
    returned: dict[Any, list[int]] = {}
    for task_id, instance_id in [
        *to_move.values_list("id", "instance_id"),
        *to_return.values_list("id", "instance_id"),
    ]:
        outcome = _hand_over(task_id, instance_id, on_date)
        if outcome is not None:
            moved += 1
            if outcome[0] == "task.returned":
                returned.setdefault(outcome[1], []).append(task_id)
    for task_id, instance_id in claimed.values_list("id", "instance_id"):
        moved += _back_to_queue(task_id, instance_id, on_date)
    for owner_id, task_ids in returned.items():
        with transaction.atomic():
            notify_returned_on_commit(owner_id, task_ids)
    return moved


def _hand_over(task_id: int, instance_id: Any, on_date: datetime.date) -> tuple[str, Any] | None:
    """Give one open task to whoever should hold it on ``on_date``: the event kind and new holder's id, if it moved."""
    with locked_run(instance_id) as run:
        task = (
            ApprovalTask.objects.select_for_update(of=("self",))
            .select_related("assignee", "on_behalf_of")
            .filter(id=task_id, status=ApprovalTask.Status.OPEN)
            .first()
        )
        if task is None or task.assignee is None:
            return None  # decided meanwhile
        owner = task.on_behalf_of if task.delegated and task.on_behalf_of else task.assignee
        approver, why = resolve_approver(owner, on_date)
        if approver.pk == task.assignee_id or approver.pk == run.instance.initiator_id:
            return None
        if any(t.decided_by_id == approver.pk for t in approvals_on([task.step])):
            return None  # four eyes: they approved this request already, so it stays
        before = task.assignee
        task.assignee = approver
        task.on_behalf_of = owner if approver.pk != owner.pk else None
        task.delegated = task.on_behalf_of is not None
        task.lock_version += 1
        if task.delegated:
            task.reason = f"{task.reason}; {why}"[-500:] if task.reason else why[:500]
            kind, message = "task.delegated", f"{task.name} handed to {person(approver)}: {why}"
        else:
            kind = "task.returned"
            message = (
                f"{task.name} back with {person(approver)}: their out of office ended, "
                f"so {person(before)} no longer decides for them"
            )
        task.save(update_fields=["assignee", "on_behalf_of", "delegated", "reason", "lock_version"])
        run.event(
            kind,
            message[:500],
            data={"task": task.id, "from": before.get_username(), "to": approver.get_username()},
        )
        if task.delegated:  # one email for all that come back: see hand_over_open_tasks
            notify_on_commit("assigned", task)
    return kind, approver.pk


def _back_to_queue(task_id: int, instance_id: Any, on_date: datetime.date) -> int:
    """Put a claimed group task whose holder is away on ``on_date`` back in its queue; 1 when it moved."""
    with locked_run(instance_id) as run:
        task = (
            ApprovalTask.objects.select_for_update(of=("self",))
            .select_related("assignee", "candidate_group")
            .filter(id=task_id, status=ApprovalTask.Status.OPEN, candidate_group__isnull=False)
            .first()
        )
        if task is None or task.assignee is None:
            return 0  # decided or released meanwhile
        profile = Profile.objects.filter(user=task.assignee).first()
        if profile is None or profile.delegate_id is None or not profile.is_out_of_office(on_date):
            return 0  # back in the office since the sweep listed it
        holder = task.assignee
        task.assignee = None
        task.lock_version += 1
        task.save(update_fields=["assignee", "lock_version"])
        message = (
            f"{task.name} back in {task_holder(task)}: {person(holder)}, who had taken it, is out of office"
        )
        run.event("task.released", message[:500], data={"task": task.id, "from": holder.get_username()})
        notify_on_commit("assigned", task)  # the group's members learn it is free to take
    return 1


def active_users(exclude: Any = None) -> QuerySet[Any]:
    """People a delegate is chosen among: active users, by name."""
    users = get_user_model().objects.filter(is_active=True).order_by("first_name", "last_name", "username")
    return users.exclude(pk=exclude.pk) if exclude is not None else users
