"""What Baton answers when a request fails before or outside a view: JSON for machines, a page for people.

Registered as Django's ``handler400/403/404/500`` in the project URLs. API and webhook
callers get ``{"detail": …}`` like every DRF error; people get a page in the product's frame.
A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is answered 413 (Django calls it a bad request).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

from orchestration.access import WorkflowPermissionDenied
from orchestration.sharing import granters, role_for

_MACHINE_PREFIXES = ("/api/", "/hooks/")

_View = TypeVar("_View", bound=Callable[..., Any])

_TEXTS = {
    400: ("Bad request", "The request could not be read."),
    403: ("Not allowed", "You do not have permission to do this."),
    404: ("Not found", "This page does not exist, or it has not been shared with you."),
    413: ("Too large", "The request is larger than Baton accepts."),
    429: ("Too many attempts", "Too many failed sign-ins."),
    500: ("Something went wrong", "Baton could not finish this request. The error has been logged."),
}


def _answer(request: HttpRequest, status: int, *, reason: str = "", context: bool = True) -> HttpResponse:
    title, detail = _TEXTS[status]
    detail = reason or detail
    if request.path.startswith(_MACHINE_PREFIXES):
        return JsonResponse({"detail": detail}, status=status)
    template = loader.get_template("error.html")
    # After a server error the request may be what failed: render without context processors.
    page = template.render({"status": status, "title": title, "detail": detail}, request if context else None)
    return HttpResponse(page, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """400, or 413 when the body was larger than the upload limit."""
    return _answer(request, 413 if isinstance(exception, RequestDataTooBig) else 400)


def explains(purpose: str) -> Callable[[_View], _View]:
    """Say in one sentence what a page is, for the refusal page of those who may not open it.

    ``{workflow}`` stands for the workflow's name. Put it above the view's other decorators.
    """

    def mark(view: _View) -> _View:
        view.page_purpose = purpose  # type: ignore[attr-defined]
        return view

    return mark


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """403: what the page is, why the person may not open it, and who can give them access.

    The workflow and its people are named only when the check says the person may see it
    (``WorkflowPermissionDenied``); any other refusal gives its reason and "an administrator".
    """
    reason = str(exception) if exception.args else ""
    if request.path.startswith(_MACHINE_PREFIXES):
        return _answer(request, 403, reason=reason)
    match = request.resolver_match
    purpose = getattr(match.func, "page_purpose", "") if match is not None else ""
    context: dict[str, Any] = {"status": 403, "title": "You cannot open this page", "detail": reason}
    if isinstance(exception, WorkflowPermissionDenied):
        workflow = exception.workflow
        roles = list(dict.fromkeys(str(role.label) for role in map(role_for, exception.perms) if role))
        context.update(
            workflow=workflow,
            purpose=purpose.format(workflow=workflow.name),
            detail=(
                f"{workflow.name} is shared with you, but not as "
                + " or ".join(f"“{role}”" for role in roles)
                + ", which this page needs."
            )
            if roles
            else reason,  # a permission no sharing role grants: the check's own words
            roles=roles,
            granters=granters(workflow),
        )
    else:
        context["purpose"] = purpose if "{" not in purpose else ""
    page = loader.render_to_string("403.html", context, request)
    return HttpResponse(page, status=403)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 (the exception's text is not shown: it may name what the person may not see)."""
    return _answer(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    """500, without running anything that may itself fail (no context processors)."""
    return _answer(request, 500, context=False)


def locked_out(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    """429 for a sign-in that django-axes locked out (``AXES_LOCKOUT_CALLABLE``): says for how long."""
    minutes = math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    reason = (
        f"Too many failed sign-ins for this username from your address: try again in {minutes} minutes, "
        "or ask an administrator to unlock it."
    )
    response = _answer(request, 429, reason=reason)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response
