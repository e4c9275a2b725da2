"""How pages name a person: ``{{ task.requester|person:"the system" }}``.

Built in to every template (settings ``TEMPLATES`` → ``builtins``). A filter rather than
``|default:x.username``, because Django resolves a filter's argument eagerly and a
missing person (a request started by a webhook, a schedule or a message) would raise.
"""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def person(user: Any, fallback: str = "") -> str:
    """Full name, else username; ``fallback`` when there is no one."""
    if user is None or not hasattr(user, "get_username"):
        return fallback
    return str(user.get_full_name() or user.get_username())
