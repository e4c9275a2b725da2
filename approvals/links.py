"""Signed one-click links in approval emails: approve, reject or open one task, for one person.

A token carries (task id, user id, action, the task's ``lock_version``), signed
with the secret key, a salt of its own and a timestamp. It expires after
``BATON_LINK_MAX_AGE_SECONDS`` (7 days by default). It is not a login: the page
it opens needs the same user signed in, and it only *offers* the action; the
decision is a POST through :func:`approvals.actions.complete_task`.

Single use comes from the version, not from a used-token table: deciding bumps
``lock_version`` and a task never reopens, so once acted on, every link to that
task is dead. Consuming tokens on GET instead would let mail scanners that
prefetch links burn them, and would burn a reject link whose comment form was
abandoned; an open link acts on nothing, so there is nothing to consume.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

from django.conf import settings
from django.core import signing
from django.urls import reverse

__all__ = [
    "ACTIONS",
    "Action",
    "LinkClaim",
    "LinkExpired",
    "LinkInvalid",
    "link_url",
    "make_token",
    "max_age",
    "read_token",
]

Action = Literal["approve", "reject", "open"]
ACTIONS: tuple[Action, ...] = ("approve", "reject", "open")
DEFAULT_MAX_AGE_SECONDS = 7 * 24 * 3600

_SALT = "baton.approvals.task-link"


class LinkInvalid(Exception):
    """The token was altered, truncated or made with another key: it says nothing trustworthy."""


class LinkExpired(Exception):
    """The token is genuine but older than ``BATON_LINK_MAX_AGE_SECONDS``."""


@dataclass(frozen=True)
class LinkClaim:
    """What a genuine, unexpired token says: who may do what to which version of a task."""

    task_id: int
    user_id: int
    action: Action
    version: int


def max_age() -> int:
    """How long a link stays valid, in seconds."""
    return int(getattr(settings, "BATON_LINK_MAX_AGE_SECONDS", DEFAULT_MAX_AGE_SECONDS))


def make_token(task: Any, user: Any, action: Action) -> str:
    """A URL-safe token for ``user`` to ``action`` ``task`` as it is now (its current ``lock_version``)."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown link action {action!r}.")
    payload = {"t": task.pk, "u": user.pk, "a": action, "v": task.lock_version}
    return signing.dumps(payload, salt=_SALT, compress=True)


def read_token(token: str) -> LinkClaim:
    """Check the signature and age of ``token`` and return its claim.

    Raises :class:`LinkExpired` for a genuine token past its age and
    :class:`LinkInvalid` for anything else that does not verify.
    """
    try:
        payload = signing.loads(token, salt=_SALT, max_age=max_age())
    except signing.SignatureExpired:
        raise LinkExpired from None
    except (signing.BadSignature, ValueError):
        raise LinkInvalid from None
    try:
        action = payload["a"]
        if action not in ACTIONS:
            raise LinkInvalid
        return LinkClaim(int(payload["t"]), int(payload["u"]), cast(Action, action), int(payload["v"]))
    except (KeyError, TypeError, ValueError):
        raise LinkInvalid from None


def link_url(task: Any, user: Any, action: Action) -> str:
    """The absolute link an email carries (``BATON_BASE_URL`` names the site, as emails have no request)."""
    base = str(settings.BATON_BASE_URL).rstrip("/")
    return base + reverse("approvals:task-link", args=[make_token(task, user, action)])
