"""What changed about a person, in plain words: org chart, limits and absences, newest first.

Reads the history django-simple-history keeps of :class:`~approvals.models.Profile` and
:class:`~approvals.models.AuthorityLimit`, and the out-of-office events
(:func:`approvals.delegation.absence_history`), which say more than the raw fields.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model

from approvals.delegation import ABSENCE_FIELDS, absence_history
from approvals.models import AuthorityLimit, Profile, money, person
from orchestration.models import Event
from orchestration.templatetags.moments import when

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["ACCOUNT_EVENT", "Change", "account_snapshot", "person_changes", "record_account_change"]

# The history event an HR import or an identity provider writes when it changes a person's account.
ACCOUNT_EVENT = "person.account"
_ACCOUNT_FIELDS = {
    "username": "username",
    "email": "email",
    "first_name": "first name",
    "last_name": "last name",
}

_LABELS = {
    "manager": "manager",
    "delegate": "delegate",
    "department": "department",
    "cost_centre": "cost centre",
    "title": "title",
    "out_of_office_from": "out of office from",
    "out_of_office_to": "out of office until",
    "amount": "amount",
    "currency": "currency",
    "category": "category",
    "valid_from": "valid from",
    "valid_to": "valid until",
}
_PEOPLE_FIELDS = ("manager", "delegate")
# An absence event and the profile row it saved are written together; closer than this, they are one change.
_SAME_CHANGE = datetime.timedelta(seconds=5)


@dataclass(frozen=True)
class Change:
    """One change: when, by whom (or what), what in plain words, and the reason given."""

    at: datetime.datetime
    who: str
    what: str
    why: str = ""


def account_snapshot(user: Any) -> dict[str, Any]:
    """The account fields :func:`record_account_change` compares, as they are now."""
    return {name: getattr(user, name) for name in (*_ACCOUNT_FIELDS, "is_active")}


def record_account_change(user: Any, before: dict[str, Any] | None, actor: Any, reason: str) -> None:
    """Write what changed on ``user``'s account since ``before`` (``None``: just created) as a history event."""
    if before is None:
        parts = ["account created" + ("" if user.is_active else ", inactive")]
    else:
        parts = [
            f"{label} {before[name] or '(blank)'} → {getattr(user, name) or '(blank)'}"
            for name, label in _ACCOUNT_FIELDS.items()
            if before[name] != getattr(user, name)
        ]
        if before["is_active"] != user.is_active:
            parts.append("reactivated" if user.is_active else "deactivated")
    if parts:
        Event.objects.create(
            kind=ACCOUNT_EVENT,
            actor=actor if getattr(actor, "pk", None) else None,
            actor_label="" if getattr(actor, "pk", None) else reason[:200],
            message="; ".join(parts)[:500],
            data={"user": user.pk, "reason": reason},
        )


def person_changes(user: Any, limit: int = 100) -> list[Change]:
    """The changes to ``user``'s org chart entry, authority limits and absences, newest first."""
    profile_rows = list(
        Profile.history.filter(user_id=user.pk)
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    limit_rows = list(
        AuthorityLimit.history.filter(user_id=user.pk)
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    absences = list(absence_history(user).select_related("actor")[:limit])
    names = _names(
        getattr(row, f"{name}_id")
        for row in profile_rows
        for name in _PEOPLE_FIELDS
        if getattr(row, f"{name}_id")
    )
    changes = [*_profile_changes(profile_rows, names, absences), *_limit_changes(limit_rows)]
    changes += [Change(e.created_at, person(e.actor, "Baton"), e.message) for e in absences]
    accounts = Event.objects.filter(kind=ACCOUNT_EVENT, data__user=user.pk).select_related("actor")
    changes += [
        Change(
            e.created_at,
            person(e.actor, e.actor_label),
            e.message,
            e.data.get("reason", "") if e.actor else "",
        )
        for e in accounts.order_by("-created_at", "-id")[:limit]
    ]
    changes.sort(key=lambda change: change.at, reverse=True)
    return changes[:limit]


def _names(ids: Iterable[int]) -> dict[int, str]:
    users = get_user_model()._default_manager.filter(pk__in=set(ids))
    return {u.pk: person(u) for u in users}


def _who(row: Any) -> tuple[str, str]:
    reason = row.history_change_reason or ""
    if row.history_user is not None:
        return person(row.history_user), reason
    return reason or "Baton", ""


def _value(name: str, value: Any, names: dict[int, str]) -> str:
    if value in (None, ""):
        return "nobody" if name in _PEOPLE_FIELDS else "(blank)"
    if name in _PEOPLE_FIELDS:
        return names.get(value, f"user #{value}")
    if isinstance(value, datetime.date):
        return when(value)
    return str(value)


def _profile_changes(rows: list[Any], names: dict[int, str], absences: list[Any]) -> list[Change]:
    changes: list[Change] = []
    previous = None
    for row in rows:
        who, why = _who(row)
        if previous is None or row.history_type == "+":
            parts = [
                f"{_LABELS[n]} {_value(n, _raw(row, n), names)}"
                for n in ("manager", "department", "title")
                if _raw(row, n) not in (None, "")
            ]
            what = "added to the org chart" + (f": {', '.join(parts)}" if parts else "")
            changes.append(Change(row.history_date, who, what, why))
        else:
            delta = row.diff_against(previous)
            # The absence event written with this save says it better ("out of office … delegate …").
            near_absence = any(abs(e.created_at - row.history_date) < _SAME_CHANGE for e in absences)
            for item in delta.changes:
                if near_absence and item.field in ABSENCE_FIELDS:
                    continue
                label = _LABELS.get(item.field, item.field.replace("_", " "))
                old, new = _value(item.field, item.old, names), _value(item.field, item.new, names)
                changes.append(Change(row.history_date, who, f"{label} {old} → {new}", why))
        previous = row
    return changes


def _raw(row: Any, name: str) -> Any:
    return getattr(row, f"{name}_id") if name in _PEOPLE_FIELDS else getattr(row, name)


def _limit_changes(rows: list[Any]) -> list[Change]:
    changes: list[Change] = []
    last: dict[int, Any] = {}
    for row in rows:
        who, why = _who(row)
        scope = f" ({row.category})" if row.category else ""
        shown = money(row.amount, row.currency)
        before = last.get(row.id)
        if row.history_type == "+" or before is None:
            what = f"limit {shown}{scope} added"
        elif row.history_type == "-":
            what = f"limit {shown}{scope} removed"
        elif (before.amount, before.currency) != (row.amount, row.currency):
            what = f"limit{scope} {money(before.amount, before.currency)} → {shown}"
        else:
            fields = [c for c in row.diff_against(before).changes if c.field not in ("amount", "currency")]
            if not fields:
                last[row.id] = row
                continue
            what = f"limit {shown}{scope}: " + ", ".join(
                f"{_LABELS.get(c.field, c.field)} {_value(c.field, c.old, {})} → {_value(c.field, c.new, {})}"
                for c in fields
            )
        changes.append(Change(row.history_date, who, what, why))
        last[row.id] = row
    return changes
