"""The reports page (charts drawn by Chart.js from data in the page) and its CSV export."""

from __future__ import annotations

import csv
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_GET

from orchestration.access import access_workflow, operated_workflows
from orchestration.models import Workflow
from orchestration.ops.reports import PERIODS, Period, ReportSection, report
from orchestration.spreadsheet import cell


class ReportForm(forms.Form):
    """Which workflow, over how many days, and (for the export) which table."""

    workflow = forms.SlugField(max_length=100, required=False)
    days = forms.TypedChoiceField(
        choices=[(str(d), f"Last {d} days") for d in PERIODS], coerce=int, required=False, empty_value=None
    )
    table = forms.SlugField(max_length=30, required=False)


def _read(request: HttpRequest) -> tuple[Workflow, Period, list[ReportSection], str] | HttpResponse:
    """The workflow (404 unseen, 403 without the operate right), the period and the sections."""
    form = ReportForm(request.GET)
    if not form.is_valid():
        fields = ", ".join(sorted(form.errors))
        return HttpResponseBadRequest(f"Check these fields: {fields}.", content_type="text/plain")
    operated = operated_workflows(request.user).order_by("name")  # type: ignore[arg-type]
    key = form.cleaned_data["workflow"]
    if not key:
        first = operated.first()
        if first is None:
            raise Http404("You operate no workflow.")
        key = first.key
    workflow = access_workflow(request.user, key, "change_workflow")  # type: ignore[arg-type]
    period = Period.last(form.cleaned_data["days"] or 30)
    return workflow, period, report(workflow, period), form.cleaned_data["table"]


@login_required
@require_GET
def report_page(request: HttpRequest) -> HttpResponse:
    """One workflow's report over a period, for its operators."""
    read = _read(request)
    if isinstance(read, HttpResponse):
        return read
    workflow, period, sections, _ = read
    context: dict[str, Any] = {
        "workflow": workflow,
        "workflows": list(operated_workflows(request.user).order_by("name").values_list("key", "name")),  # type: ignore[arg-type]
        "period": period,
        "periods": PERIODS,
        "sections": sections,
        "charts": {section.key: section.chart.as_data() for section in sections if section.chart},
    }
    return render(request, "ops/reports.html", context)


@login_required
@require_GET
def report_csv(request: HttpRequest) -> HttpResponse:
    """One section's table as CSV (``table`` names it: days, blocks, approvals, overdue)."""
    read = _read(request)
    if isinstance(read, HttpResponse):
        return read
    workflow, period, sections, table = read
    section = next((s for s in sections if s.key == table), None)
    if section is None:
        names = ", ".join(s.key for s in sections)
        return HttpResponseBadRequest(f"table: choose one of {names}.", content_type="text/plain")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{workflow.key}-{section.key}-{period.days}d.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(section.headers)
    for row in section.rows:
        writer.writerow([cell(value) for value in row])
    return response
