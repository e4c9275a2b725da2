"""The designer's side panel: one block's settings, loaded, checked and applied through htmx.

The canvas posts its current diagram XML with every request: the panel reads the
selected element from it, and answers a valid form with the changes for the canvas
to make (``HX-Trigger: {"baton:apply": payload}``); the XML is saved by the page.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST
from lxml import etree

from designer.cel_builder import (
    ExpressionInvalid,
    NotRepresentable,
    build_condition,
    check_cel,
    parse_condition,
)
from designer.diagram import Diagram, DiagramError, Payload, apply_payload
from designer.panels import form_class, schedule
from designer.panels.base import BlockForm, PanelContext, scope_json
from designer.panels.notify import NOTIFY_TEXTS
from designer.scope import TYPE_WORDS, Scope, Variable, scope_at
from orchestration import expressions
from orchestration.access import access_workflow
from orchestration.bpmn.compiler import CompileResult, Problem, compile_bpmn
from orchestration.bpmn.graph import VariableType
from orchestration.bpmn.names import block_names, plain, sentence
from orchestration.definitions import current_draft
from orchestration.models import Workflow

TEMPLATE = "designer/panel.html"
_EXTRA_SCOPES: dict[str, dict[str, VariableType]] = {
    "result": {"result": "map"},
    "payload": {"payload": "map"},
    "progress": {"progress": "map"},
}


def _workflow(request: HttpRequest, key: str, *, design: bool) -> Workflow:
    """The workflow if the user may see it (else 404); then design_workflow to change it (else 403).

    Looking read-only (old versions, the live view) needs design_workflow or change_workflow:
    a diagram's settings (URLs, mappings) and the people it names are not for requesters.
    """
    perms = ("design_workflow",) if design else ("design_workflow", "change_workflow")
    return access_workflow(request.user, key, *perms)  # type: ignore[arg-type]


class _Unreadable(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _context(request: HttpRequest, workflow: Workflow) -> tuple[PanelContext, Findings]:
    """The panel's view of the posted diagram, and what the compiler says about the element."""
    xml = request.POST.get("xml", "")
    if not xml.strip():
        version = current_draft(workflow) or workflow.published_version
        xml = version.bpmn_xml if version is not None else ""
    try:
        diagram = Diagram.parse(xml)
    except DiagramError as exc:
        raise _Unreadable(str(exc.problem)) from None
    element_id = request.POST.get("element", "").strip()
    element = diagram.find(element_id) if element_id else diagram.process
    if element is None:
        raise _Unreadable(
            "This element is no longer in the diagram." if element_id else "The diagram has no process."
        )
    return _context_of(workflow, request.user, diagram, element)


def _context_of(
    workflow: Workflow, user: Any, diagram: Diagram, element: Any
) -> tuple[PanelContext, Findings]:
    element_id = element.get("id", "")
    result = compile_bpmn(diagram.to_xml())
    scope = scope_at(diagram, result.declared, element_id)
    ctx = PanelContext(workflow, diagram, element, element_id, scope, user)
    return ctx, _findings(ctx, result)


Findings = tuple[list[Problem], list[Problem]]


def _findings(ctx: PanelContext, result: CompileResult) -> Findings:
    """The compiler's errors and warnings about the element (about the file too, for the process)."""
    ids = {ctx.element_id, None} if ctx.element is ctx.diagram.process else {ctx.element_id}
    return [p for p in result.errors if p.element_id in ids], [
        p for p in result.warnings if p.element_id in ids
    ]


def _applied(ctx: PanelContext, payload: Payload) -> Diagram:
    """The posted diagram once the canvas has applied ``payload``."""
    changed = Diagram.parse(etree.tostring(copy.deepcopy(ctx.diagram.root)))
    apply_payload(changed, payload)
    return changed


def _render(
    request: HttpRequest,
    ctx: PanelContext,
    form: BlockForm,
    findings: Findings,
    *,
    readonly: bool,
    applied: bool = False,
) -> HttpResponse:
    # The compiler's problems in the palette's words, blocks by name or place (as the problems list says them).
    names = block_names(ctx.diagram.to_xml())
    context: dict[str, Any] = {
        "workflow": ctx.workflow,
        "ctx": ctx,
        "form": form,
        "rows": form.rows,
        "errors": [sentence(plain(p.message, names)) for p in findings[0]],
        "warnings": [sentence(plain(p.message, names)) for p in findings[1]],
        "readonly": readonly,
        "applied": applied,
        # An unnamed block is called by its place, as problems call it ("The second Approval").
        "place": sentence(names.get(ctx.element_id, "")) or "Unnamed",
        "scope_json": scope_json(ctx.scope),
        "variables": ctx.scope.groups(),
    }
    # The block's own part of the template, rendered into the panel's frame, then the shared sections.
    context["body"] = mark_safe(render_to_string(f"{TEMPLATE}#{form.partial}", context, request))  # noqa: S308
    context["sections"] = [
        mark_safe(render_to_string(f"{TEMPLATE}#{s.partial}", {**context, "section": s}, request))  # noqa: S308
        for s in form.sections
    ]
    return render(request, f"{TEMPLATE}#panel", context)


def _message(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, f"{TEMPLATE}#message", {"message": message})


@login_required
@require_POST
def panel(request: HttpRequest, key: str) -> HttpResponse:
    """The selected element's form, filled from the posted XML (``readonly=1``: shown, not editable)."""
    readonly = request.POST.get("readonly") == "1"
    workflow = _workflow(request, key, design=not readonly)
    try:
        ctx, findings = _context(request, workflow)
    except _Unreadable as exc:
        return _message(request, exc.message)
    form = form_class(ctx.element).for_element(ctx)
    return _render(request, ctx, form, findings, readonly=readonly)


@login_required
@require_POST
def apply(request: HttpRequest, key: str) -> HttpResponse:
    """Validate the panel's form; when valid, tell the canvas what to change (``baton:apply``)."""
    workflow = _workflow(request, key, design=True)
    try:
        ctx, findings = _context(request, workflow)
    except _Unreadable as exc:
        return _message(request, exc.message)
    form = form_class(ctx.element)(request.POST, ctx=ctx)
    if not form.is_valid():
        return _render(request, ctx, form, findings, readonly=False)
    payload = form.payload()
    changed = _applied(ctx, payload)
    element = changed.find(ctx.element_id) if ctx.element is not ctx.diagram.process else changed.process
    after, findings = _context_of(workflow, request.user, changed, element)
    if "attach" in payload or "remove" in payload or "paths" in payload:
        # Events or paths were added or removed: show the step as it now is, with nothing left to add twice.
        form = form_class(after.element).for_element(after)
    response = _render(
        request, after if form.ctx is after else ctx, form, findings, readonly=False, applied=True
    )
    response["HX-Trigger"] = json.dumps({"baton:apply": payload})
    return response


def _posted_scope(raw: str) -> Scope:
    """The variables the panel listed (``scope_json``), for checks made while someone types."""
    try:
        listed = json.loads(raw or "[]")
    except ValueError:
        listed = []
    variables = []
    for entry in listed[:500] if isinstance(listed, list) else []:
        if not (isinstance(entry, list) and len(entry) == 3):
            continue
        name, kind, choices = entry
        paths_ok = isinstance(name, str) and all(expressions.is_identifier(p) for p in name.split("."))
        if paths_ok and kind in expressions.VARIABLE_TYPES and isinstance(choices, list):
            variables.append(Variable(name, kind, "", "", tuple(str(c) for c in choices)))
    return Scope(tuple(variables))


@login_required
@require_POST
def check(request: HttpRequest, key: str) -> HttpResponse:
    """Check one expression while it is typed: valid or the error with line and column, and its CEL."""
    _workflow(request, key, design=False)
    scope = _posted_scope(request.POST.get("scope", ""))
    what = request.POST.get("check", "")
    context: dict[str, Any] = {"cel": "", "text": None, "builder": None}
    try:
        if what == "condition":
            context.update(_check_condition(request, scope))
        elif what in NOTIFY_TEXTS:
            context.update(_check_text(request, scope, what))
        elif what == schedule.CHECK:
            context.update(schedule.check(request.POST))
        else:
            source = request.POST.get(what, "").strip()
            if source:
                types = {**scope.types(), **_EXTRA_SCOPES.get(request.POST.get("with", ""), {})}
                found = check_cel(source, types, _expect(request))
                context["ok"] = f"Gives {_type_words(found)}."
    except ValidationError as exc:
        context["error"] = " ".join(exc.messages)
        # CEL's own wording, for people who write CEL, folded away under the plain message.
        context["detail"] = exc.detail if isinstance(exc, ExpressionInvalid) else None
    return render(request, f"{TEMPLATE}#check", context)


def _expect(request: HttpRequest) -> Any:
    expect = request.POST.get("expect", "")
    return expect if expect in ("bool", "number", "moment", "key", "text", "list") else None


def _type_words(found: str) -> str:
    return "a value of any type" if found == "dyn" else TYPE_WORDS.get(found, found)


def _check_condition(request: HttpRequest, scope: Scope) -> dict[str, Any]:
    if request.POST.get("is_default"):
        return {"ok": "The default path needs no condition."}
    if request.POST.get("condition_mode") == "cel":
        source = request.POST.get("condition", "").strip()
        if not source:
            return {}
        check_cel(source, scope.types(), "bool")
        return {"ok": "Valid condition.", "cel": source, "builder": parse_condition(source, scope)}
    variable = scope.get(request.POST.get("field", ""))
    if variable is None:
        return {}
    source = build_condition(variable, request.POST.get("operator", ""), request.POST.get("value", ""))
    check_cel(source, scope.types(), "bool")
    return {"ok": "Valid condition.", "cel": source}


def _check_text(request: HttpRequest, scope: Scope, what: str) -> dict[str, Any]:
    converter = NOTIFY_TEXTS[what]
    value = request.POST.get(what, "").strip()
    if not value:
        return {}
    source = value if request.POST.get(f"{what}_mode") == "cel" else converter.to_cel(value, scope)
    check_cel(source, scope.types(), None if what == "to" else "text")
    try:
        text = converter.to_text(source, scope)
    except NotRepresentable:
        text = None
    return {"ok": "Looks good.", "cel": source, "text": text}
