"""Designer pages: the workflow list, the canvas, versions, read-only versions and the live view.

Seeing a workflow is decided by ``visible_workflows`` (not visible: 404); acting on
it by its object permissions (visible but not allowed: 403). Drafts are saved,
published and started through the actions in ``orchestration.definitions``; these
views only check access, read input and shape answers.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST
from guardian.core import ObjectPermissionChecker

from designer import live
from designer.compare import compare
from designer.starters import STARTERS, starter
from orchestration.access import (
    access_workflow,
    can_operate,
    has_workflow_perm,
    visible_instances,
    visible_workflows,
)
from orchestration.bpmn.compiler import CompileResult, Problem, compile_bpmn
from orchestration.bpmn.names import block_names, plain, sentence
from orchestration.bpmn.parse import descriptor, load, read_text
from orchestration.definitions import (
    DefinitionError,
    DraftConflict,
    blank_diagram,
    create_workflow,
    current_draft,
    new_draft,
    publish_version,
    save_draft,
)
from orchestration.engine.blocks import palette
from orchestration.errors import explains
from orchestration.models import ProcessInstance, Step, Workflow, WorkflowVersion
from orchestration.sharing import (
    EVERYONE,
    Requesters,
    SharingError,
    can_share,
    principal_name,
    requesters,
    set_requesters,
)

if TYPE_CHECKING:
    from orchestration.bpmn.graph import Graph

DESIGN, PUBLISH, OPERATE = "design_workflow", "publish_workflow", "change_workflow"

# --- access ----------------------------------------------------------------------------


def _actor(request: HttpRequest) -> AbstractBaseUser:
    """The signed-in user (every view here requires one)."""
    user = request.user
    if not isinstance(user, AbstractBaseUser):
        raise PermissionDenied("Sign in first.")
    return user


def _can_create(request: HttpRequest) -> bool:
    return bool(request.user.has_perm("orchestration.add_workflow"))


# --- answers -----------------------------------------------------------------------------


def _problem(problem: Problem, severity: str, names: Mapping[str, str]) -> dict[str, Any]:
    """A compiler problem as the page shows it: who it is about, then what is wrong, in plain words.

    ``names`` (from :func:`block_names`) names blocks as the designer does; the compiler's own
    wording, with the element's id, is kept as ``technical`` for the "Details" disclosure.
    """
    if problem.element_id and problem.element_id in names:
        label = sentence(names[problem.element_id])
    else:
        label = problem.element_type or ("Block" if problem.element_id else "Diagram")
        if problem.element_name:
            label = f"{label} “{problem.element_name}”"
    message = plain(problem.message, names)
    technical = f"{problem.subject}: {problem.message}" if problem.element_id else ""
    return {
        "severity": severity,
        "element_id": problem.element_id,
        "label": label,
        "message": message,
        "technical": technical,
        "line": problem.line,
        "column": problem.column,
    }


def _problems(result: CompileResult, xml: str) -> list[dict[str, Any]]:
    names = block_names(xml)
    return [_problem(p, "error", names) for p in result.errors] + [
        _problem(p, "warning", names) for p in result.warnings
    ]


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _who(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else "someone"


def _conflict(detail: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"detail": detail, **extra}, status=409)


def _panel_url(workflow: Workflow) -> str:
    # The side panel lives in panel_urls; the canvas still works (without a panel) while it is missing.
    try:
        return reverse("designer:panel", args=[workflow.key])
    except NoReverseMatch:
        return ""


# --- workflow list and creation ------------------------------------------------------------


@dataclass(frozen=True)
class WorkflowRow:
    """One line of the workflow list: what it is, its state, and what the user may do with it."""

    workflow: Workflow
    published_number: int | None
    published_at: datetime | None
    published_by: str
    draft_saved_at: datetime | None
    running: int
    can_design: bool
    can_publish: bool
    can_operate: bool


@login_required
@require_GET
def workflow_list(request: HttpRequest) -> HttpResponse:
    """Every workflow the user may view, with its state and the actions the user may take."""
    workflows = visible_workflows(_actor(request)).with_state().order_by("name")
    checker = ObjectPermissionChecker(_actor(request))
    checker.prefetch_perms(workflows)

    def allowed(perm: str, workflow: Workflow) -> bool:
        return bool(request.user.has_perm(f"orchestration.{perm}") or checker.has_perm(perm, workflow))

    rows = [
        WorkflowRow(
            workflow=wf,
            published_number=wf.published_number,  # type: ignore[attr-defined]  # with_state's annotations
            published_at=wf.last_published_at,  # type: ignore[attr-defined]
            published_by=wf.last_published_by or "",  # type: ignore[attr-defined]
            draft_saved_at=wf.draft_saved_at,  # type: ignore[attr-defined]
            running=wf.running,  # type: ignore[attr-defined]
            can_design=allowed(DESIGN, wf),
            can_publish=allowed(PUBLISH, wf),
            can_operate=allowed(OPERATE, wf),
        )
        for wf in workflows
    ]
    return render(request, "designer/workflow_list.html", {"rows": rows, "can_create": _can_create(request)})


# Paths under /designer/ that a workflow key would shadow.
_RESERVED_KEYS = frozenset({"new"})


def _free_key(name: str) -> str:
    """A workflow key made from ``name`` that no workflow uses yet."""
    base = slugify(name)[:90].strip("-_") or "workflow"
    if not base[0].isalnum():
        base = f"w{base}"
    key, n = base, 1
    while key in _RESERVED_KEYS or Workflow.objects.filter(key=key).exists():
        n += 1
        key = f"{base}-{n}"
    return key


class WorkflowCreateForm(forms.Form):
    """A new workflow: a name, and a template, a diagram file or a blank canvas to start from."""

    starter = forms.ChoiceField(
        label="Start from",
        required=False,
        choices=[("", "Blank canvas")] + [(s.slug, s.name) for s in STARTERS],
        error_messages={"invalid_choice": "Choose one of the templates shown, or the blank canvas."},
    )
    name = forms.CharField(
        max_length=200,
        required=False,
        help_text="What people will call it, e.g. “Purchase request”. Leave empty to use the template's name.",
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    key = forms.SlugField(
        max_length=100,
        label="Web address",
        required=False,
        help_text=(
            "The end of the workflow's links, e.g. travel-request: letters, digits and dashes. "
            "Leave empty to make one from the name."
        ),
    )
    bpmn_file = forms.FileField(
        required=False,
        label="Open a diagram file",
        help_text="A .bpmn file made in Camunda Modeler or bpmn.io, or exported from Baton.",
    )

    def clean_key(self) -> str:
        key: str = self.cleaned_data.get("key", "")
        if key:
            field = Workflow._meta.get_field("key")
            for validator in field.validators:
                validator(key)
            if key in _RESERVED_KEYS or Workflow.objects.filter(key=key).exists():
                raise forms.ValidationError("Another workflow already uses this key.")
        return key

    def clean_bpmn_file(self) -> str:
        upload = self.cleaned_data.get("bpmn_file")
        if not upload:
            return ""
        return _read_diagram(upload)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen = starter(data.get("starter") or "")
        if chosen is not None and data.get("bpmn_file"):
            raise forms.ValidationError("Start from a template or from a file, not both.")
        if not data.get("name"):
            if chosen is None:
                self.add_error("name", "Give the workflow a name.")
            else:
                data["name"] = chosen.name
        if chosen is not None and not data.get("description"):
            data["description"] = chosen.summary
        data["starter_diagram"] = chosen.diagram() if chosen is not None else ""
        return data


def _read_diagram(upload: Any) -> str:
    """The text of an uploaded diagram; ValidationError when it cannot be opened at all."""
    try:
        xml = read_text(upload)
    except ValueError as exc:
        raise forms.ValidationError(str(exc)) from None
    root, problem = load(xml)
    if root is None:
        assert problem is not None
        raise forms.ValidationError(f"{upload.name} cannot be opened: {problem.message}")
    return xml


@explains("the form for starting a new workflow from scratch or from a file")
@login_required
def workflow_create(request: HttpRequest) -> HttpResponse:
    """Create a workflow (blank, one Start; or from a BPMN file) and open it on the canvas."""
    if not _can_create(request):
        raise PermissionDenied("You may not create workflows.")
    initial = {"starter": request.GET.get("starter", "")}
    form = WorkflowCreateForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["name"]
        key = form.cleaned_data["key"] or _free_key(name)
        xml = (
            form.cleaned_data["bpmn_file"] or form.cleaned_data["starter_diagram"] or blank_diagram(key, name)
        )
        draft = create_workflow(
            key, name, xml, owner=_actor(request), description=form.cleaned_data["description"]
        )
        return redirect("designer:edit", key=draft.workflow.key)
    return render(request, "designer/workflow_form.html", {"form": form, "starters": STARTERS})


# --- the canvas ----------------------------------------------------------------------------


def _basis(workflow: Workflow) -> WorkflowVersion | None:
    """The version a new draft starts from: the published one, else the newest numbered one."""
    return workflow.published_version or workflow.versions.exclude(number=None).order_by("-number").first()


def _page_config(request: HttpRequest, workflow: Workflow, mode: str, **extra: Any) -> dict[str, Any]:
    return {
        "mode": mode,
        "workflow": workflow.key,
        "name": workflow.name,
        "csrf": get_token(request),
        "panelUrl": _panel_url(workflow),
        **extra,
    }


@explains("the designer of {workflow}, where its steps are drawn and changed")
@login_required
@require_GET
def editor(request: HttpRequest, key: str) -> HttpResponse:
    """The canvas on the workflow's draft (or on its latest version, until the first change)."""
    workflow = access_workflow(_actor(request), key, DESIGN)
    draft = current_draft(workflow)
    basis = None if draft else _basis(workflow)
    source = draft or basis
    if source is None:  # cannot happen through the actions: a workflow is created with its draft
        raise Http404("This workflow has no diagram.")
    can_publish = has_workflow_perm(request.user, PUBLISH, workflow)
    current = requesters(workflow)
    config = _page_config(
        request,
        workflow,
        "edit",
        draft=draft.pk if draft else None,
        revision=draft.revision if draft else 0,
        basisNumber=basis.number if basis else None,
        savedAt=_when(draft.updated_at) if draft else None,
        problems=_problems(compile_bpmn(source.bpmn_xml), source.bpmn_xml),
        canPublish=can_publish,
        canCopy=_can_create(request),
        palette=palette(),
        urls={
            "save": reverse("designer:save", args=[key]),
            "publish": reverse("designer:publish", args=[key]),
            "copy": reverse("designer:copy", args=[key]),
            "versions": reverse("designer:versions", args=[key]),
        },
    )
    context = {
        "workflow": workflow,
        "draft": draft,
        "basis": basis,
        "can_publish": can_publish,
        "can_operate": has_workflow_perm(request.user, OPERATE, workflow),
        "publish_form": _publish_form(request, workflow, current) if can_publish else None,
        "who_now": _published_where(workflow, current),
        "config": config,
        "bpmn_xml": source.bpmn_xml,
        "descriptor": descriptor(),
    }
    return render(request, "designer/editor.html", context)


class _BasisForm(forms.Form):
    """The draft state the canvas is based on: the draft's id (none before the first save) and revision."""

    revision = forms.IntegerField(min_value=0)
    draft = forms.IntegerField(required=False)


class _SaveForm(_BasisForm):
    """A save: the diagram, and the draft state it was based on."""

    xml = forms.CharField(strip=False)


def _expected_revision(workflow: Workflow, draft_id: int | None, revision: int) -> int:
    """The draft revision a save based on (``draft_id``, ``revision``) may replace.

    0 means "no draft": the save starts one. Raises :class:`DraftConflict` when the
    draft moved on. A draft published at exactly the revision the editor had is no
    conflict: the editor's next change simply starts the next draft.
    """
    current = current_draft(workflow)
    if current is not None and current.pk == draft_id:
        return revision
    if current is not None:
        raise DraftConflict(current)
    if draft_id is None:
        return 0
    based_on = workflow.versions.filter(pk=draft_id).first()
    if based_on is not None and based_on.revision == revision:
        return 0
    raise _Published(based_on)


class _Published(Exception):
    """The draft the editor had was published (with changes the editor had not seen)."""

    def __init__(self, version: WorkflowVersion | None) -> None:
        super().__init__("published")
        self.version = version


def _conflict_answer(exc: DraftConflict | _Published, user: Any) -> JsonResponse:
    """409 saying what happened; ``saved_at`` lets the page show when, in the user's time zone."""
    if isinstance(exc, _Published):
        version = exc.version
        if version is None or version.number is None:
            return _conflict("This draft was replaced while you were editing.", revision=None, saved_at=None)
        return _conflict(
            f"This draft was published as version {version.number} by {_who(version.published_by)}; "
            "it holds changes you have not seen.",
            revision=None,
            saved_at=None,
        )
    current = exc.current
    # Saved by the same person: another tab (or window) of theirs.
    who = "in another tab" if current.updated_by_id in (None, user.pk) else f"by {_who(current.updated_by)}"
    return _conflict(
        f"This draft was changed {who}.",
        revision=current.revision,
        saved_at=_when(current.updated_at),
    )


@login_required
@require_POST
def save(request: HttpRequest, key: str) -> JsonResponse:
    """Store the canvas as the draft; answer its problems, or 409 when the draft moved on."""
    workflow = access_workflow(_actor(request), key, DESIGN)
    form = _SaveForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"detail": "The diagram was not sent.", "fields": form.errors}, status=400)
    data = form.cleaned_data
    try:
        expected = _expected_revision(workflow, data["draft"], data["revision"])
        draft, result = save_draft(workflow, data["xml"], actor=_actor(request), expected_revision=expected)
    except (DraftConflict, _Published) as exc:
        return _conflict_answer(exc, request.user)
    return JsonResponse(
        {
            "draft": draft.pk,
            "revision": draft.revision,
            "saved_at": _when(draft.updated_at),
            "ok": result.ok,
            "problems": _problems(result, data["xml"]),
        }
    )


class _PersonChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return principal_name(user=obj)


class PublishForm(_BasisForm):
    """Publishing, and who may start requests from then on (asked of those who may share the workflow)."""

    EVERYONE_CHOICE, CHOSEN = "everyone", "chosen"

    who = forms.ChoiceField(
        label="Who may start requests?",
        choices=[
            (EVERYONE_CHOICE, "Everyone who signs in to Baton"),
            (CHOSEN, "Only the groups and people chosen below"),
        ],
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        required=False,  # not asked (a script publishing): sharing stays as it is
        error_messages={
            "required": "Choose who may start requests.",
            "invalid_choice": "Choose who may start requests.",
        },
    )
    # Sent by the dialog: the question was asked, so no answer is an error rather than "keep as is".
    asked = forms.BooleanField(required=False, widget=forms.HiddenInput)
    groups = forms.ModelMultipleChoiceField(
        queryset=Group.objects.exclude(name=EVERYONE).order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        error_messages={
            "invalid_choice": "There is no group “%(value)s”: pick groups from the list.",
            "invalid_pk_value": "There is no group “%(pk)s”: pick groups from the list.",
        },
    )
    people = _PersonChoice(
        queryset=get_user_model()
        .objects.filter(is_active=True)
        .order_by("first_name", "last_name", "username"),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        error_messages={
            "invalid_choice": "There is nobody “%(value)s”: pick people from the list.",
            "invalid_pk_value": "There is nobody “%(pk)s”: pick people from the list.",
        },
    )

    def __init__(self, *args: Any, workflow: Workflow, current: Requesters, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                # Nobody can start it yet: nothing is preselected, so publishing asks for a choice.
                "who": self.EVERYONE_CHOICE if current.everyone else self.CHOSEN if current.anyone else None,
                "groups": [group.pk for group in current.groups],
                "people": [user.pk for user in current.people],
            },
        )
        super().__init__(*args, **kwargs)
        self.workflow, self.current = workflow, current
        people = self.fields["people"]
        assert isinstance(people, forms.ModelMultipleChoiceField)
        if workflow.owner_id is not None:  # the owner can always start it
            people.queryset = people.queryset.exclude(pk=workflow.owner_id)  # type: ignore[union-attr]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen = data.get("groups") or data.get("people")
        if data.get("asked") and not data.get("who") and "who" not in self.errors:
            self.add_error("who", "Choose who may start requests: everyone, or the groups and people below.")
        if data.get("who") == self.CHOSEN and not self.errors and not chosen and not self.current.kept:
            owner = principal_name(user=self.workflow.owner) if self.workflow.owner else "its owner"
            self.add_error(
                "groups",
                f"Nobody but {owner} could start {self.workflow.name}, so nobody would find it under "
                "New request: choose everyone, a group or a person.",
            )
        return data


def _publish_form(
    request: HttpRequest, workflow: Workflow, current: Requesters | None = None
) -> PublishForm | None:
    """The publish dialog's question about who may start requests; None for those who may not share."""
    if not can_share(request.user, workflow):
        return None
    data = request.POST if request.method == "POST" else None
    return PublishForm(data, workflow=workflow, current=current or requesters(workflow))


def _published_where(workflow: Workflow, now: Requesters) -> str:
    """Where the published version appears, for the dialog and the banner (no final stop)."""
    return now.where(workflow) or (
        f"Nobody but its owner can start {workflow.name} yet: share it under Sharing so people see it"
    )


@login_required
@require_POST
def publish(request: HttpRequest, key: str) -> JsonResponse:
    """Publish the draft the canvas saved last, and set who may start it (when asked), in one transaction.

    400 lists the diagram's errors, or names the dialog's fields that are wrong; 409 when
    the draft moved on.
    """
    workflow = access_workflow(_actor(request), key, PUBLISH)
    form = _publish_form(request, workflow) or _BasisForm(request.POST)
    if not form.is_valid():
        if any(name in form.errors for name in ("draft", "revision")):
            return JsonResponse({"detail": "Save the draft before publishing."}, status=400)
        return JsonResponse({"detail": "Check who may start requests.", "fields": form.errors}, status=400)
    draft = current_draft(workflow)
    if draft is None:
        return _conflict("There is no draft to publish: change the diagram first.")
    data = form.cleaned_data
    try:
        if draft.pk != data["draft"]:
            raise DraftConflict(draft)
        with transaction.atomic():
            version = publish_version(draft, actor=_actor(request), expected_revision=data["revision"])
            if isinstance(form, PublishForm) and data["who"]:
                now = set_requesters(
                    workflow,
                    everyone=data["who"] == PublishForm.EVERYONE_CHOICE,
                    groups=data["groups"],
                    people=data["people"],
                    actor=_actor(request),
                )
            else:
                now = requesters(workflow)
    except DraftConflict as exc:
        return _conflict_answer(exc, request.user)
    except SharingError as exc:
        return JsonResponse({"detail": str(exc), "fields": {"groups": [str(exc)]}}, status=400)
    except DefinitionError as exc:
        return JsonResponse(
            {
                "detail": "Fix the errors before publishing.",
                "problems": [_problem(p, "error", block_names(draft.bpmn_xml)) for p in exc.problems],
            },
            status=400,
        )
    return JsonResponse(
        {
            "number": version.number,
            "summary": version.change_summary,
            "published_at": _when(version.published_at),
            "version": version.pk,
            "revision": version.revision,
            "url": reverse("designer:version", args=[key, version.number]),
            "where": _published_where(workflow, now),
            "visible": bool(now.where(workflow)),
            "catalog": request.build_absolute_uri(reverse("approvals:catalog")),
        }
    )


@login_required
@require_POST
def import_diagram(request: HttpRequest, key: str) -> HttpResponseRedirect:
    """Replace the draft with an uploaded BPMN file (same conflict rule as saving)."""
    workflow = access_workflow(_actor(request), key, DESIGN)
    editor_url = reverse("designer:edit", args=[key])
    upload = request.FILES.get("file")
    form = _BasisForm(request.POST)
    if upload is None or not form.is_valid():
        messages.error(request, "Choose a .bpmn file to import.")
        return redirect(editor_url)
    try:
        xml = _read_diagram(upload)
    except forms.ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(editor_url)
    try:
        expected = _expected_revision(workflow, form.cleaned_data["draft"], form.cleaned_data["revision"])
        _, result = save_draft(workflow, xml, actor=_actor(request), expected_revision=expected)
    except (DraftConflict, _Published) as exc:
        detail = json.loads(_conflict_answer(exc, request.user).content)["detail"]
        messages.error(request, f"{upload.name} was not imported: the draft changed meanwhile. {detail}")
        return redirect(editor_url)
    found = len(result.errors) + len(result.warnings)
    if found:
        messages.warning(
            request,
            f"Imported {upload.name}. {found} thing{'s' if found != 1 else ''} Baton cannot run "
            "or ignores are listed under Problems.",
        )
    else:
        messages.success(request, f"Imported {upload.name}.")
    return redirect(editor_url)


@login_required
@require_POST
def save_copy(request: HttpRequest, key: str) -> JsonResponse:
    """Save the canvas as a new workflow (the way out of a conflict without losing work)."""
    workflow = access_workflow(_actor(request), key, DESIGN)
    if not _can_create(request):
        raise PermissionDenied("You may not create workflows.")
    xml = request.POST.get("xml", "")
    if not xml:
        return JsonResponse({"detail": "The diagram was not sent."}, status=400)
    name = f"{workflow.name} (copy)"
    draft = create_workflow(
        _free_key(name), name, xml, owner=_actor(request), description=workflow.description
    )
    return JsonResponse({"url": reverse("designer:edit", args=[draft.workflow.key]), "name": name})


# --- versions ------------------------------------------------------------------------------


@explains("the list of the published versions of {workflow}: who published each one, when, and what changed")
@login_required
@require_GET
def versions(request: HttpRequest, key: str) -> HttpResponse:
    """Published and retired versions with who, when and what changed; the draft on top."""
    workflow = access_workflow(_actor(request), key, DESIGN)
    numbered = (
        workflow.versions.exclude(number=None)
        .select_related("published_by")
        .annotate(running=Count("instances", filter=Q(instances__status=ProcessInstance.Status.RUNNING)))
        .order_by("-number")
    )
    context = {
        "workflow": workflow,
        "draft": current_draft(workflow),
        "versions": numbered,
        "can_operate": has_workflow_perm(request.user, OPERATE, workflow),
    }
    return render(request, "designer/versions.html", context)


def _numbered(workflow: Workflow, number: int) -> WorkflowVersion:
    return get_object_or_404(workflow.versions.select_related("published_by"), number=number)


@explains("one published version of {workflow}, shown as a drawing")
@login_required
@require_GET
def version_detail(request: HttpRequest, key: str, number: int) -> HttpResponse:
    """One version on a read-only canvas."""
    workflow = access_workflow(_actor(request), key, DESIGN)
    version = _numbered(workflow, number)
    config = _page_config(request, workflow, "version", version=version.number)
    context = {
        "workflow": workflow,
        "version": version,
        "draft": current_draft(workflow),
        "config": config,
        "bpmn_xml": version.bpmn_xml,
        "descriptor": descriptor(),
    }
    return render(request, "designer/version.html", context)


def _compared(workflow: Workflow, which: str) -> tuple[str, WorkflowVersion | None, Graph | None, str]:
    """A side of a comparison: its title, version, compiled graph (None when it does not compile) and XML."""
    if which == "draft":
        draft = current_draft(workflow)
        if draft is None:
            raise Http404("There is no draft to compare.")
        result = compile_bpmn(draft.bpmn_xml)
        return "Draft", draft, result.graph if result.ok else None, draft.bpmn_xml
    if not (which.isascii() and which.isdigit()):  # "²" is a digit to isdigit, not to int
        raise Http404("No such version.")
    version = _numbered(workflow, int(which))
    return f"Version {version.number}", version, cast("Graph", version.graph), version.bpmn_xml


@explains("the differences between two versions of {workflow}")
@login_required
@require_GET
def version_compare(request: HttpRequest, key: str) -> HttpResponse:
    """Two versions side by side, what changed coloured on both and listed in plain words.

    ``?to=`` a version number or ``draft`` (default: the draft, else the newest version);
    ``?from=`` a version number (default: the version before ``to``, or the live one for the draft).
    """
    workflow = access_workflow(_actor(request), key, DESIGN)
    numbers = list(
        workflow.versions.exclude(number=None).order_by("-number").values_list("number", flat=True)
    )
    to = request.GET.get("to") or ("draft" if current_draft(workflow) else str(numbers[0] if numbers else ""))
    new_title, _, new_graph, new_xml = _compared(workflow, to)  # 404 for anything but a version or the draft
    if "from" in request.GET:
        start = request.GET["from"]
    else:
        published = workflow.published_version
        older = [n for n in numbers if n is not None and (to == "draft" or n < int(to or 0))]
        base = published.number if to == "draft" and published is not None else (older[0] if older else None)
        if base is None:
            raise Http404("There is no earlier version to compare with.")
        start = str(base)
    old_title, _, old_graph, old_xml = _compared(workflow, start)
    comparison = compare(old_graph, new_graph) if old_graph is not None and new_graph is not None else None
    context = {
        "workflow": workflow,
        "old_title": old_title,
        "new_title": new_title,
        "comparison": comparison,
        "numbers": numbers,
        "has_draft": current_draft(workflow) is not None,
        "chosen": {"from": start, "to": to},
        "compare_data": {
            "old": old_xml,
            "new": new_xml,
            "markers": comparison.markers() if comparison is not None else None,
            "descriptor": descriptor(),
        },
    }
    return render(request, "designer/compare.html", context)


@login_required
@require_POST
def version_new_draft(request: HttpRequest, key: str, number: int) -> HttpResponseRedirect:
    """Make a version's diagram the draft and open it on the canvas."""
    workflow = access_workflow(_actor(request), key, DESIGN)
    version = _numbered(workflow, number)
    new_draft(version, actor=_actor(request))
    messages.success(request, f"The draft now starts from version {version.number}.")
    return redirect("designer:edit", key=key)


@login_required
@require_GET
def version_export(request: HttpRequest, key: str, number: int) -> HttpResponse:
    """A version's BPMN XML as a file."""
    workflow = access_workflow(_actor(request), key, DESIGN)
    version = _numbered(workflow, number)
    response = HttpResponse(version.bpmn_xml, content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{workflow.key}-v{version.number}.bpmn"'
    return response


# --- live view -----------------------------------------------------------------------------


def _live_subject(
    request: HttpRequest, workflow: Workflow
) -> tuple[WorkflowVersion | None, ProcessInstance | None]:
    """The version to show and the instance to follow, from ?instance= or ?version=."""
    instance_id = request.GET.get("instance")
    if instance_id:
        try:
            pk = uuid.UUID(instance_id)
        except ValueError:
            raise Http404("No such instance.") from None
        instances = visible_instances(_actor(request)).filter(workflow=workflow).select_related("version")
        instance = get_object_or_404(instances, pk=pk)
        return instance.version, instance
    number = request.GET.get("version")
    if number:
        if not (number.isascii() and number.isdecimal()):
            raise Http404("No such version.")
        return _numbered(workflow, int(number)), None
    return workflow.published_version, None


def _live_data(version: WorkflowVersion, instance: ProcessInstance | None, user: Any) -> dict[str, Any]:
    # What an AI chose, and why, is for the people who operate the workflow (as its answers are).
    path = live.instance_path(instance, ai_choices=can_operate(user, instance)) if instance else None
    return {
        "version": version.number,
        "counts": live.waiting_counts(version),
        "running": live.running_total(version),
        "instance": path,
    }


def _recent_instances(request: HttpRequest, workflow: Workflow) -> list[dict[str, Any]]:
    """The user's visible instances of ``workflow``, newest first, with where each one waits."""
    instances = list(
        visible_instances(_actor(request))
        .filter(workflow=workflow)
        .select_related("initiator", "version")
        .order_by("-started_at")[:20]
    )
    waiting: dict[Any, list[str]] = {}
    open_steps = Step.objects.filter(instance__in=instances, status__in=Step.OPEN_STATUSES)
    for step in open_steps.order_by("created_at"):
        names = waiting.setdefault(step.instance_id, [])
        if (step.node_name or step.node_id) not in names:  # the items of a For each wait at one block
            names.append(step.node_name or step.node_id)
    return [{"instance": instance, "waiting_at": waiting.get(instance.pk, [])} for instance in instances]


@explains("the live view of {workflow}: how many requests wait at each step")
@login_required
@require_GET
def live_view(request: HttpRequest, key: str) -> HttpResponse:
    """The published diagram with how many running instances wait at each block; one instance's path."""
    workflow = access_workflow(_actor(request), key, DESIGN, OPERATE)
    version, instance = _live_subject(request, workflow)
    context: dict[str, Any] = {
        "workflow": workflow,
        "version": version,
        "instance": instance,
        "recent": _recent_instances(request, workflow),
        "descriptor": descriptor(),
    }
    if version is not None:
        data_url = reverse("designer:live-data", args=[key])
        query = f"?instance={instance.pk}" if instance else f"?version={version.number}"
        context["bpmn_xml"] = version.bpmn_xml
        context["config"] = _page_config(
            request,
            workflow,
            "live",
            version=version.number,
            live=_live_data(version, instance, _actor(request)),
            urls={"data": data_url + query},
        )
    return render(request, "designer/live.html", context)


@login_required
@require_GET
def live_data(request: HttpRequest, key: str) -> JsonResponse:
    """The live view's numbers, polled by the page."""
    workflow = access_workflow(_actor(request), key, DESIGN, OPERATE)
    version, instance = _live_subject(request, workflow)
    if version is None:
        raise Http404("Nothing is published yet.")
    return JsonResponse(_live_data(version, instance, _actor(request)))
