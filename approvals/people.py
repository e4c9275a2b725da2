"""People from HR: read a CSV of people, say every change it makes in plain words, then make them.

:func:`read_people` checks a whole file (every error by line and column) and plans the
changes against the database without writing; :func:`apply_plan` makes them in one
transaction. The ``baton_import_people`` command and the admin's upload page both use
these two, so a dry run and a preview say exactly what applying will do.

Columns present in the file are the truth for the people it lists (a blank department
clears it); columns left out are not touched. Nobody is ever deleted: people missing
from the file are deactivated, and only when asked.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from approvals.changes import account_snapshot, record_account_change
from approvals.models import AuthorityLimit, Profile, money, person
from orchestration import money as money_values

__all__ = ["COLUMNS", "ImportPlan", "LineError", "apply_plan", "read_people"]

# Column → the header words HR systems use for it (compared lower case, "_" and "-" read as spaces).
COLUMNS: dict[str, tuple[str, ...]] = {
    "username": ("username", "user name", "login", "user"),
    "email": ("email", "e-mail", "email address", "mail"),
    "first_name": ("first name", "given name", "firstname"),
    "last_name": ("last name", "family name", "surname", "lastname"),
    "manager": ("manager", "manager username", "reports to"),
    "department": ("department", "dept"),
    "cost_centre": ("cost centre", "cost center", "cost centre code"),
    "title": ("title", "job title"),
    "active": ("active", "is active", "status"),
    "limit_amount": ("authority limit amount", "limit amount", "authority limit", "limit"),
    "limit_currency": ("authority limit currency", "limit currency", "currency"),
    "limit_category": ("authority limit category", "limit category", "category"),
}
LABELS = {
    "username": "username",
    "email": "email",
    "first_name": "first name",
    "last_name": "last name",
    "manager": "manager",
    "department": "department",
    "cost_centre": "cost centre",
    "title": "title",
    "active": "active",
    "limit_amount": "limit amount",
    "limit_currency": "limit currency",
    "limit_category": "limit category",
}
_PROFILE_FIELDS = ("department", "cost_centre", "title")
_USER_FIELDS = ("email", "first_name", "last_name")
_YES = {"yes", "y", "true", "1", "active", ""}
_NO = {"no", "n", "false", "0", "inactive", "left"}
# A file bigger than this is not an org chart export.
MAX_ROWS = 50_000


@dataclass(frozen=True)
class LineError:
    """What is wrong on one line of the file (line 1 is the header), in one column."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", {self.column}" if self.column else "")
        return f"{where[:1].upper()}{where[1:]}: {self.message}"


@dataclass
class _Row:
    line: int
    values: dict[str, str]
    active: bool = True
    limit: tuple[Decimal, str, str] | None = None


@dataclass
class ImportPlan:
    """What a file changes: the sentences people read, and the rows that make them."""

    columns: list[str] = field(default_factory=list)
    rows: list[_Row] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    deactivate: list[Any] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _column(header: str) -> str | None:
    words = " ".join(header.replace("_", " ").replace("-", " ").lower().split())
    for name, aliases in COLUMNS.items():
        if words in aliases or words == name.replace("_", " "):
            return name
    return None


def _text(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheets on Windows still save CSV as Latin-1 / cp1252.
        return data.decode("cp1252", errors="replace")


def read_people(data: bytes | str, *, deactivate_missing: bool = False, keep: Any = None) -> ImportPlan:
    """Check ``data`` (CSV with a header line) and plan its changes, writing nothing.

    ``deactivate_missing`` plans to deactivate active people the file does not list
    (never superusers, identity-provider accounts or ``keep``, the person importing).
    """
    plan = ImportPlan()
    text = _text(data)
    if "\x00" in text:
        plan.errors.append(LineError(1, "", "This is not a CSV file (it holds binary data): save it as CSV."))
        return plan
    first_line = text.split("\n", 1)[0]
    # Spreadsheets set to a decimal comma save with semicolons; some HR systems export tabs.
    delimiter = max([",", ";", "\t"], key=first_line.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        plan.errors.append(LineError(1, "", "The file is empty: the first line names the columns."))
        return plan
    names: list[str | None] = []
    for position, title in enumerate(header, start=1):
        name = _column(title)
        if name is None and title.strip():
            plan.errors.append(LineError(1, f"column {position}", f"unknown column “{title.strip()}”."))
        if name is not None and name in names:
            plan.errors.append(
                LineError(1, f"column {position}", f"the {LABELS[name]} column appears twice.")
            )
        names.append(name)
    plan.columns = [n for n in names if n]
    if "username" not in plan.columns:
        plan.errors.append(LineError(1, "", "A username column is needed: it says who each line is."))
        return plan
    if ("limit_amount" in plan.columns) != ("limit_currency" in plan.columns):
        plan.errors.append(LineError(1, "", "Give the authority limit as two columns: amount and currency."))
    try:
        for row in reader:
            if reader.line_num - 1 > MAX_ROWS:
                plan.errors.append(LineError(reader.line_num, "", f"More than {MAX_ROWS:,} people."))
                break
            if not any(cell.strip() for cell in row):
                continue
            values = {n: (row[i].strip() if i < len(row) else "") for i, n in enumerate(names) if n}
            plan.rows.append(_check_row(_Row(reader.line_num, values), plan.errors))
    except csv.Error as exc:
        plan.errors.append(LineError(reader.line_num, "", f"This is not readable CSV ({exc})."))
    _check_people(plan)
    plan.errors.sort(key=lambda error: error.line)
    if plan.ok:
        _plan_changes(plan, deactivate_missing, keep)
    return plan


def _check_row(row: _Row, errors: list[LineError]) -> _Row:
    values, line = row.values, row.line
    if not values["username"]:
        errors.append(LineError(line, "username", "the username is empty."))
    elif len(values["username"]) > 150:
        errors.append(LineError(line, "username", "a username has at most 150 characters."))
    else:
        try:
            get_user_model().username_validator(values["username"])
        except ValidationError:
            errors.append(LineError(line, "username", "use letters, digits and @ . + - _ only (no spaces)."))
    if values.get("email"):
        try:
            validate_email(values["email"])
        except ValidationError:
            errors.append(LineError(line, "email", f"“{values['email']}” is not an email address."))
    for name, size in (("first_name", 150), ("last_name", 150), ("department", 100), ("title", 100)):
        if len(values.get(name, "")) > size:
            errors.append(LineError(line, LABELS[name], f"at most {size} characters."))
    if len(values.get("cost_centre", "")) > 50:
        errors.append(LineError(line, "cost centre", "at most 50 characters."))
    active = values.get("active", "").lower()
    if active not in _YES | _NO:
        errors.append(LineError(line, "active", f"“{values['active']}” is neither yes nor no."))
    row.active = active not in _NO
    amount, currency = values.get("limit_amount", ""), values.get("limit_currency", "")
    if amount or currency:
        row.limit = _check_limit(line, amount, currency, values.get("limit_category", ""), errors)
    return row


def _check_limit(
    line: int, amount: str, currency: str, category: str, errors: list[LineError]
) -> tuple[Decimal, str, str] | None:
    """The limit on ``line`` checked as the admin checks one (ISO currency, its minor units, bounds)."""
    if not currency:
        errors.append(LineError(line, "limit currency", "a limit amount needs its currency, such as USD."))
        return None
    if not money_values.is_currency(currency):
        errors.append(LineError(line, "limit currency", f"“{currency}” is not a currency code such as USD."))
        return None
    if not amount:
        errors.append(LineError(line, "limit amount", f"a limit in {currency.upper()} needs an amount."))
        return None
    code = currency.upper()
    try:
        value = money_values.parse_amount(amount, code)
    except money_values.MoneyError as exc:
        errors.append(LineError(line, "limit amount", f"“{amount}”: {exc}"))
        return None
    probe = AuthorityLimit(amount=value, currency=code, category=category)
    try:
        probe.clean_fields(exclude=["user", "group"])
        probe.clean()
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            column = "limit " + name if name in ("amount", "currency", "category") else ""
            errors.extend(LineError(line, column, message) for message in messages)
        return None
    return value, code, category


def _check_people(plan: ImportPlan) -> None:
    """Duplicate usernames, unknown managers and manager loops, across the file and the database."""
    users = get_user_model()._default_manager
    by_name: dict[str, _Row] = {}
    for row in plan.rows:
        username = row.values["username"]
        if username in by_name:
            plan.errors.append(
                LineError(row.line, "username", f"{username} is on line {by_name[username].line} already.")
            )
        by_name[username] = row
    if "manager" not in plan.columns:
        return
    wanted = {row.values["manager"] for row in plan.rows if row.values["manager"]}
    known = set(users.filter(username__in=wanted - by_name.keys()).values_list("username", flat=True))
    for row in plan.rows:
        manager = row.values["manager"]
        if manager and manager == row.values["username"]:
            plan.errors.append(LineError(row.line, "manager", "a person cannot be their own manager."))
        elif manager and manager not in by_name and manager not in known:
            plan.errors.append(
                LineError(row.line, "manager", f"unknown manager “{manager}”: not in the file nor in Baton.")
            )
    # The chain after the import: the file's managers over the database's.
    chain: dict[str, str] = dict(
        Profile.objects.filter(manager__isnull=False).values_list("user__username", "manager__username")
    )
    chain.update({name: row.values["manager"] for name, row in by_name.items()})
    reported: set[str] = set()
    for row in plan.rows:
        start = row.values["username"]
        seen = [start]
        current = chain.get(start, "")
        while current and current not in seen and len(seen) <= len(chain):
            seen.append(current)
            current = chain.get(current, "")
        if current == start and start not in reported and row.values["manager"] != start:
            reported.update(seen)
            loop = " → ".join([*seen, start])
            plan.errors.append(LineError(row.line, "manager", f"the managers go round in a loop: {loop}."))


def _plan_changes(plan: ImportPlan, deactivate_missing: bool, keep: Any) -> None:
    users = get_user_model()._default_manager
    names = [row.values["username"] for row in plan.rows]
    existing = {u.username: u for u in users.filter(username__in=names).select_related("profile__manager")}
    managers = {row.values.get("manager", "") for row in plan.rows} - {""}
    people = {u.username: u for u in users.filter(username__in=managers)}
    display = {
        row.values["username"]: _full_name(row.values)
        or person(existing.get(row.values["username"]))
        or row.values["username"]
        for row in plan.rows
    }
    for name, manager in people.items():
        display.setdefault(name, person(manager))
    limits = _current_limits(list(existing.values()))
    for row in plan.rows:
        values = row.values
        user = existing.get(values["username"])
        if user is None:
            plan.changes.append(_creation(row, plan.columns, display))
            continue
        who = person(user)
        for name in _USER_FIELDS:
            if name in plan.columns and getattr(user, name) != values[name]:
                plan.changes.append(
                    f"{who}: {LABELS[name]} {_shown(getattr(user, name))} → {_shown(values[name])}"
                )
        if "active" in plan.columns and user.is_active != row.active:
            plan.changes.append(f"{who}: {'reactivate' if row.active else 'deactivate'}")
        profile = getattr(user, "profile", None)
        for name in _PROFILE_FIELDS:
            old = getattr(profile, name) if profile else ""
            if name in plan.columns and old != values[name]:
                plan.changes.append(f"{who}: {LABELS[name]} {_shown(old)} → {_shown(values[name])}")
        if "manager" in plan.columns:
            old_manager = profile.manager.username if profile and profile.manager else ""
            if old_manager != values["manager"]:
                before = person(profile.manager) if profile and profile.manager else "nobody"
                after = display.get(values["manager"], "nobody") if values["manager"] else "nobody"
                plan.changes.append(f"{who}: manager {before} → {after}")
        if row.limit is not None:
            amount, currency, category = row.limit
            current = limits.get((user.pk, currency, category))
            scope = f" ({category})" if category else ""
            if current is None:
                plan.changes.append(f"{who}: limit{scope} none → {money(amount, currency)}")
            elif current.amount != amount:
                plan.changes.append(f"{who}: limit{scope} {current.describe()} → {money(amount, currency)}")
    if deactivate_missing:
        missing = (
            users.filter(is_active=True, is_superuser=False, provisioning_token__isnull=True)
            .exclude(username__in=names)
            .order_by("username")
        )
        if keep is not None:
            missing = missing.exclude(pk=keep.pk)
        plan.deactivate = list(missing)
        plan.changes.extend(
            f"deactivate {u.username} ({person(u)}): not in the file" for u in plan.deactivate
        )


def _creation(row: _Row, columns: list[str], display: dict[str, str]) -> str:
    values = row.values
    parts = [p for p in (_full_name(values), values.get("email", "")) if p]
    job = " in ".join(p for p in (values.get("title", ""), values.get("department", "")) if p)
    if job:
        parts.append(job)
    if values.get("manager"):
        parts.append(f"manager {display.get(values['manager'], values['manager'])}")
    if row.limit is not None:
        parts.append(
            f"limit {money(row.limit[0], row.limit[1])}" + (f" ({row.limit[2]})" if row.limit[2] else "")
        )
    if "active" in columns and not row.active:
        parts.append("inactive")
    return f"create user {values['username']}" + (f": {', '.join(parts)}" if parts else "")


def _full_name(values: dict[str, str]) -> str:
    return " ".join(p for p in (values.get("first_name", ""), values.get("last_name", "")) if p)


def _shown(value: str) -> str:
    return f"“{value}”" if value else "(blank)"


def _current_limits(users: list[Any]) -> dict[tuple[int, str, str], AuthorityLimit]:
    """Each person's limit in force today per currency and category (the one an import updates)."""
    today = timezone.localdate()
    found: dict[tuple[int, str, str], AuthorityLimit] = {}
    rows = AuthorityLimit.objects.filter(user__in=users).order_by("-valid_from", "-pk")
    for limit in rows:
        if (limit.valid_from and limit.valid_from > today) or (limit.valid_to and limit.valid_to < today):
            continue
        assert limit.user_id is not None
        found.setdefault((limit.user_id, limit.currency, limit.category), limit)
    return found


def apply_plan(plan: ImportPlan, *, actor: Any = None, reason: str = "HR import") -> int:
    """Make the changes of ``plan`` (checked, without errors) in one transaction; returns how many.

    Each history row written carries ``reason`` and ``actor`` (the administrator, or
    nobody for the command).
    """
    if not plan.ok:
        raise ValueError("The file has errors: nothing was changed.")
    users = get_user_model()._default_manager
    columns = plan.columns
    with transaction.atomic():
        existing = {
            u.username: u
            for u in users.select_for_update().filter(username__in=[r.values["username"] for r in plan.rows])
        }
        for row in plan.rows:
            values = row.values
            user = existing.get(values["username"])
            before = account_snapshot(user) if user is not None else None
            if user is None:
                user = users.model(username=values["username"])
                user.set_unusable_password()
            for name in _USER_FIELDS:
                if name in columns:
                    setattr(user, name, values[name])
            if "active" in columns or user.pk is None:
                user.is_active = row.active
            if before is None or before != account_snapshot(user):
                user.save()
                record_account_change(user, before, actor, reason)
            existing[user.username] = user
        for user in users.filter(
            username__in=[r.values["manager"] for r in plan.rows if r.values.get("manager")]
        ):
            existing.setdefault(user.username, user)
        limits = _current_limits(list(existing.values()))
        for row in plan.rows:
            user = existing[row.values["username"]]
            _apply_profile(user, row, columns, existing, actor, reason)
            if row.limit is not None:
                _apply_limit(user, row.limit, limits, actor, reason)
        for user in plan.deactivate:
            user.is_active = False
            user.save(update_fields=["is_active"])
            record_account_change(user, {**account_snapshot(user), "is_active": True}, actor, reason)
    return len(plan.changes)


def _apply_profile(
    user: Any, row: _Row, columns: list[str], people: dict[str, Any], actor: Any, reason: str
) -> None:
    profile = Profile.objects.filter(user=user).first() or Profile(user=user)
    before = (profile.manager_id, *(getattr(profile, n) for n in _PROFILE_FIELDS))
    for name in _PROFILE_FIELDS:
        if name in columns:
            setattr(profile, name, row.values[name])
    if "manager" in columns:
        manager = row.values["manager"]
        profile.manager = people[manager] if manager else None
    after = (profile.manager_id, *(getattr(profile, n) for n in _PROFILE_FIELDS))
    if profile.pk is None or before != after:
        _attribute(profile, actor, reason)
        profile.save()


def _apply_limit(
    user: Any,
    limit: tuple[Decimal, str, str],
    limits: dict[tuple[int, str, str], AuthorityLimit],
    actor: Any,
    reason: str,
) -> None:
    amount, currency, category = limit
    current = limits.get((user.pk, currency, category))
    if current is None:
        current = AuthorityLimit(user=user, currency=currency, category=category, amount=amount)
    elif current.amount == amount:
        return
    current.amount = amount
    _attribute(current, actor, reason)
    current.save()


def _attribute(obj: Any, actor: Any, reason: str) -> None:
    """Who and why for the history row ``obj.save()`` writes (django-simple-history reads these)."""
    obj._change_reason = reason
    if actor is not None:
        obj._history_user = actor
