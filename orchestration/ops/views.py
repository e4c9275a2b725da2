"""Pages of the operations console (``/operations/``): thin views over access rules, queries and actions.

Seeing asks :mod:`orchestration.access` (an instance a person cannot see: 404; one they see
but do not operate: 403); every fix calls an engine action, which checks again under the
instance lock and writes the event.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from orchestration.access import access_operated_instance, operated_instances, operated_workflows
from orchestration.ops import instances as rows
from orchestration.ops.forms import InstanceFilter, without

PAGE_SIZE = 25


def _operator(request: HttpRequest) -> Any:
    """The signed-in user, if they operate at least one workflow (the console is theirs); else 403."""
    user = request.user
    if not operated_workflows(user).exists():  # type: ignore[arg-type]
        raise PermissionDenied("The operations console is for the people who run workflows.")
    return user


@login_required
@require_GET
def instance_list(request: HttpRequest) -> HttpResponse:
    """Every request of the workflows the person operates: filters, sort, counts per status, pages."""
    user = _operator(request)
    base = operated_instances(user)
    filters = InstanceFilter(request.GET or None, queryset=base, request=request)
    valid = filters.is_valid() if filters.is_bound else True
    instances = filters.qs if valid else base.none()
    # The status tabs count what the other filters leave, whatever status is chosen.
    others = InstanceFilter(without(request.GET, "status") or None, queryset=base, request=request)
    counts = rows.status_counts(others.qs if valid else base.none())
    page = Paginator(rows.listed(instances), PAGE_SIZE).get_page(request.GET.get("page"))
    query = without(request.GET, "page")
    return render(
        request,
        "ops/instance_list.html",
        {
            "filters": filters,
            "counts": counts,
            "status": request.GET.get("status", ""),
            "attention": request.GET.get("has_incident", ""),
            "page": page,
            "rows": [(instance, rows.waiting_at(instance)) for instance in page],
            "query": query.urlencode(),
            "tab_query": without(without(query, "status"), "has_incident").urlencode(),
        },
        status=200 if valid else 400,
    )


@login_required
@require_GET
def instance_detail(request: HttpRequest, instance_id: Any) -> HttpResponse:
    """One request as its operators see it."""
    instance = access_operated_instance(request.user, instance_id)  # type: ignore[arg-type]
    return render(request, "ops/instance_detail.html", {"instance": instance})
