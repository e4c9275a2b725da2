"""Pages of the operations console (``/operations/``): thin views over access rules, queries and actions.

Seeing asks :mod:`orchestration.access` (an instance a person cannot see: 404; one they see
but do not operate: 403); every fix calls an engine action, which checks again under the
instance lock (``authorize``) and writes the event with who and why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from designer.live import instance_path
from orchestration.access import access_operated_instance, can_operate
from orchestration.bpmn.parse import descriptor
from orchestration.connectors import ai
from orchestration.engine import (
    InvalidState,
    StartDataError,
    cancel_instance,
    move_token,
    retry_incident,
    skip_incident,
)
from orchestration.engine.graphs import graph_for
from orchestration.engine.human import provider
from orchestration.errors import explains
from orchestration.models import Incident, ProcessInstance, Step
from orchestration.ops import instances as rows
from orchestration.ops.forms import (
    CancelForm,
    FixDataForm,
    InstanceFilter,
    MoveForm,
    SkipForm,
    ValuesForm,
    without,
)
from orchestration.step_names import step_titles

PAGE_SIZE = 25


def _known_count(filters: InstanceFilter, counts: dict[str, int | None]) -> int | None:
    """How many the list holds, when the status tabs' counts already say it (status and attention alone differ).

    None when they do not, or when that tab was not counted in its time.
    """
    if not filters.is_bound:
        return counts["all"]
    chosen = filters.form.cleaned_data
    status, attention = chosen.get("status") or "", chosen.get("has_incident")
    if attention is None:
        return counts[status] if status else counts["all"]
    if attention is True and status == "running":
        return counts["attention"]
    return None


def _requested_page(request: HttpRequest) -> int:
    """The page number asked for (1 when missing or not a number: the paginator says the same)."""
    try:
        return max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        return 1


def _paginator(
    request: HttpRequest, instances: QuerySet[ProcessInstance], known: int | None, *, counted: bool = True
) -> tuple[Paginator[ProcessInstance], int | None]:
    """The list's pages, and the count past which it only says "more" (None: the count is exact).

    The count stops at the tabs' cap or at the page asked for, whichever is further: a deep
    page pays for its own depth (its OFFSET reads as far), never for the whole table. When
    not even the tabs' count of all of them finished in its time (``counted`` false), it goes
    no further than the page asked for and one request past it ("more" when there is one).
    """
    paginator = Paginator(rows.listed(instances), PAGE_SIZE)
    if not counted:
        shown = (_requested_page(request) - 1) * PAGE_SIZE
        paginator.count = shown + instances.order_by()[shown : shown + PAGE_SIZE + 1].count()
        return paginator, (shown + PAGE_SIZE if paginator.count > shown + PAGE_SIZE else None)
    limit = max(rows.COUNT_CAP, (_requested_page(request) + 1) * PAGE_SIZE)
    if known is not None and (known <= rows.COUNT_CAP or limit == rows.COUNT_CAP):
        paginator.count = known  # already counted (as far) with the tabs: no second count
    else:
        paginator.count = rows.capped_count(instances, limit)
    return paginator, (limit if paginator.count > limit else None)


@explains("the operations console, where the people who run workflows follow and fix requests")
@login_required
@require_GET
def instance_list(request: HttpRequest) -> HttpResponse:
    """Every request of the workflows the person operates: filters, sort, counts per status, pages."""
    workflows, base = rows.operated_by_id(request.user)  # type: ignore[arg-type]
    if not workflows:
        raise PermissionDenied("The operations console is for the people who run workflows.")
    filters = InstanceFilter(request.GET or None, queryset=base, request=request)
    valid = filters.is_valid() if filters.is_bound else True
    instances = filters.qs if valid else base.none()
    # The status tabs count what the other filters leave, whatever status is chosen.
    others = InstanceFilter(without(request.GET, "status") or None, queryset=base, request=request)
    counts = rows.capped_status_counts(others.qs if valid else base.none())
    paginator, more_than = _paginator(
        request, instances, _known_count(filters, counts) if valid else 0, counted=counts["all"] is not None
    )
    page = paginator.get_page(request.GET.get("page"))
    query = without(request.GET, "page")
    return render(
        request,
        "ops/instance_list.html",
        {
            "filters": filters,
            "counts": counts,
            "count_words": {name: rows.count_words(count) for name, count in counts.items()},
            "more_than": f"{more_than:,}" if more_than else "",
            "status": request.GET.get("status", ""),
            "attention": request.GET.get("has_incident", ""),
            "page": page,
            "rows": [(instance, rows.waiting_at(instance)) for instance in page],
            "query": query.urlencode(),
            "tab_query": without(without(query, "status"), "has_incident").urlencode(),
            "move_query": without(without(query, "status"), "sort").urlencode(),
        },
        status=200 if valid else 400,
    )


# --- one request ---------------------------------------------------------------------------


def _data_form(items: list[rows.DataItem], incident: Incident, data: Any = None) -> FixDataForm:
    return FixDataForm(
        data,
        items=[(i.name, i.label, i.type, i.kind, i.text, i.from_start) for i in items],
        auto_id=f"retry-{incident.id}-%s",
    )


def _skip_form(instance: ProcessInstance, graph: Any, incident: Incident, data: Any = None) -> SkipForm:
    step = incident.step
    declared = graph.get("variables", {})
    names = rows.produced_by(graph["nodes"][step.node_id])
    items = [
        (
            name,
            name.replace("_", " ").capitalize(),
            rows.TYPE_WORDS.get(declared.get(name, "dyn"), "Any"),
            declared.get(name, "dyn"),
            "",
            True,
        )
        for name in names
    ]
    return SkipForm(
        data,
        items=items,
        choices=ai.answer_choices(graph["nodes"][step.node_id]),
        auto_id=f"skip-{incident.id}-%s",
    )


def _move_form(instance: ProcessInstance, graph: Any, open_steps: list[Step], data: Any = None) -> MoveForm:
    # Open steps hold the Groups and For each steps they run inside (open too): titles tell items apart.
    titles = step_titles(open_steps)
    steps = [(s.id, f"{titles.get(s.pk, s.node_id)} ({rows.waiting(s).what.lower()})") for s in open_steps]
    return MoveForm(data, steps=steps, targets=[("", "Choose a step…"), *rows.move_targets(graph)])


def _detail(
    request: HttpRequest, instance: ProcessInstance, *, status: int = 200, **bound: Any
) -> HttpResponse:
    """The instance page; ``bound`` holds a submitted form with errors (shown instead of a blank one)."""
    graph = graph_for(instance.version_id, instance.version.checksum)
    items = rows.data_items(instance, graph)
    steps = rows.step_rows(instance, provider().describe)
    open_steps = [row.step for row in steps if row.step.is_open]
    incidents = list(
        Incident.objects.filter(instance=instance, resolved_at__isnull=True)
        .select_related("step")
        .order_by("created_at")
    )
    fixes = [
        {
            "incident": incident,
            "retry": bound.get("retry")
            if bound.get("incident_id") == incident.id
            else _data_form(items, incident),
            "skip": bound.get("skip")
            if bound.get("incident_id") == incident.id
            else _skip_form(instance, graph, incident),
        }
        for incident in incidents
    ]
    parent, children = rows.family(instance)
    running = instance.status == ProcessInstance.Status.RUNNING
    config = {
        "mode": "live",
        "workflow": instance.workflow.key,
        "name": instance.workflow.name,
        "live": {"counts": {}, "running": 0, "instance": instance_path(instance)},
        "urls": {"data": reverse("ops:path", args=[instance.id])},
    }
    return render(
        request,
        "ops/instance_detail.html",
        {
            "instance": instance,
            "items": items,
            "steps": steps,
            "fixes": fixes,
            "parent": parent,
            "children": children,
            "attachments": list(instance.attachments.select_related("uploaded_by")),
            "remove_with_reason": can_operate(request.user, instance),  # type: ignore[arg-type]
            "events": rows.history(instance),
            "running": running,
            "cancel_form": bound.get("cancel") or CancelForm(),
            "move_form": bound.get("move")
            or (_move_form(instance, graph, open_steps) if running and open_steps else None),
            "config": config,
            "bpmn_xml": instance.version.bpmn_xml,
            "descriptor": descriptor(),
        },
        status=status,
    )


@explains("a request in the operations console, where the people who run {workflow} follow and fix it")
@login_required
@require_GET
def instance_detail(request: HttpRequest, instance_id: Any) -> HttpResponse:
    """One request as its operators see it: diagram, data, steps, open tasks, family, history, fixes."""
    return _detail(request, access_operated_instance(request.user, instance_id))  # type: ignore[arg-type]


@login_required
@require_GET
def instance_path_data(request: HttpRequest, instance_id: Any) -> JsonResponse:
    """The diagram's overlay for one request, polled by the page."""
    instance = access_operated_instance(request.user, instance_id)  # type: ignore[arg-type]
    return JsonResponse({"counts": {}, "running": 0, "instance": instance_path(instance)})


def _authorize(request: HttpRequest) -> Callable[[ProcessInstance], bool]:
    user = request.user
    return lambda instance: can_operate(user, instance)  # type: ignore[arg-type]


def _done(request: HttpRequest, instance: ProcessInstance, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect("ops:instance", instance_id=instance.id)


def _incident_of(instance: ProcessInstance, incident_id: int) -> Incident:
    incident = Incident.objects.select_related("step").filter(id=incident_id, instance=instance).first()
    if incident is None:
        raise Http404("No such incident on this request.")
    return incident


def _fix_incident(
    request: HttpRequest,
    instance_id: Any,
    incident_id: int,
    kind: str,
    form_for: Callable[[ProcessInstance, Any, Incident], ValuesForm],
    operation: Callable[..., Any],
    said: Callable[[str, dict[str, Any]], str],
) -> HttpResponse:
    """Retry or skip an incident with the values of a submitted form; its errors re-show the page (400)."""
    instance = access_operated_instance(request.user, instance_id)  # type: ignore[arg-type]
    incident = _incident_of(instance, incident_id)
    graph = graph_for(instance.version_id, instance.version.checksum)
    form = form_for(instance, graph, incident)
    values = form.values() if form.is_valid() else {}
    if form.is_valid():
        try:
            operation(
                incident.id,
                actor=request.user,
                variables=values or None,
                reason=form.cleaned_data["reason"],
                authorize=_authorize(request),
            )
        except StartDataError as exc:
            form.engine_errors(exc.errors)
        except InvalidState as exc:
            messages.warning(request, str(exc))
            return redirect("ops:instance", instance_id=instance.id)
        else:
            return _done(request, instance, said(incident.step.node_name or incident.step.node_id, values))
    return _detail(request, instance, status=400, incident_id=incident.id, **{kind: form})


def _corrected(step: str, values: dict[str, Any]) -> str:
    fixed = f" with {len(values)} corrected value{'s' if len(values) != 1 else ''}" if values else ""
    return f"{step} is running again{fixed}."


@login_required
@require_POST
def retry(request: HttpRequest, instance_id: Any, incident_id: int) -> HttpResponse:
    """Run the failed step again, after the data corrections the operator made (if any)."""

    def form_for(instance: ProcessInstance, graph: Any, incident: Incident) -> FixDataForm:
        return _data_form(rows.data_items(instance, graph), incident, request.POST)

    return _fix_incident(request, instance_id, incident_id, "retry", form_for, retry_incident, _corrected)


@login_required
@require_POST
def skip(request: HttpRequest, instance_id: Any, incident_id: int) -> HttpResponse:
    """Treat the failed step as done, with the values the operator gave for what it should have produced."""

    def form_for(instance: ProcessInstance, graph: Any, incident: Incident) -> ValuesForm:
        return _skip_form(instance, graph, incident, request.POST)

    return _fix_incident(
        request,
        instance_id,
        incident_id,
        "skip",
        form_for,
        skip_incident,
        lambda step, values: f"{step} was skipped; the request moved on.",
    )


@login_required
@require_POST
def cancel(request: HttpRequest, instance_id: Any) -> HttpResponse:
    """Stop the request; its requester is told why."""
    instance = access_operated_instance(request.user, instance_id)  # type: ignore[arg-type]
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _detail(request, instance, status=400, cancel=form)
    try:
        cancel_instance(
            instance.id, actor=request.user, reason=form.cleaned_data["reason"], authorize=_authorize(request)
        )
    except InvalidState as exc:
        messages.warning(request, str(exc))
        return redirect("ops:instance", instance_id=instance.id)
    told = (
        " Its requester is told why."
        if instance.initiator_id and instance.initiator_id != request.user.pk
        else ""
    )
    return _done(request, instance, f"The request was cancelled.{told}")


@login_required
@require_POST
def move(request: HttpRequest, instance_id: Any) -> HttpResponse:
    """Stop an open step and continue the request at another block."""
    instance = access_operated_instance(request.user, instance_id)  # type: ignore[arg-type]
    graph = graph_for(instance.version_id, instance.version.checksum)
    open_steps = list(instance.steps.filter(status__in=Step.OPEN_STATUSES).order_by("created_at"))
    form = _move_form(instance, graph, open_steps, request.POST)
    if not form.is_valid():
        return _detail(request, instance, status=400, move=form)
    try:
        move_token(
            instance.id,
            form.cleaned_data["step"],
            form.cleaned_data["target"],
            actor=request.user,
            reason=form.cleaned_data["reason"],
            authorize=_authorize(request),
        )
    except InvalidState as exc:
        messages.warning(request, str(exc))
        return redirect("ops:instance", instance_id=instance.id)
    target = graph["nodes"][form.cleaned_data["target"]]
    return _done(request, instance, f"The request continues at {target['name'] or target['id']}.")
