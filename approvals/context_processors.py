"""What every page's frame needs: the main navigation with the inbox count."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from approvals.models import ApprovalTask
from orchestration.access import operated_workflows

DEMO_HINT = "Demo users: employee, manager, director, cfo, buyer, admin — password: baton"


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The navigation items for the signed-in user (one COUNT query), or the demo hint on sign-in."""
    user = request.user
    if not user.is_authenticated:
        return {"demo_hint": DEMO_HINT if settings.BATON_DEMO_SERVICES else ""}
    from approvals.access import tasks_for  # the actions module imports the engine; keep startup light

    path = request.path
    open_tasks = tasks_for(user).filter(status=ApprovalTask.Status.OPEN).count()  # the inbox's two tabs
    items: list[dict[str, Any]] = [
        {"key": "inbox", "label": "Inbox", "icon": "bi-inbox", "url": "/inbox/", "count": open_tasks},
        {"key": "catalog", "label": "New request", "icon": "bi-plus-circle", "url": "/requests/new/"},
        {"key": "requests", "label": "My requests", "icon": "bi-card-checklist", "url": "/requests/"},
    ]
    if operated_workflows(user).exists():
        items.append(
            {"key": "operations", "label": "Operations", "icon": "bi-activity", "url": "/operations/"}
        )
    if user.is_staff or user.has_perm("orchestration.add_workflow"):
        items.append({"key": "designer", "label": "Designer", "icon": "bi-diagram-3", "url": "/designer/"})
    # The longest matching prefix wins, so /requests/new/ is "New request", not "My requests".
    matches = [item for item in items if path.startswith(item["url"])]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["active"] = True
    return {"nav": {"items": items}}
