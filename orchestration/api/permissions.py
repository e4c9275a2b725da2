"""DRF's side of the access rules in :mod:`orchestration.access`: the permission classes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class WorkflowPermission(BasePermission):
    """Creating a workflow needs the global ``add_workflow`` permission.

    Actions on one workflow are checked by the view's ``get_object`` through
    :func:`orchestration.access.access_workflow` (not visible: 404; visible but
    not allowed: 403 naming the permission).
    """

    message = "You may not create workflows."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if getattr(view, "action", None) == "create":
            return bool(request.user.has_perm("orchestration.add_workflow"))
        return True
