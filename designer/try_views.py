"""Try it: the designer's side panel for test runs and replays of the draft (htmx partials).

Each post carries the diagram on the canvas, the start data and the answers given so far;
the engine runs it all again in a transaction that is rolled back (``orchestration.engine.dry_run``).
"""

from __future__ import annotations

import json
import re
from typing import Any, cast

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from approvals.forms import StartForm, request_values
from approvals.history import start_fields
from designer.views import DESIGN, _problem
from orchestration.access import access_workflow, visible_instance_ids
from orchestration.bpmn.names import block_names
from orchestration.engine import StartDataError
from orchestration.engine.dry_run import (
    DEFAULT_REPLAY,
    MAX_REPLAY,
    Answer,
    BadAnswer,
    BadResubmission,
    diagram_to_try,
    parse_answers,
    replay,
    try_draft,
)
from orchestration.models import Workflow

_TEMPLATE = "designer/try_it.html"
_MAX_DIAGRAM = 2_000_000
_DECISION_WORDS = {"approved": "Approve", "rejected": "Reject", "changes_requested": "Request changes"}


class _ReplayForm(forms.Form):
    limit = forms.IntegerField(
        label="How many recent requests",
        min_value=1,
        max_value=MAX_REPLAY,
        initial=DEFAULT_REPLAY,
        error_messages={
            "invalid": "Give a whole number.",
            "min_value": "Replay at least one request.",
            "max_value": f"Replay at most {MAX_REPLAY} requests.",
        },
    )


def _workflow(request: HttpRequest, key: str) -> Workflow:
    return access_workflow(cast(Any, request.user), key, DESIGN)


def _diagram(request: HttpRequest, workflow: Workflow) -> tuple[str, Any, list[dict[str, Any]]]:
    """The diagram posted from the canvas (else the stored draft), its graph, and its problems when it has any."""
    posted = request.POST.get("diagram") or None
    if posted is not None and len(posted) > _MAX_DIAGRAM:
        return "", None, [{"label": "Diagram", "message": "It is too large to try.", "element_id": None}]
    xml, result = diagram_to_try(workflow, posted)
    names = block_names(xml) if result.errors else {}
    return xml, result.graph, [_problem(p, "error", names) for p in result.errors]


def _start_form(graph: Any, data: Any = None, initial: dict[str, Any] | None = None) -> StartForm:
    return StartForm(start_fields(graph) if graph else [], data, prefix="start", initial=initial)


def _resubmit_form(graph: Any, at: str, data: Any = None, initial: dict[str, Any] | None = None) -> StartForm:
    """The requester's form for resubmitting the request sent back at ``at`` (its own prefix per question)."""
    prefix = "resubmit-" + re.sub(r"[^\w-]", "-", at)
    return StartForm(start_fields(graph) if graph else [], data, prefix=prefix, initial=initial)


def _json(text: str, field: str, words: str) -> Any:
    """``text`` read as JSON; :class:`BadAnswer` naming ``field`` when it is not (or nests too deeply)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise BadAnswer(field, words) from None


def _last_data(request: HttpRequest) -> dict[str, Any] | None:
    """The start data of the test run being started again, to fill the form with (None: none or unreadable)."""
    try:
        data = _json(request.POST.get("data") or "null", "data", "")
    except BadAnswer:
        return None
    return data if isinstance(data, dict) else None


@login_required
@require_http_methods(["GET", "POST"])
def try_panel(request: HttpRequest, key: str) -> HttpResponse:
    """The panel's first face: the draft's start form, ready for a test run."""
    workflow = _workflow(request, key)
    _xml, graph, problems = _diagram(request, workflow)
    context = {
        "workflow": workflow,
        "form": _start_form(graph, initial=_last_data(request)),
        "problems": problems,
        "replay_form": _ReplayForm(),
        "published": workflow.published_version,
    }
    part = "#start" if request.GET.get("part") == "start" else "#panel"
    return render(request, _TEMPLATE + part, context)


def _answer_posted(request: HttpRequest, graph: Any) -> tuple[Answer | None, StartForm | None]:
    """The answer the person just gave in the panel (one question's form), if any, and a resubmission's form."""
    at = request.POST.get("answer_at", "")
    kind = request.POST.get("answer_kind", "")
    if not at:
        return None, None
    item: dict[str, Any] = {"at": at, "kind": kind}
    form = None
    if kind == "decision":
        item["outcome"] = request.POST.get("outcome", "")
        item["comment"] = request.POST.get("comment", "")
    elif kind == "output":
        item["output"] = {
            name[len("output:") :]: _value(str(value))
            for name, value in request.POST.items()
            if name.startswith("output:")
        }
        extra = request.POST.get("output_json", "").strip()
        if extra:
            words = 'Write the answer as name and value pairs: {"status": "ok"}.'
            more = _json(extra, "output_json", words)
            if not isinstance(more, dict):
                raise BadAnswer("output_json", words)
            item["output"].update(more)
    elif kind == "fail":
        item["code"] = request.POST.get("code", "")
    elif kind == "resubmit":
        form = _resubmit_form(graph, at, request.POST)
        form.is_valid()  # the engine is the one validator; its errors come back onto the form
        item["data"] = form.data_for_engine()
    return parse_answers([item])[0], form


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _value(text: str) -> Any:
    """A typed-in sample value: a number or true/false when it reads as one, else the text."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return text
    return value if isinstance(value, (int, float, bool)) else text


@login_required
@require_POST
def try_run(request: HttpRequest, key: str) -> HttpResponse:
    """Start (or go on with) a test run of the canvas's diagram: the path so far and what it waits for."""
    workflow = _workflow(request, key)
    xml, graph, problems = _diagram(request, workflow)
    context: dict[str, Any] = {"workflow": workflow, "problems": problems, "decisions": _DECISION_WORDS}
    if problems:
        return render(request, _TEMPLATE + "#start", {**context, "form": _start_form(None)}, status=400)
    form = _start_form(graph, request.POST if "data" not in request.POST else None)
    error = ""
    status = 200
    resubmitted: StartForm | None = None
    try:
        if "data" in request.POST:
            data = _json(request.POST["data"], "data", "The start data is an object of named values.")
            if not isinstance(data, dict):
                raise BadAnswer("data", "The start data is an object of named values.")
        else:
            form.is_valid()
            data = form.data_for_engine()
        answers = parse_answers(
            _json(request.POST.get("answers") or "[]", "answers", "The answers given so far are unreadable.")
        )
        given, resubmitted = _answer_posted(request, graph)
        if given is not None:
            answers.append(given)
        try:
            run = try_draft(workflow, xml, graph, data, answers, user=cast(Any, request.user))
        except BadResubmission as exc:
            if resubmitted is None or exc.index != len(answers) - 1:
                raise
            # The request just resubmitted does not fit the form: the run as it was, the form with its errors.
            answers.pop()
            for name, errors in exc.errors.items():
                for message in errors:
                    resubmitted.add_error(name if name in resubmitted.fields else None, message)
            run = try_draft(workflow, xml, graph, data, answers, user=cast(Any, request.user))
            status = 400
    except StartDataError as exc:
        if not form.is_bound:  # the data came from an earlier run, and the canvas's form has changed since
            form = _start_form(graph, initial=data)
            error = "The sample data no longer fits the start form: " + " ".join(
                f"{form.fields[name].label if name in form.fields else name}: {' '.join(errors)}"
                for name, errors in exc.errors.items()
            )
            return render(
                request, _TEMPLATE + "#start", {**context, "form": form, "error": error}, status=400
            )
        for name, errors in exc.errors.items():
            for message in errors:
                form.add_error(name if name in form.fields else None, message)
        return render(request, _TEMPLATE + "#start", {**context, "form": form}, status=400)
    except (BadAnswer, ValueError) as exc:
        error = str(exc)
        return render(request, _TEMPLATE + "#start", {**context, "form": form, "error": error}, status=400)
    result = run.as_json(data, answers)
    for question in result["questions"]:
        example = question["example"]
        question["fields"] = [
            {
                "name": f["name"],
                "label": f["label"],
                "value": _shown(example.get(f["name"], "")),
                "choices": f.get("choices") or [],
            }
            for f in question["outputs"]
        ]
        question["example_json"] = json.dumps(example) if example else ""
        if question["ask"] == "resubmit":
            posted_here = request.POST.get("answer_at") == question["at"]
            shown = resubmitted if resubmitted is not None and resubmitted.errors and posted_here else None
            initial = request_values(start_fields(graph), example)
            question["form"] = shown or _resubmit_form(graph, question["at"], initial=initial)
    context.update(
        result=result,
        data_json=json.dumps(data),
        again_json=json.dumps({"data": json.dumps(data)}),
        answers_json=json.dumps(result["answers"]),
        trail_json=json.dumps(result["trail"]),
    )
    return render(request, _TEMPLATE + "#run", context, status=status)


@login_required
@require_POST
def try_replay(request: HttpRequest, key: str) -> HttpResponse:
    """Replay recent requests of the published version through the canvas's diagram, grouped by difference."""
    workflow = _workflow(request, key)
    form = _ReplayForm(request.POST)
    context: dict[str, Any] = {
        "workflow": workflow,
        "replay_form": form,
        "published": workflow.published_version,
    }
    if not form.is_valid():
        return render(request, _TEMPLATE + "#replay", context, status=400)
    xml, graph, problems = _diagram(request, workflow)
    if problems:
        return render(request, _TEMPLATE + "#replay", {**context, "problems": problems}, status=400)
    report = replay(workflow, xml, graph, limit=form.cleaned_data["limit"])
    # Designing a workflow does not show other people's requests: those are counted, not named.
    shown = report.as_json(visible_instance_ids(cast(Any, request.user), report.request_ids()))
    return render(request, _TEMPLATE + "#replay", {**context, "report": shown})
