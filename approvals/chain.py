"""Who approves: the management chain, authority limits and out-of-office delegation.

These functions read the org chart (:class:`~approvals.models.Profile`) and
:class:`~approvals.models.AuthorityLimit` rows and never write, so the task
provider and the decision actions call them inside the engine's transaction and
tests call them alone. Every choice comes with a sentence saying why, which the
approval task keeps as its ``reason``.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from django.db.models import Q, QuerySet
from django.utils import timezone

from approvals.exchange import Conversion, base_currency, to_base
from approvals.models import AuthorityLimit, FinalApprovers, Profile, money, person
from orchestration.templatetags.moments import when

__all__ = [
    "Authority",
    "ChainStep",
    "ManagerCycle",
    "applicable_limits",
    "authority_for",
    "authority_of",
    "chain_ended",
    "covers",
    "fallback_warnings",
    "final_approvers",
    "manager_chain",
    "next_level",
    "nobody_eligible",
    "resolve_approver",
]

# Users are whatever AUTH_USER_MODEL is; typed loosely so swapped models fit.
User = Any


class ManagerCycle(Exception):
    """The manager chain comes back to someone already in it; ``people`` are the usernames around the loop."""

    def __init__(self, people: list[str]) -> None:
        super().__init__("Manager chain loops: " + " → ".join(people))
        self.people = people


class ChainStep(NamedTuple):
    """One level of the authority chain: who decides, at which level, under which limit, and why.

    ``covered`` says whether that limit covers the request; ``conversion`` is the exchange
    rate that turned the request's amount into the limit's currency, if one did.
    ``on_behalf_of`` is the level's manager while their delegate decides for them: the
    limit is then the manager's, so delegation adds no level.
    """

    approver: User
    level: int
    limit: AuthorityLimit | None
    reason: str
    covered: bool = False
    conversion: Conversion | None = None
    on_behalf_of: User | None = None


class Authority(NamedTuple):
    """The limit that decides for one person and one request, and the request's amount in its currency."""

    limit: AuthorityLimit
    amount: Decimal  # the request's amount in ``limit.currency``
    conversion: Conversion | None  # how it got there, when the request is in another currency

    @property
    def covers(self) -> bool:
        """Whether the limit covers the request (inclusive)."""
        return self.amount <= self.limit.amount


def _profile(user: User) -> Profile | None:
    return Profile.objects.select_related("manager", "delegate").filter(user=user).first()


def _today(on_date: datetime.date | None) -> datetime.date:
    return on_date if on_date is not None else timezone.localdate()


def manager_chain(user: User) -> list[User]:
    """The managers above ``user``, nearest first: index 0 is level 1 (the direct manager).

    The chain ends at someone without a profile or without a manager. Raises
    :class:`ManagerCycle` naming the people when it comes back to someone in it
    (including ``user``), which :meth:`Profile.clean` refuses but bulk edits may not.
    """
    chain: list[User] = []
    seen: list[User] = [user]
    current = user
    while True:
        profile = _profile(current)
        if profile is None or profile.manager is None:
            return chain
        manager = profile.manager
        ids = [p.pk for p in seen]
        if manager.pk in ids:
            loop = [*seen[ids.index(manager.pk) :], manager]
            raise ManagerCycle([p.get_username() for p in loop])
        chain.append(manager)
        seen.append(manager)
        current = manager


def applicable_limits(
    user: User, currency: str, category: str = "", on_date: datetime.date | None = None
) -> QuerySet[AuthorityLimit]:
    """Limits of ``user`` or of any of their groups for ``currency``, ``category`` and ``on_date``, highest first.

    A limit without a category applies to every category; one with a category only
    to that category (compared case-insensitively). A limit applies from
    ``valid_from`` to ``valid_to`` inclusive; an empty date is an open end.
    """
    on_date = _today(on_date)
    return (
        AuthorityLimit.objects.filter(Q(user=user) | Q(group__in=user.groups.all()))
        .filter(currency=currency.upper())
        .filter(Q(category="") | Q(category__iexact=category.strip()))
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=on_date))
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on_date))
        # On equal amounts a personal limit is the one worth quoting.
        .order_by("-amount", "group_id", "pk")
    )


def authority_of(
    user: User, currency: str, category: str = "", on_date: datetime.date | None = None
) -> AuthorityLimit | None:
    """The highest limit applying to ``user`` (their own or a group's), or None if none applies.

    An inactive user has no authority. Only limits in ``currency`` are looked at;
    :func:`authority_for` also converts into the base currency.
    """
    if not user.is_active:
        return None
    return applicable_limits(user, currency, category, on_date).first()


def authority_for(
    user: User,
    amount: Decimal,
    currency: str,
    category: str = "",
    on_date: datetime.date | None = None,
    rate_date: datetime.date | None = None,
) -> Authority | None:
    """The limit that decides whether ``user`` may approve ``amount`` in ``currency``, or None.

    A limit in the request's own currency comes first. Without one, a limit in the
    base currency (``BATON_BASE_CURRENCY``) applies to the amount converted at the
    rate in force on ``rate_date`` (the request's date; default ``on_date``). Raises
    :class:`~approvals.exchange.NoRate` when only a base-currency limit applies and no
    rate is in force. The signature-authority check and the chain both ask here.
    """
    currency = currency.upper()
    limit = authority_of(user, currency, category, on_date)
    if limit is not None:
        return Authority(limit, amount, None)
    base = base_currency()
    base_limit = authority_of(user, base, category, on_date) if currency != base else None
    if base_limit is None:
        return None
    conversion = to_base(amount, currency, rate_date or _today(on_date))
    return Authority(base_limit, conversion.converted, conversion)


def covers(
    user: User,
    amount: Decimal,
    currency: str,
    category: str = "",
    on_date: datetime.date | None = None,
    rate_date: datetime.date | None = None,
) -> bool:
    """Whether ``user`` may approve ``amount`` in ``currency`` alone (see :func:`authority_for`)."""
    authority = authority_for(user, amount, currency, category, on_date, rate_date)
    return authority is not None and authority.covers


def resolve_approver(user: User, on_date: datetime.date | None = None) -> tuple[User, str]:
    """Who decides for ``user`` on ``on_date``, and why: ``user``, or their delegate while out of office.

    A delegate who is out of office too passes the task on to their own delegate;
    the walk stops at someone present, someone without an active delegate, or a
    delegate already passed (a loop). The reason is empty when ``user`` decides
    in person.
    """
    on_date = _today(on_date)
    approver = user
    seen = {user.pk}
    notes: list[str] = []
    while True:
        profile = _profile(approver)
        if profile is None or not profile.is_out_of_office(on_date):
            break
        away = f"{person(approver)} is out of office"
        if profile.out_of_office_to is not None:
            away += f" until {when(profile.out_of_office_to)}"
        delegate = profile.delegate
        if delegate is None or not delegate.is_active:
            notes.append(f"{away} without an active delegate, so the task waits for them")
            break
        if delegate.pk in seen:
            notes.append(f"{away}, but their delegate {person(delegate)} delegates back, so it stays here")
            break
        notes.append(f"{away}; delegated to {person(delegate)}")
        seen.add(delegate.pk)
        approver = delegate
    return approver, "; ".join(notes)


def _limit_phrase(who: User, authority: Authority | None, amount: Decimal, currency: str) -> str:
    wanted = money(amount, currency)
    if authority is None:
        return f"{person(who)} has no {currency} limit for {wanted}"
    limit = authority.limit.describe()
    verb = "covers" if authority.covers else "does not cover"
    if authority.conversion is not None:
        return f"{person(who)}'s limit {limit} {verb} {wanted}, which is {authority.conversion.describe()}"
    return f"{person(who)}'s limit {limit} {'covers it' if authority.covers else f'does not cover {wanted}'}"


def next_level(
    requester: User,
    after_level: int,
    amount: Decimal,
    currency: str,
    category: str = "",
    on_date: datetime.date | None = None,
    *,
    approved_by: Sequence[User] = (),
    last_authority_of: User | None = None,
    rate_date: datetime.date | None = None,
) -> ChainStep | None:
    """The next approver of ``requester``'s request above level ``after_level`` (0: the first one).

    Level 1 is the requester's manager, level 2 that manager's manager, and so on;
    each level decides in turn until someone's limit covers ``amount``. A level's
    manager is replaced by their delegate while out of office, who decides on the
    manager's behalf with the manager's limit. A level is skipped,
    and the reason says so, when its approver is inactive, is the requester (no
    self-approval) or already approved this request (``approved_by``, in order;
    the last one's insufficient limit, or ``last_authority_of``'s when they approved on
    that person's behalf, opens the reason). Returns None when the
    chain ends: the caller routes the request to the fallback group. Raises
    :class:`ManagerCycle` when the chain loops, and
    :class:`~approvals.exchange.NoRate` when a limit needs a rate that is missing
    (``rate_date``, the request's date, picks the rate).
    """
    on_date = _today(on_date)
    currency = currency.upper()
    notes: list[str] = []
    if approved_by:
        last = last_authority_of or approved_by[-1]
        last_authority = authority_for(last, amount, currency, category, on_date, rate_date)
        notes.append(_limit_phrase(last, last_authority, amount, currency))
    done = {p.pk for p in approved_by}
    managers = manager_chain(requester)
    for level, manager in enumerate(managers[after_level:], start=after_level + 1):
        if not manager.is_active:
            notes.append(f"{person(manager)} (level {level}) is no longer active, so that level is skipped")
            continue
        approver, delegation = resolve_approver(manager, on_date)
        if delegation:
            notes.append(delegation)
        if approver.pk == requester.pk:
            notes.append(
                f"{person(approver)} is the requester and cannot approve their own request, "
                f"so level {level} is skipped"
            )
            continue
        if approver.pk in done:
            notes.append(f"{person(approver)} has already approved, so level {level} is skipped")
            continue
        # A delegate decides with the manager's authority: the level is the manager's.
        authority = authority_for(manager, amount, currency, category, on_date, rate_date)
        phrase = _limit_phrase(manager, authority, amount, currency)
        if approver.pk != manager.pk:
            notes[-1] += f", who decides on {person(manager)}'s behalf"
        covered = authority is not None and authority.covers
        if not covered:
            phrase += ", so the next level decides after them"
        notes.append(phrase)
        head = f"Level {level} of {person(requester)}'s management chain"
        return ChainStep(
            approver,
            level,
            authority.limit if authority else None,
            f"{head}: {'; '.join(notes)}",
            covered=covered,
            conversion=authority.conversion if authority else None,
            on_behalf_of=manager if approver.pk != manager.pk else None,
        )
    return None


def chain_ended(requester: User, after_level: int, amount: Decimal, currency: str, group: str) -> str:
    """The reason a request goes to the fallback ``group``: nobody above level ``after_level`` can take it."""
    wanted = money(amount, currency.upper())
    if after_level == 0:
        return (
            f"{person(requester)} has no manager in the org chart who can approve {wanted}; "
            f"routed to the fallback group {group}"
        )
    return (
        f"{person(requester)}'s management chain ends after level {after_level} without a limit "
        f"covering {wanted}; routed to the fallback group {group}"
    )


class Route(NamedTuple):
    """Who approves a request: the requester alone (``own`` covers it), else the chain's levels in order
    and who finally covers it (``covered_by`` None: the fallback group)."""

    levels: list[ChainStep]
    covered_by: ChainStep | None
    own: Authority | None = None


def route(
    requester: User,
    amount: Decimal,
    currency: str,
    category: str = "",
    on_date: datetime.date | None = None,
    rate_date: datetime.date | None = None,
) -> Route:
    """Who approves ``amount``: the requester's own limit first, else the chain as if every level approved.

    The requester's own limit is judged by :func:`authority_for`, as the
    signature-authority check of a process (``approvals.check_authority``) judges it,
    so the admin's "who can approve?" says what the process does: approved at once
    when it covers. Otherwise the levels follow with the Approval block's rules
    (delegation, skipped levels, no self-approval) until a limit covers ``amount``.
    Raises :class:`ManagerCycle` when the chain loops and
    :class:`~approvals.exchange.NoRate` when a needed rate is missing.
    """
    own = authority_for(requester, amount, currency, category, on_date, rate_date)
    if own is not None and own.covers:
        return Route([], None, own)
    levels: list[ChainStep] = []
    after = 0
    while True:
        found = next_level(
            requester,
            after,
            amount,
            currency,
            category,
            on_date,
            approved_by=[s.approver for s in levels],
            last_authority_of=levels[-1].on_behalf_of if levels else None,
            rate_date=rate_date,
        )
        if found is None:
            return Route(levels, None, own)
        levels.append(found)
        if found.covered:
            return Route(levels, found, own)
        after = found.level


def nobody_eligible(group: Any, requester: User | None, approved_by: Sequence[User] = ()) -> str:
    """Why nobody in ``group`` may decide the request, in plain words; "" when someone may.

    Eligible: an active member who is not the requester and has not approved this
    request already (four eyes).
    """
    members = list(group.user_set.order_by("first_name", "last_name", "username"))
    if not members:
        return f"the {group} group has no members"
    active = [m for m in members if m.is_active]
    if not active:
        return f"nobody in the {group} group is active"
    done = {u.pk for u in approved_by}
    barred: list[str] = []
    for member in active:
        if requester is not None and member.pk == requester.pk:
            barred.append(f"{person(member)} made the request")
        elif member.pk in done:
            barred.append(f"{person(member)} already approved it")
        else:
            return ""
    return f"nobody else in the {group} group may decide it ({'; '.join(barred)})"


def final_approvers(currency: str, category: str) -> list[FinalApprovers]:
    """The final-approvers rows for a request in ``currency`` and ``category``, in the order they are asked."""
    rows = FinalApprovers.objects.select_related("group").filter(
        Q(currency="") | Q(currency=currency.upper()), Q(category="") | Q(category__iexact=category.strip())
    )
    # On equal positions, a row naming the currency or category is more specific than "any".
    return sorted(rows, key=lambda r: (r.position, not r.currency, not r.category, r.pk))


def fallback_warnings(groups: Sequence[Any]) -> list[tuple[Any, str]]:
    """Each of ``groups`` (fallback or final approvers) that could leave a request with nobody to decide, and why.

    A group warns when it has no active member, or when every active member is in
    someone's management chain: once they approve that person's request at their
    own level, four eyes bars them from deciding it as the group.
    """
    profiles = list(
        Profile.objects.select_related("user").filter(user__is_active=True).order_by("user__username")
    )
    chains: list[tuple[User, set[int]]] = []
    for profile in profiles:
        try:
            above = manager_chain(profile.user)
        except ManagerCycle:
            continue
        chains.append((profile.user, {m.pk for m in above}))
    warnings: list[tuple[Any, str]] = []
    for group in groups:
        members = list(group.user_set.filter(is_active=True).order_by("first_name", "last_name", "username"))
        if not members:
            warnings.append(
                (
                    group,
                    f"The {group} group has no active members: a request that reaches it has nobody to decide.",
                )
            )
            continue
        ids = {m.pk for m in members}
        covered = [user for user, chain in chains if ids <= chain]
        if covered:
            names = ", ".join(person(m) for m in members)
            who = ", ".join(person(u) for u in covered[:3]) + (
                f" and {len(covered) - 3} more" if len(covered) > 3 else ""
            )
            warnings.append(
                (
                    group,
                    f"Everyone in the {group} group ({names}) is in the management chain of {who}: "
                    "once they approve such a request at their own level, nobody in the group may decide it. "
                    "Add someone outside that chain, or name other final approvers after it.",
                )
            )
    return warnings
