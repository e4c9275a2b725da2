"""The org chart as a tree: who reports to whom, with titles, signature limits and stand-ins.

:func:`org_tree` reads every profile and the limits in force in a few queries and returns
the people as nested :class:`OrgNode` rows for the admin's org chart page. Given a
:class:`~approvals.chain.Route` (what "Who can approve?" answers), it marks the requester
and each level of the chain on the tree and opens the branches that lead to them.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q

from approvals.chain import Route
from approvals.models import AuthorityLimit, Profile, person
from orchestration.templatetags.moments import when

__all__ = ["Mark", "OrgNode", "org_tree"]

# Branches this deep open by default; deeper ones open when they hold a match or a chain level.
_OPEN_DEPTH = 3


@dataclass
class Mark:
    """What a person is in the chain asked about: ``role`` is requester, level or approves."""

    role: str
    label: str
    why: str = ""


@dataclass
class OrgNode:
    """One person on the tree, with the people reporting to them."""

    user: Any
    profile: Profile | None
    limits: list[str]
    away: str
    reports: list[OrgNode] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    is_open: bool = False
    loops: bool = False

    @property
    def name(self) -> str:
        return person(self.user)

    @property
    def initials(self) -> str:
        parts = [p for p in (self.user.first_name, self.user.last_name) if p] or [self.user.get_username()]
        return "".join(p[0] for p in parts[:2]).upper()

    @property
    def search_text(self) -> str:
        """What the filter box matches: name, username, title, department, cost centre."""
        bits = [self.name, self.user.get_username()]
        if self.profile is not None:
            bits += [self.profile.title, self.profile.department, self.profile.cost_centre]
        return " ".join(bits).lower()

    @property
    def role(self) -> str:
        """The strongest mark, for the node's highlight: approves > level > requester."""
        roles = {m.role for m in self.marks}
        return next((r for r in ("approves", "level", "requester") if r in roles), "")


def _limits_by_user(on_date: datetime.date, users: list[Any]) -> dict[int, list[str]]:
    """Each person's limits in force on ``on_date``: their own, then their groups' ("via Finance")."""
    in_force = (
        AuthorityLimit.objects.filter(Q(valid_from__isnull=True) | Q(valid_from__lte=on_date))
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on_date))
        .select_related("group")
        .order_by("currency", "-amount")
    )
    own: dict[int, list[str]] = {}
    by_group: dict[int, list[str]] = {}
    for limit in in_force:
        text = limit.describe() + (f" for {limit.category}" if limit.category else "")
        if limit.user_id is not None:
            own.setdefault(limit.user_id, []).append(text)
        elif limit.group_id is not None:
            by_group.setdefault(limit.group_id, []).append(f"{text} via {limit.group}")
    result: dict[int, list[str]] = {}
    for user in users:
        via = [text for group in user.groups.all() for text in by_group.get(group.pk, [])]
        result[user.pk] = own.get(user.pk, []) + via
    return result


def _away(profile: Profile | None, on_date: datetime.date) -> str:
    if profile is None or not profile.is_out_of_office(on_date):
        return ""
    until = f" until {when(profile.out_of_office_to)}" if profile.out_of_office_to else ""
    if profile.delegate is None:
        return f"Out of office{until}, no delegate"
    return f"Out of office{until}: {person(profile.delegate)} decides"


def _marks(route: Route | None, requester: Any) -> dict[int, list[Mark]]:
    if route is None or requester is None:
        return {}
    marks: dict[int, list[Mark]] = {}
    if route.own is not None and route.own.covers:
        why = f"Their own limit {route.own.limit.describe()} covers it: approved at once."
        marks[requester.pk] = [Mark("approves", "Requester · signs alone", why)]
        return marks
    marks[requester.pk] = [Mark("requester", "Requester")]
    for step in route.levels:
        role = "approves" if step.covered else "level"
        label = f"Level {step.level}" + (" · approves" if step.covered else "")
        if step.on_behalf_of is not None:
            away = f"Level {step.level} · away, {person(step.approver)} decides"
            marks.setdefault(step.on_behalf_of.pk, []).append(Mark("level", away))
            label += f" for {person(step.on_behalf_of)}"
        marks.setdefault(step.approver.pk, []).append(Mark(role, label, step.reason))
    return marks


def org_tree(
    on_date: datetime.date, route: Route | None = None, requester: Any = None
) -> tuple[list[OrgNode], int]:
    """Everyone with a profile (and any manager without one) as trees under the people nobody manages.

    Returns the roots, sorted by name, and how many people are on the tree. People
    whose manager chain loops are shown as roots marked ``loops``. ``route`` and
    ``requester`` mark the chain "Who can approve?" found.
    """
    users = get_user_model()
    profiles = {
        p.user_id: p
        for p in Profile.objects.select_related("user", "manager", "delegate").order_by("user_id")
    }
    ids = set(profiles) | {p.manager_id for p in profiles.values() if p.manager_id is not None}
    people = list(users._default_manager.filter(pk__in=ids).prefetch_related("groups"))
    limits = _limits_by_user(on_date, people)
    marks = _marks(route, requester)
    nodes = {
        u.pk: OrgNode(
            u,
            profiles.get(u.pk),
            limits.get(u.pk, []),
            _away(profiles.get(u.pk), on_date),
            marks=marks.get(u.pk, []),
        )
        for u in people
    }
    children: dict[int | None, list[OrgNode]] = {}
    for node in nodes.values():
        manager_id = node.profile.manager_id if node.profile is not None else None
        children.setdefault(manager_id if manager_id in nodes else None, []).append(node)
    for group in children.values():
        group.sort(key=lambda n: (n.name.lower(), n.user.pk))

    placed: set[int] = set()

    def grow(node: OrgNode, depth: int) -> bool:
        """Attach ``node``'s reports; True when a mark lies at or below it."""
        placed.add(node.user.pk)
        marked = bool(node.marks)
        for child in children.get(node.user.pk, []):
            if child.user.pk in placed:
                continue
            node.reports.append(child)
            marked = grow(child, depth + 1) or marked
        node.is_open = bool(node.reports) and (depth < _OPEN_DEPTH or marked)
        return marked

    roots = list(children.get(None, []))
    for root in roots:
        grow(root, 0)
    # Whoever is left sits in a manager loop: shown at the top, flagged, so nobody disappears.
    for node in sorted((n for n in nodes.values() if n.user.pk not in placed), key=lambda n: n.name.lower()):
        if node.user.pk in placed:
            continue
        node.loops = True
        roots.append(node)
        grow(node, 0)
    return roots, len(nodes)
