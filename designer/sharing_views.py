"""The sharing page of a workflow: who has access in which role, and changing it.

Anyone who may view the workflow sees the list; the owner, superusers and operators
change it through the actions in ``orchestration.sharing``. With htmx each change
answers the sharing card alone; without, a redirect back to the page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from orchestration.access import WorkflowPermissionDenied, access_workflow, has_workflow_perm
from orchestration.errors import explains
from orchestration.models import Workflow
from orchestration.sharing import (
    Role,
    SharingError,
    access_list,
    can_share,
    principal_name,
    share_workflow,
    unshare_workflow,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from approvals.views import AuthenticatedRequest

TEMPLATE = "designer/sharing.html"

# What each role lets people do, in the words of the page.
ROLE_HELP = {
    Role.REQUEST: "Find it under New request and start it; they see their own requests.",
    Role.DESIGN: "Also edit the draft in the designer.",
    Role.PUBLISH: "Also publish new versions.",
    Role.OPERATE: "Also see everyone's requests, cancel and retry them, and manage this sharing.",
}


class PrincipalForm(forms.Form):
    """A group (by id) or a person (by username, or by full name when only one person has it)."""

    group = forms.ModelChoiceField(queryset=Group.objects.all(), required=False)
    user = forms.CharField(required=False, max_length=150)

    def clean_user(self) -> Any:
        text = self.cleaned_data["user"].strip()
        if not text:
            return None
        people = get_user_model().objects.filter(is_active=True)
        match = people.filter(username=text).first() or people.filter(username__iexact=text).first()
        if match is None:
            first, _, last = text.partition(" ")
            named = list(people.filter(Q(first_name__iexact=first) & Q(last_name__iexact=last))[:2])
            match = named[0] if len(named) == 1 else None
        if match is None:
            raise ValidationError(f"Nobody is called “{text}”: pick a person from the list.")
        return match

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and (data.get("group") is None) == (data.get("user") is None):
            raise ValidationError("Pick a group or a person.")
        return data


class ShareForm(PrincipalForm):
    role = forms.ChoiceField(choices=Role.choices)


def _context(request: HttpRequest, workflow: Workflow) -> dict[str, Any]:
    entries = access_list(workflow)
    shared_groups = {entry.group.pk for entry in entries if entry.group is not None}
    shared_users = {entry.user.pk for entry in entries if entry.user is not None}
    people = (
        get_user_model()
        .objects.filter(is_active=True)
        .exclude(pk__in=shared_users)
        .exclude(pk__in=[workflow.owner_id] if workflow.owner_id else [])
        .order_by("first_name", "last_name", "username")
    )
    return {
        "workflow": workflow,
        "entries": entries,
        "can_share": can_share(request.user, workflow),
        "can_design": has_workflow_perm(request.user, "design_workflow", workflow),
        "groups": Group.objects.exclude(pk__in=shared_groups)
        .annotate(members=Count("user"))
        .order_by("name"),
        "people": people,
        "roles": [(role, ROLE_HELP[role]) for role in Role],
    }


def _sharer(request: HttpRequest, key: str) -> Workflow:
    """The workflow if the user may see it (else 404) and change its sharing (else 403)."""
    workflow = access_workflow(request.user, key)  # type: ignore[arg-type]
    if not can_share(request.user, workflow):
        raise WorkflowPermissionDenied(
            workflow,
            ("change_workflow",),
            f"Only the owner or someone who operates {workflow.name} can change who has access.",
        )
    return workflow


def _answer(request: AuthenticatedRequest, workflow: Workflow) -> HttpResponse:
    """The sharing card for htmx, else the page again; the list of workflows once it is out of sight."""
    if not has_workflow_perm(request.user, "view_workflow", workflow):
        url = reverse("designer:list")
        return HttpResponse(status=204, headers={"HX-Redirect": url}) if request.htmx else redirect(url)
    if request.htmx:
        return render(request, f"{TEMPLATE}#access", _context(request, workflow))
    return redirect("designer:sharing", key=workflow.key)


def _form_problem(form: forms.Form) -> str:
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


@explains("the sharing of {workflow}: who may request, design, publish or operate it")
@login_required
@require_GET
def sharing(request: AuthenticatedRequest, key: str) -> HttpResponse:
    """Who has access to the workflow and in which role; the form to change it for those who may."""
    workflow = access_workflow(request.user, key)
    return render(request, TEMPLATE, _context(request, workflow))


def _change(
    request: AuthenticatedRequest,
    key: str,
    form_class: type[PrincipalForm],
    act: Callable[[Workflow, dict[str, Any]], str],
) -> HttpResponse:
    """Check who asks, read the form, ``act`` (which answers the success message) and answer."""
    workflow = _sharer(request, key)
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, _form_problem(form))
        return _answer(request, workflow)
    try:
        messages.success(request, act(workflow, form.cleaned_data))
    except SharingError as exc:
        messages.error(request, str(exc))
    return _answer(request, workflow)


@login_required
@require_POST
def share(request: AuthenticatedRequest, key: str) -> HttpResponse:
    """Share the workflow with a group or a person in a role, or change the role they have."""

    def act(workflow: Workflow, data: dict[str, Any]) -> str:
        group, user, role = data["group"], data["user"], Role(data["role"])
        share_workflow(workflow, group=group, user=user, role=role, actor=request.user)
        return f"{principal_name(group=group, user=user)} can now {role.verb} {workflow.name}."

    return _change(request, key, ShareForm, act)


@login_required
@require_POST
def unshare(request: AuthenticatedRequest, key: str) -> HttpResponse:
    """Take a group's or a person's access away."""

    def act(workflow: Workflow, data: dict[str, Any]) -> str:
        group, user = data["group"], data["user"]
        unshare_workflow(workflow, group=group, user=user, actor=request.user)
        name = principal_name(group=group, user=user)
        if user is not None and has_workflow_perm(user, "view_workflow", workflow):
            return f"{name} no longer has access of their own; they still have some through a group."
        return f"{name} no longer has access to {workflow.name}."

    return _change(request, key, PrincipalForm, act)
