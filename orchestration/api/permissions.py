"""DRF's side of the access rules in :mod:`orchestration.access`: the permission classes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rest_framework.permissions import BasePermission

from orchestration.access import has_workflow_perm

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class WorkflowPermission(BasePermission):
    """Checks the workflow permission the view names for its action (``action_perms``).

    Creating a workflow needs the global ``add_workflow`` permission. Object
    actions are checked after the object was found among the visible workflows,
    so a user who may view but not act gets 403, and anyone else 404.
    """

    message = "You do not have permission to do this on this workflow."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if getattr(view, "action", None) == "create":
            return bool(request.user.has_perm("orchestration.add_workflow"))
        return True

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        perms: dict[str, str] = getattr(view, "action_perms", {})
        perm = perms.get(getattr(view, "action", "") or "", "view_workflow")
        allowed = has_workflow_perm(request.user, perm, obj)
        if not allowed:
            self.message = f"You need the {perm.replace('_', ' ')} permission on {obj.key}."
        return allowed
