"""The incidents page: open problems grouped by workflow, step and error, fixed a group at a time."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from orchestration.access import access_workflow, operated_workflows
from orchestration.ops.incidents import BulkResult, error_of_group, fix_group, incident_groups


class GroupFixForm(forms.Form):
    """Retry or skip every open incident of one group, saying why."""

    workflow = forms.SlugField(max_length=100)
    node_id = forms.CharField(max_length=200)
    group = forms.RegexField(regex=r"^[0-9a-f]{32}$", help_text="The group's error_digest.")
    action = forms.ChoiceField(choices=[("retry", "Retry all"), ("skip", "Skip all")])
    reason = forms.CharField(
        max_length=400,
        label="Why",
        help_text="Kept in each request's history, with your name.",
    )


def _operated_or_404(request: HttpRequest) -> Any:
    workflows = operated_workflows(request.user)  # type: ignore[arg-type]
    if not workflows.exists():
        raise Http404("You operate no workflow.")
    return workflows


@login_required
@require_GET
def incident_list(request: HttpRequest) -> HttpResponse:
    """The open incident groups of the workflows the person operates (404 when they operate none)."""
    workflows = _operated_or_404(request)
    chosen = request.GET.get("workflow", "")
    groups = incident_groups(request.user, workflow=chosen)  # type: ignore[arg-type]
    context = {
        "groups": groups,
        "workflows": list(workflows.order_by("name").values_list("key", "name")),
        "chosen": chosen,
        "total": sum(group.count for group in groups),
    }
    return render(request, "ops/incidents.html", context)


@login_required
@require_POST
def incident_group_fix(request: HttpRequest) -> HttpResponse:
    """Retry or skip a group; 404 for a workflow the person cannot see, 403 without the operate right."""
    form = GroupFixForm(request.POST)
    if not form.is_valid():
        fields = ", ".join(sorted(form.errors))
        return HttpResponseBadRequest(f"Check these fields: {fields}.", content_type="text/plain")
    data = form.cleaned_data
    user = request.user
    access_workflow(user, data["workflow"], "change_workflow")  # type: ignore[arg-type]
    error = error_of_group(user, data["workflow"], data["node_id"], data["group"])  # type: ignore[arg-type]
    if error is None:
        messages.info(request, "Nothing to do: these problems were already dealt with.")
    else:
        result = fix_group(
            user,  # type: ignore[arg-type]
            data["workflow"],
            data["node_id"],
            error,
            data["action"],
            reason=data["reason"],
        )
        _tell(request, result)
    back = reverse("ops:incidents")
    if request.POST.get("from_workflow"):
        back += "?" + urlencode({"workflow": request.POST["from_workflow"]})
    return HttpResponseRedirect(back)


def _tell(request: HttpRequest, result: BulkResult) -> None:
    if not result.done and not result.failed:
        messages.info(request, "Nothing to do: these problems were already dealt with.")
        return
    level = messages.SUCCESS if not result.failed and not result.failed_again else messages.WARNING
    detail = "".join(
        f" Request {str(result.instances.get(incident, ''))[:8]}: {why}"
        for incident, why in result.failed[:5]
    )
    messages.add_message(request, level, result.summary + detail)
