"""Actions on who may use a workflow: share it with a group or a person in one role, or stop sharing.

A role is a fixed set of guardian object permissions, one rung above the other, so a
grant reads as one plain phrase. Sharing is changed by the owner, superusers and
operators (``change_workflow``); the owner always keeps full access.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from guardian.shortcuts import assign_perm, get_groups_with_perms, get_users_with_perms, remove_perm

from orchestration.access import has_workflow_perm
from orchestration.definitions import workflow_event
from orchestration.models import Workflow

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.contrib.auth.models import AbstractBaseUser


class Role(models.TextChoices):
    """What a group or person may do with a workflow; each role includes the ones before it."""

    REQUEST = "request", "Can request"
    DESIGN = "design", "Can design"
    PUBLISH = "publish", "Can publish"
    OPERATE = "operate", "Can operate"

    @property
    def verb(self) -> str:
        """The role as a verb: "Employees can now <verb> Purchase request"."""
        return str(self.label).removeprefix("Can ")


ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.REQUEST: frozenset({"view_workflow", "start_workflow"}),
    Role.DESIGN: frozenset({"view_workflow", "start_workflow", "design_workflow"}),
    Role.PUBLISH: frozenset({"view_workflow", "start_workflow", "design_workflow", "publish_workflow"}),
    Role.OPERATE: frozenset(
        {"view_workflow", "start_workflow", "design_workflow", "publish_workflow", "change_workflow"}
    ),
}

# The permissions sharing manages; any other object permission (say delete_workflow) is left alone.
SHARED_PERMISSIONS = ROLE_PERMISSIONS[Role.OPERATE]

# Plain words for each permission, for grants made elsewhere (the admin) that match no role.
PERMISSION_WORDS = {
    "view_workflow": "view",
    "start_workflow": "request",
    "design_workflow": "design",
    "publish_workflow": "publish",
    "change_workflow": "operate",
}


def role_for(perm: str) -> Role | None:
    """The lowest role that grants ``perm`` (what to ask for when a page needs it)."""
    return next((role for role, perms in ROLE_PERMISSIONS.items() if perm in perms), None)


class SharingError(Exception):
    """The change is not allowed as asked (the owner's access, an unknown role); the message says why."""


@dataclass(frozen=True)
class Access:
    """One group's or one person's access to a workflow, as granted directly on it."""

    group: Group | None
    user: Any | None
    perms: frozenset[str]

    @property
    def name(self) -> str:
        return principal_name(group=self.group, user=self.user)

    @property
    def role(self) -> Role | None:
        """The role these permissions make up exactly; None for a mix granted elsewhere."""
        return next((role for role, perms in ROLE_PERMISSIONS.items() if perms == self.perms), None)

    @property
    def description(self) -> str:
        """The role's label, or the permissions in plain words when they match no role."""
        role = self.role
        if role is not None:
            return str(role.label)
        words = [word for perm, word in PERMISSION_WORDS.items() if perm in self.perms]
        return "Custom: " + ", ".join(words)


def principal_name(*, group: Group | None = None, user: Any | None = None) -> str:
    """How a group or a person is called on the sharing page and in events."""
    if group is not None:
        return group.name
    if user is None:
        raise ValueError("Name a group or a user.")
    return str(user.get_full_name() or user.get_username())


def can_share(user: Any, workflow: Workflow) -> bool:
    """Whether ``user`` may change who has access: the owner, a superuser or an operator."""
    if not user.is_authenticated or not user.is_active:
        return False
    if workflow.owner_id is not None and workflow.owner_id == user.pk:
        return True
    return bool(user.is_superuser) or has_workflow_perm(user, "change_workflow", workflow)


def access_list(workflow: Workflow) -> list[Access]:
    """Groups then people with sharing permissions granted directly on ``workflow``, by name.

    The owner is left out (they always have full access), and so are people who have
    access only through a group or through a permission on every workflow.
    """
    shared = set(SHARED_PERMISSIONS)
    groups = cast("dict[Group, list[str]]", get_groups_with_perms(workflow, attach_perms=True))
    users = cast(
        "dict[Any, list[str]]", get_users_with_perms(workflow, attach_perms=True, with_group_users=False)
    )
    entries = [
        Access(group=group, user=None, perms=frozenset(perms) & shared)
        for group, perms in sorted(groups.items(), key=lambda item: item[0].name.lower())
        if shared.intersection(perms)
    ]
    people = [
        Access(group=None, user=user, perms=frozenset(perms) & shared)
        for user, perms in users.items()
        if user.pk != workflow.owner_id and shared.intersection(perms)
    ]
    return entries + sorted(people, key=lambda access: access.name.lower())


def _current(workflow: Workflow, group: Group | None, user: Any) -> frozenset[str]:
    """The sharing permissions ``group`` or ``user`` holds directly on ``workflow``."""
    if group is not None:
        granted = cast("dict[Any, list[str]]", get_groups_with_perms(workflow, attach_perms=True))
        holder = group
    else:
        granted = cast(
            "dict[Any, list[str]]", get_users_with_perms(workflow, attach_perms=True, with_group_users=False)
        )
        holder = user
    return frozenset(granted.get(holder, [])) & SHARED_PERMISSIONS


def _check(workflow: Workflow, group: Group | None, user: Any | None, actor: Any) -> Workflow:
    """Lock the workflow's row and check that ``actor`` may change access for this group or user."""
    if (group is None) == (user is None):
        raise ValueError("Name exactly one of a group or a user.")
    # One sharing change at a time per workflow, so an event's "before" is what was really there.
    locked = Workflow.objects.select_for_update().get(pk=workflow.pk)
    if not can_share(actor, locked):
        raise PermissionDenied(
            f"Only the owner or someone who operates {locked.name} can change who has access."
        )
    if user is not None and locked.owner_id is not None and user.pk == locked.owner_id:
        raise SharingError(
            f"{principal_name(user=user)} owns {locked.name} and always keeps full access, "
            "so someone can always manage it."
        )
    return locked


def _subject(group: Group | None, user: Any) -> dict[str, Any]:
    if group is not None:
        return {"group": group.name, "group_id": group.pk}
    return {"user": user.get_username(), "user_id": user.pk}


@transaction.atomic
def share_workflow(
    workflow: Workflow,
    *,
    group: Group | None = None,
    user: Any | None = None,
    role: Role | str,
    actor: AbstractBaseUser,
) -> Access:
    """Give ``group`` or ``user`` exactly ``role`` on ``workflow`` (a grant, an upgrade or a downgrade).

    Raises PermissionDenied unless ``actor`` may share (``can_share``) and SharingError
    for the owner or an unknown role. Takes a row lock on the workflow.
    """
    if role not in Role.values:
        raise SharingError(f"There is no role {role!r}.")
    role = Role(role)
    locked = _check(workflow, group, user, actor)
    holder = group if group is not None else user
    before = _current(locked, group, user)
    wanted = ROLE_PERMISSIONS[role]
    for perm in sorted(wanted - before):
        assign_perm(f"orchestration.{perm}", holder, locked)
    for perm in sorted(before - wanted):
        remove_perm(f"orchestration.{perm}", holder, locked)
    access = Access(group=group, user=user, perms=wanted)
    if before != wanted:
        previous = Access(group=group, user=user, perms=before)
        workflow_event(
            locked,
            "workflow.shared",
            f"{access.name} can now {role.verb} {locked.name}",
            actor,
            role=role.value,
            previous=(previous.role or "custom") if before else None,
            **_subject(group, user),
        )
    return access


@transaction.atomic
def unshare_workflow(
    workflow: Workflow, *, group: Group | None = None, user: Any | None = None, actor: AbstractBaseUser
) -> bool:
    """Take away every sharing permission ``group`` or ``user`` holds directly on ``workflow``.

    Returns whether they had any. People keep what they hold through a group. Raises
    PermissionDenied unless ``actor`` may share and SharingError for the owner. Takes a
    row lock on the workflow.
    """
    locked = _check(workflow, group, user, actor)
    holder = group if group is not None else user
    before = _current(locked, group, user)
    for perm in sorted(before):
        remove_perm(f"orchestration.{perm}", holder, locked)
    if before:
        previous = Access(group=group, user=user, perms=before)
        workflow_event(
            locked,
            "workflow.unshared",
            f"{previous.name} no longer has access to {locked.name}",
            actor,
            previous=previous.role or "custom",
            **_subject(group, user),
        )
    return bool(before)


# --- who may start requests: the question publishing asks --------------------------------------

# Guardian has no "every signed-in person": a group every active person belongs to stands for it,
# so the catalog, the API and the designer need no second access rule.
EVERYONE = "Everyone"


def everyone_group() -> Group:
    """The group of every active person, made (and filled) the first time someone shares with everyone.

    People created afterwards join it through ``join_everyone`` (a post_save receiver).
    """
    group, _ = Group.objects.get_or_create(name=EVERYONE)
    people = get_user_model().objects.filter(is_active=True).exclude(groups=group)
    group.user_set.add(*people)
    return group


def join_everyone(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """A new person joins the Everyone group once it exists (one query while it does not)."""
    if not created:
        return
    group = Group.objects.filter(name=EVERYONE).first()
    if group is not None:
        instance.groups.add(group)


@dataclass(frozen=True)
class Requesters:
    """Who may start a workflow's requests through sharing made on the workflow itself.

    ``everyone`` is the Everyone group; ``groups`` and ``people`` the others, by name.
    ``kept`` are those who can start it through a higher role (design, publish, operate):
    publishing neither adds nor takes theirs.
    """

    everyone: bool
    groups: tuple[Group, ...]
    people: tuple[Any, ...]
    kept: tuple[Access, ...]

    @property
    def anyone(self) -> bool:
        """Whether anybody but the owner can start it."""
        return self.everyone or bool(self.groups or self.people or self.kept)

    def where(self, workflow: Workflow) -> str:
        """Who now finds the workflow under New request, in one plain sentence ('' when nobody does).

        Those with a higher role are named only when nobody was given Can request: they are its team.
        """
        if self.everyone:
            return f"Everyone who signs in now sees {workflow.name} under New request"
        groups = [group.name for group in self.groups]
        people = [principal_name(user=user) for user in self.people]
        if not groups and not people:  # only the people who also design or run it
            groups = [access.name for access in self.kept if access.group is not None]
            people = [access.name for access in self.kept if access.user is not None]
        if not groups and not people:
            return ""
        who = ", and ".join(
            part
            for part in (f"members of {_and(groups)}" if groups else "", _and(people) if people else "")
            if part
        )
        verb = "sees" if not groups and len(people) == 1 else "see"
        return f"{who[0].upper()}{who[1:]} now {verb} {workflow.name} under New request"


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def requesters(workflow: Workflow) -> Requesters:
    """Who may start ``workflow`` now, as the publish dialog prefills it."""
    everyone = False
    groups: list[Group] = []
    people: list[Any] = []
    kept: list[Access] = []
    for access in access_list(workflow):
        if access.role is None and "start_workflow" not in access.perms:
            continue
        if access.role is not Role.REQUEST:
            kept.append(access)
        elif access.group is not None and access.group.name == EVERYONE:
            everyone = True
        elif access.group is not None:
            groups.append(access.group)
        else:
            people.append(access.user)
    return Requesters(everyone=everyone, groups=tuple(groups), people=tuple(people), kept=tuple(kept))


@transaction.atomic
def set_requesters(
    workflow: Workflow,
    *,
    everyone: bool,
    groups: Iterable[Group] = (),
    people: Iterable[Any] = (),
    actor: AbstractBaseUser,
) -> Requesters:
    """Make exactly ``everyone``/``groups``/``people`` able to start ``workflow`` (the Can request role).

    Those who had only Can request and are not named lose it; higher roles are left as they
    are. Each change is a sharing event (``share_workflow``/``unshare_workflow``). Raises
    SharingError when nobody but the owner could start it afterwards, PermissionDenied unless
    ``actor`` may share.
    """
    wanted_groups = {group.pk: group for group in groups}
    if everyone:
        group = everyone_group()
        wanted_groups = {group.pk: group}  # everyone includes every group
    wanted_people = {user.pk: user for user in people if user.pk != workflow.owner_id}
    before = requesters(workflow)
    higher = {(a.group.pk if a.group else None, a.user.pk if a.user else None) for a in before.kept}
    if not (wanted_groups or wanted_people or before.kept):
        raise SharingError(
            f"Nobody but {principal_name(user=workflow.owner) if workflow.owner else 'you'} could start "
            f"{workflow.name}: choose everyone, a group or a person."
        )
    had_groups = [*before.groups, *([everyone_group()] if before.everyone else [])]
    for group in had_groups:
        if group.pk not in wanted_groups:
            unshare_workflow(workflow, group=group, actor=actor)
    for user in before.people:
        if user.pk not in wanted_people:
            unshare_workflow(workflow, user=user, actor=actor)
    for group in wanted_groups.values():
        if (group.pk, None) not in higher:
            share_workflow(workflow, group=group, role=Role.REQUEST, actor=actor)
    for user in wanted_people.values():
        if (None, user.pk) not in higher:
            share_workflow(workflow, user=user, role=Role.REQUEST, actor=actor)
    return requesters(workflow)


def granters(workflow: Workflow) -> list[str]:
    """Who can share ``workflow`` with someone, by name: its owner, then its operators (people, groups).

    Superusers can too; the refusal page adds "an administrator". Only for people who may see
    the workflow: the names say it exists.
    """
    names = [f"{principal_name(user=workflow.owner)} (its owner)"] if workflow.owner is not None else []
    for access in access_list(workflow):
        if "change_workflow" not in access.perms:
            continue
        names.append(f"anyone in {access.name}" if access.group is not None else access.name)
    return names
