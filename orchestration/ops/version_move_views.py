"""The "Move to a new version" page: pick running requests, a target version, a dry run, then apply.

The selection is read from the query string (workflow, version, target, any of the request
list's filters, and the requests ticked in the list as ``id``), so the list can link here with
what it shows or what was chosen in it. After a move the page redirects to itself (the result
waits in the session), so reloading it never moves again. The workflow needs
the operate right (404 when the person cannot see it, 403 when they see but do not operate
it); each request is moved by the engine's action, which asks again under its lock.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from orchestration.access import access_workflow, operated_instances, operated_workflows
from orchestration.models import Workflow
from orchestration.ops.forms import InstanceFilter
from orchestration.ops.version_moves import (
    Block,
    MoveRefused,
    move_requests,
    restored,
    selection,
    stored,
    target_versions,
    unmatched_blocks,
    version_counts,
)

# The request list's filters that may narrow a selection (workflow, version and status are set here).
NARROWING = ("q", "has_incident", "step", "initiator", "reference", "started_from", "started_to")
MAP_PREFIX = "map-"
# The requests ticked in the list, at most a page's worth of query string.
MAX_CHOSEN = 500
_RESULT = "ops_version_move_result"


class MoveForm(forms.Form):
    """Dry run or apply: the reason, and where each block the new version lacks continues."""

    reason = forms.CharField(
        label="Why",
        max_length=400,
        required=False,
        help_text="Kept in each request's history with your name.",
        widget=forms.TextInput(attrs={"placeholder": "e.g. The new approval rules apply to open requests"}),
    )
    action = forms.ChoiceField(choices=[("dry_run", "Dry run"), ("apply", "Move")])

    def __init__(self, *args: Any, blocks: list[Block], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.blocks = blocks
        for block in blocks:
            self.fields[MAP_PREFIX + block.node_id] = forms.ChoiceField(
                label=f"“{block.name}” continues at",
                required=False,
                choices=[("", "Nowhere: leave these requests where they are"), *block.choices],
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "apply" and not data.get("reason"):
            self.add_error("reason", "Say why: it is kept in each request's history.")
        return data

    def mapping(self) -> dict[str, str]:
        return {
            block.node_id: self.cleaned_data[MAP_PREFIX + block.node_id]
            for block in self.blocks
            if self.cleaned_data.get(MAP_PREFIX + block.node_id)
        }

    def map_fields(self) -> list[forms.BoundField]:
        return [self[MAP_PREFIX + block.node_id] for block in self.blocks]


def _number(params: QueryDict, name: str, choices: list[int]) -> int | None:
    value = params.get(name, "")
    if not value:
        return choices[0] if choices else None
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"{name}: enter a version number.") from None
    return number if number in choices else None


def _narrowed(request: HttpRequest) -> tuple[InstanceFilter | None, dict[str, str]]:
    chosen = {name: request.GET[name] for name in NARROWING if request.GET.get(name)}
    if not chosen:
        return None, {}
    data = QueryDict(mutable=True)
    data.update(chosen)
    return InstanceFilter(data, queryset=operated_instances(request.user), request=request), chosen  # type: ignore[arg-type]


def _chosen(request: HttpRequest) -> list[str]:
    """The ids of the requests ticked in the list (``id``, repeated); BadRequest names a malformed one."""
    values = request.GET.getlist("id")
    if len(values) > MAX_CHOSEN:
        raise BadRequest(f"id: choose at most {MAX_CHOSEN} requests at a time.")
    try:
        return [str(uuid.UUID(value)) for value in values]
    except ValueError:
        raise BadRequest("id: a chosen request is not a request id.") from None


def _chosen_workflow(request: HttpRequest, ids: list[str]) -> tuple[str, int | None]:
    """The workflow key (and version number, when one) of the running requests ``ids``, among those operated.

    404 when the person runs none of them; ``MoveRefused`` when they belong to several workflows.
    """
    running = (
        operated_instances(request.user)  # type: ignore[arg-type]
        .filter(pk__in=ids, status="running")
        .values_list("workflow__key", "version__number")
        .distinct()
        .order_by("workflow__key", "version__number")
    )
    found = list(running)
    keys = {key for key, _ in found}
    if not keys:
        raise Http404("None of the chosen requests is a running request you run.")
    if len(keys) > 1:
        raise MoveRefused(
            "id", "The ticked requests belong to several workflows: move one workflow at a time."
        )
    return found[0][0], (found[0][1] if len(found) == 1 else None)


@login_required
@require_http_methods(["GET", "POST"])
def move_to_version(request: HttpRequest) -> HttpResponse:
    """Choose the requests and the target; POST runs a dry run or moves them (then back here by GET)."""
    ids = _chosen(request)
    key = request.GET.get("workflow", "")
    version_hint, problem = None, ""
    if ids and not key:
        try:
            key, version_hint = _chosen_workflow(request, ids)
        except MoveRefused as exc:
            problem = exc.message
    # A workflow named: 404 when the person cannot see it, 403 when they see but do not operate it.
    workflow: Workflow | None = access_workflow(request.user, key, "change_workflow") if key else None  # type: ignore[arg-type]
    workflows = operated_workflows(request.user).order_by("name")  # type: ignore[arg-type]
    if not workflows.exists():
        raise PermissionDenied("The operations console is for the people who run workflows.")
    context: dict[str, Any] = {
        "workflows": list(workflows.values_list("key", "name")),
        "section": "moves",
        "problem": problem,
    }
    if workflow is None:
        return render(request, "ops/move_version.html", context, status=400 if problem else 200)
    counts = version_counts(workflow)
    targets = [int(n) for n in target_versions(workflow).values_list("number", flat=True) if n is not None]
    numbers = [number for number, _ in counts]
    version = _number(request.GET, "version", numbers)
    if version_hint in numbers and not request.GET.get("version"):
        version = version_hint
    target = _number(request.GET, "target", targets)
    filters, narrowing = _narrowed(request)
    if filters is not None and not filters.is_valid():
        context.update(workflow=workflow, counts=counts, targets=targets, filter_errors=filters.form.errors)
        return render(request, "ops/move_version.html", context, status=400)
    context.update(
        workflow=workflow,
        counts=counts,
        targets=targets,
        version=version,
        target=target,
        narrowing=narrowing,
        chosen=ids,
        result=restored(request.session.pop(_RESULT)) if _RESULT in request.session else None,
    )
    if version is None or target is None or version == target:
        return render(request, "ops/move_version.html", context)
    narrowed = filters.qs if filters is not None else None
    if ids:
        narrowed = (narrowed if narrowed is not None else operated_instances(request.user)).filter(pk__in=ids)  # type: ignore[arg-type]
    instances = selection(workflow, version, narrowed)
    blocks = unmatched_blocks(instances, target_versions(workflow).get(number=target))
    form = MoveForm(request.POST if request.method == "POST" else None, blocks=blocks)
    context.update(form=form, selected=instances.count(), blocks=blocks)
    if request.method != "POST":
        return render(request, "ops/move_version.html", context)
    if not form.is_valid():
        return render(request, "ops/move_version.html", context, status=400)
    dry_run = form.cleaned_data["action"] == "dry_run"
    try:
        result = move_requests(
            request.user,  # type: ignore[arg-type]
            workflow.key,
            version,
            target,
            form.mapping(),
            reason=form.cleaned_data["reason"],
            dry_run=dry_run,
            narrowed=narrowed,
        )
    except MoveRefused as exc:
        form.add_error(None, exc.message)
        return render(request, "ops/move_version.html", context, status=400)
    if not dry_run:
        # Post/redirect/get: the result is shown once by the GET, and reloading that never moves again.
        request.session[_RESULT] = stored(result)
        return HttpResponseRedirect(request.get_full_path())
    context.update(result=result)
    return render(request, "ops/move_version.html", context)
