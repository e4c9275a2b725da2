"""Open incidents grouped by workflow, block and error, fixed a group at a time, and operators told.

A **group** is the open incidents of one workflow whose step is the same block and
whose error reads the same. An operator retries or skips a whole group: each
instance is fixed by the engine's own action (``retry_incident`` / ``skip_incident``)
in its own transaction under its own lock, with an event saying who and why; one
that cannot be fixed (fixed by someone else meanwhile, a block that cannot be
skipped) is reported, not fatal.

When a group appears (an incident raised while no other incident of its group is
open), the workflow's operators (the operate right) get one email, sent through the
engine's outbox like approval emails: :func:`queue_notice` is called by the engine
inside the transaction that raises the incident, :func:`tell_operators` runs in a
worker. The requester's page says "the operators have been told": this makes it so.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Count, Max, Min, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from guardian.shortcuts import get_users_with_perms

from orchestration.access import access_workflow, operated_incidents
from orchestration.definitions import workflow_event
from orchestration.engine import InvalidState, retry_incident, skip_incident
from orchestration.engine.dispatch import queue_task
from orchestration.models import Event, Incident, Workflow
from orchestration.request_numbers import format_number

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

__all__ = [
    "BULK_LIMIT",
    "TELL_OPERATORS",
    "BulkResult",
    "Fix",
    "IncidentGroup",
    "StoppedRequest",
    "error_digest",
    "error_of_group",
    "fix_group",
    "group_incidents",
    "incident_groups",
    "operators_of",
    "queue_notice",
    "tell_operators",
]

# The Celery task (orchestration.tasks) the outbox runs to email the operators.
TELL_OPERATORS = "orchestration.tell_operators"
# The event recording that a group's operators were emailed.
TOLD = "incidents.operators_told"
# Instances fixed per bulk action: a larger group is fixed in several clicks, each a bounded request.
BULK_LIMIT = 200
# Requests listed per group on the page (the count covers them all), from at most this many incidents.
LISTED_REQUESTS = 10
LISTED_REQUESTS_SCAN = 2000

Fix = Literal["retry", "skip"]
_ACTIONS = {"retry": retry_incident, "skip": skip_incident}


@dataclass(frozen=True)
class StoppedRequest:
    """One request a group holds, as the page lists it."""

    id: Any
    business_key: str
    started_at: datetime
    initiator: str
    request_number: int | None = None

    @property
    def number(self) -> str:
        """The request number, with the business key when it has one."""
        reference = format_number(self.request_number, self.started_at) or str(self.id)[:8]
        return f"{reference} ({self.business_key})" if self.business_key else reference


@dataclass(frozen=True)
class IncidentGroup:
    """Open incidents of one workflow at one block with one error (``requests``: the oldest few)."""

    workflow_key: str
    workflow_name: str
    node_id: str
    node_name: str
    error: str
    count: int
    first_seen: datetime
    last_seen: datetime
    requests: tuple[StoppedRequest, ...] = ()

    @property
    def block(self) -> str:
        return self.node_name or self.node_id

    @property
    def digest(self) -> str:
        """Names the group in a form: browsers rewrite line breaks in submitted text, so not the error itself."""
        return error_digest(self.error)


def error_digest(error: str) -> str:
    """A short fingerprint of an error text."""
    return hashlib.sha256(error.encode()).hexdigest()[:32]


def error_of_group(user: AbstractBaseUser, workflow: str, node_id: str, digest: str) -> str | None:
    """The error text of the open group ``digest`` names (None when that group is gone or not the user's)."""
    errors = group_incidents(user, workflow, node_id, error=None).values_list("error", flat=True).distinct()
    return next((error for error in errors if error_digest(error) == digest), None)


@dataclass
class BulkResult:
    """What a bulk fix did: incidents fixed, and those that could not be, with why."""

    action: Fix
    done: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    # The request (instance id) of each incident tried.
    instances: dict[int, Any] = field(default_factory=dict)
    # Retried inline and failed again at once with a new incident (the data still needs fixing).
    failed_again: list[int] = field(default_factory=list)
    left: int = 0

    @property
    def summary(self) -> str:
        verb = "Retried" if self.action == "retry" else "Skipped"
        parts = [f"{verb} {len(self.done)} of {len(self.done) + len(self.failed)}"]
        if self.failed_again:
            parts.append(f"{len(self.failed_again)} failed again at once")
        if self.failed:
            parts.append(f"{len(self.failed)} could not be {verb.lower()}")
        if self.left:
            parts.append(f"{self.left} more left in this group")
        return "; ".join(parts) + "."


def incident_groups(user: AbstractBaseUser, *, workflow: str = "") -> list[IncidentGroup]:
    """The open incidents ``user`` may fix, grouped, the group seen last first, each with its oldest requests.

    Two queries, however many groups.
    """
    incidents = operated_incidents(user).filter(resolved_at__isnull=True)
    if workflow:
        incidents = incidents.filter(instance__workflow__key=workflow)
    key = ("instance__workflow__key", "step__node_id", "error")
    rows = (
        incidents.values("instance__workflow__key", "instance__workflow__name", "step__node_id", "error")
        .annotate(
            count=Count("id"),
            first_seen=Min("created_at"),
            last_seen=Max("created_at"),
            node_name=Max("step__node_name"),
        )
        .order_by("-last_seen", "instance__workflow__key", "step__node_id")
    )
    listed: dict[tuple[str, str, str], list[StoppedRequest]] = {}
    oldest = incidents.order_by("created_at", "id").values(
        *key,
        "instance_id",
        "instance__number",
        "instance__business_key",
        "instance__started_at",
        "instance__initiator__username",
        "instance__initiator__first_name",
        "instance__initiator__last_name",
    )[:LISTED_REQUESTS_SCAN]
    for item in oldest:
        requests = listed.setdefault((item[key[0]], item[key[1]], item[key[2]]), [])
        if len(requests) < LISTED_REQUESTS:
            requests.append(
                StoppedRequest(
                    id=item["instance_id"],
                    request_number=item["instance__number"],
                    business_key=item["instance__business_key"],
                    started_at=item["instance__started_at"],
                    initiator=" ".join(
                        filter(
                            None,
                            [item["instance__initiator__first_name"], item["instance__initiator__last_name"]],
                        )
                    )
                    or item["instance__initiator__username"]
                    or "",
                )
            )
    return [
        IncidentGroup(
            workflow_key=row["instance__workflow__key"],
            workflow_name=row["instance__workflow__name"],
            node_id=row["step__node_id"],
            node_name=row["node_name"] or "",
            error=row["error"],
            count=row["count"],
            first_seen=row["first_seen"],
            last_seen=row["last_seen"],
            requests=tuple(
                listed.get((row["instance__workflow__key"], row["step__node_id"], row["error"]), ())
            ),
        )
        for row in rows
    ]


def group_incidents(
    user: AbstractBaseUser, workflow: str, node_id: str, error: str | None
) -> QuerySet[Incident]:
    """The open incidents of one group (every error at the block, with None) that ``user`` may fix."""
    incidents = operated_incidents(user).filter(
        resolved_at__isnull=True, instance__workflow__key=workflow, step__node_id=node_id
    )
    return incidents if error is None else incidents.filter(error=error)


def fix_group(
    user: AbstractBaseUser, workflow: str, node_id: str, error: str, action: Fix, *, reason: str
) -> BulkResult:
    """Retry or skip every open incident of a group (the oldest :data:`BULK_LIMIT` first).

    Http404 when ``user`` cannot see the workflow, PermissionDenied without the
    operate right. Each incident is fixed in its own transaction by the engine's
    action, which takes the instance lock and writes the event (who, and ``reason``).
    """
    access_workflow(user, workflow, "change_workflow")
    fix = _ACTIONS[action]
    pending = group_incidents(user, workflow, node_id, error).order_by("created_at", "id")
    tried = list(pending.values_list("id", "instance_id")[: BULK_LIMIT + 1])
    result = BulkResult(action=action)
    if len(tried) > BULK_LIMIT:
        tried = tried[:BULK_LIMIT]
        result.left = pending.count() - BULK_LIMIT
    result.instances = dict(tried)
    ids = [incident_id for incident_id, _ in tried]
    for incident_id in ids:
        try:
            instance = fix(incident_id, actor=user, reason=reason)
        except (InvalidState, ObjectDoesNotExist) as exc:
            result.failed.append((incident_id, str(exc) or "The incident is gone."))
            continue
        result.done.append(incident_id)
        if action == "retry" and instance.has_incident:
            # An inline step runs at once: with the same data it fails again, as a new incident.
            again = Incident.objects.filter(
                instance=instance, resolved_at__isnull=True, step__node_id=node_id
            ).exists()
            if again:
                result.failed_again.append(incident_id)
    return result


# --- telling the operators -------------------------------------------------------------


def queue_notice(incident: Incident) -> None:
    """Email the operators after commit if ``incident`` opens a group (no other of its group is open).

    Called by the engine inside the transaction that raised it (instance lock held).
    Two instances failing alike at the same moment may both queue a notice:
    :func:`tell_operators` sends only one.
    """
    others = _same_group(incident).filter(resolved_at__isnull=True).exclude(id=incident.id)
    if not others.exists():
        queue_task(TELL_OPERATORS, [incident.id])


def _same_group(incident: Incident) -> QuerySet[Incident]:
    return Incident.objects.filter(
        instance__workflow_id=incident.instance.workflow_id,
        step__node_id=incident.step.node_id,
        error=incident.error,
    )


def operators_of(workflow: Workflow) -> list[Any]:
    """Active people with the operate right on ``workflow`` (directly, through a group or globally) and an email."""
    users = get_user_model()
    email_field = users.get_email_field_name()
    on_object = get_users_with_perms(
        workflow, only_with_perms_in=["change_workflow"], with_group_users=True, with_superusers=False
    )
    globally = users._default_manager.filter(
        Q(
            user_permissions__codename="change_workflow",
            user_permissions__content_type__app_label="orchestration",
        )
        | Q(
            groups__permissions__codename="change_workflow",
            groups__permissions__content_type__app_label="orchestration",
        )
    )
    people = users._default_manager.filter(
        Q(pk__in=[getattr(user, "pk", None) for user in on_object]) | Q(pk__in=globally.values("pk")),
        is_active=True,
    ).exclude(**{email_field: ""})
    return list(people.order_by("pk"))


def tell_operators(incident_id: int) -> int:
    """Email the operators of the incident's workflow about its group, once; returns how many were emailed.

    Runs in a worker. The workflow row is locked while deciding, so two notices of
    one group decide in turn: nothing is sent when another incident of the group was
    already open when this one was raised, or the operators were told about one that
    was still open then. The email goes out inside the transaction: if sending fails,
    nothing is recorded and the outbox sends the notice again.
    """
    with transaction.atomic():
        incident = (
            Incident.objects.select_related("instance__workflow", "step").filter(id=incident_id).first()
        )
        if incident is None:
            return 0
        workflow = Workflow.objects.select_for_update().get(pk=incident.instance.workflow_id)
        # Incidents of the group still open when this one was raised.
        overlapping = (
            _same_group(incident)
            .exclude(id=incident.id)
            .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gt=incident.created_at))
        )
        earlier = Q(created_at__lt=incident.created_at) | Q(
            created_at=incident.created_at, id__lt=incident.id
        )
        if overlapping.filter(earlier).exists():
            return 0
        told = Event.objects.filter(
            workflow=workflow,
            kind=TOLD,
            data__incident__in=[incident.id, *overlapping.values_list("id", flat=True)],
        )
        if told.exists():
            return 0
        operators = operators_of(workflow)
        group = _group_of(incident)
        if operators:
            get_connection().send_messages([_message(group, incident, user) for user in operators])
        workflow_event(
            workflow,
            TOLD,
            f"{len(operators)} operator(s) told of a new problem at {group.block}",
            None,
            incident=incident.id,
            node_id=group.node_id,
            recipients=[user.get_username() for user in operators],
        )
        if not operators:
            logger.warning(
                "Nobody operates %s: no one was told of its incident %s", workflow.key, incident.id
            )
        return len(operators)


def _group_of(incident: Incident) -> IncidentGroup:
    open_ones = _same_group(incident).filter(resolved_at__isnull=True)
    seen = open_ones.aggregate(count=Count("id"), first=Min("created_at"), last=Max("created_at"))
    workflow = incident.instance.workflow
    return IncidentGroup(
        workflow_key=workflow.key,
        workflow_name=workflow.name,
        node_id=incident.step.node_id,
        node_name=incident.step.node_name,
        error=incident.error,
        count=seen["count"] or 1,
        first_seen=seen["first"] or incident.created_at,
        last_seen=seen["last"] or incident.created_at,
    )


def _message(group: IncidentGroup, incident: Incident, user: Any) -> EmailMultiAlternatives:
    path = f"{reverse('ops:incidents')}?workflow={group.workflow_key}"
    context = {
        "group": group,
        "recipient": user.get_full_name() or user.get_username(),
        "incidents_url": f"{str(settings.BATON_BASE_URL).rstrip('/')}{path}",
        "request_number": incident.instance.reference,
    }
    subject = " ".join(
        f"[{incident.instance.reference}] Problem in {group.workflow_name}: {group.block} failed".split()
    )
    message = EmailMultiAlternatives(
        subject=subject[:200],
        body=render_to_string("ops/email/incident_group.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[getattr(user, get_user_model().get_email_field_name())],
    )
    message.attach_alternative(render_to_string("ops/email/incident_group.html", context), "text/html")
    return message
