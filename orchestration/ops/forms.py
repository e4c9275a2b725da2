"""The operations console's forms: the instance list's filters and the fixes an operator submits.

:class:`InstanceFilter` serves the page and the REST API alike (django-filter): each filter
maps to an indexed column, a row-local condition or an ``EXISTS`` on the instance's open
steps, so a page costs the same few queries whatever the filters.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import django_filters
from django import forms
from django.db.models import Exists, F, OuterRef, Q, QuerySet, TextField
from django.db.models.functions import Cast

from orchestration.access import operated_workflows
from orchestration.api.filters import FlagFilter
from orchestration.form_rendering import CompactRenderer
from orchestration.models import ProcessInstance, Step, Workflow

SORT_CHOICES = [
    ("-started", "Newest first"),
    ("started", "Oldest first"),
    ("-ended", "Recently finished"),
    ("workflow", "Workflow"),
    ("status", "Status"),
    ("initiator", "Started by"),
]
# Each sort as order_by arguments; the id breaks ties so pages never overlap.
SORTS: dict[str, list[Any]] = {
    "-started": ["-started_at", "-id"],
    "started": ["started_at", "id"],
    "-ended": [F("ended_at").desc(nulls_last=True), "-id"],
    "workflow": ["workflow__name", "-started_at", "-id"],
    "status": ["status", "-started_at", "-id"],
    "initiator": [F("initiator__username").asc(nulls_last=True), "-started_at", "-id"],
}
_HEX = re.compile(r"^[0-9a-fA-F-]{4,36}$")


class _FilterForm(forms.Form):
    default_renderer = CompactRenderer  # a band of small filters above the list


def _text(placeholder: str, widget: type[forms.Widget] = forms.TextInput) -> forms.Widget:
    return widget(attrs={"placeholder": placeholder})


class InstanceFilter(django_filters.FilterSet):
    """Filters and sort of the operations console's instance list (page and API)."""

    q = django_filters.CharFilter(
        method="filter_data",
        label="Search in the request's data",
        help_text="Text anywhere in the request's data (item, justification, amounts…).",
        widget=_text("Search in the data…", forms.SearchInput),
    )
    workflow = django_filters.ModelChoiceFilter(
        queryset=lambda request: _operated(request),
        to_field_name="key",
        empty_label="All workflows",
        help_text="Workflow key.",
    )
    version = django_filters.NumberFilter(
        field_name="version__number",
        min_value=1,
        label="Version",
        help_text="Version number of the workflow.",
        widget=_text("Version", forms.NumberInput),
    )
    status = django_filters.ChoiceFilter(choices=ProcessInstance.Status.choices, empty_label="Any status")
    has_incident = FlagFilter(
        label="Needs attention",
        help_text="true: only requests stopped by a failed step; false: only the others.",
        widget=forms.Select(
            choices=[("", "Attention: any"), ("true", "Needs attention"), ("false", "No problem")]
        ),
    )
    step = django_filters.CharFilter(
        method="filter_step",
        label="Waiting at",
        help_text="Part of the name (or the id) of a step the request is at now.",
        widget=_text("Waiting at step…"),
    )
    initiator = django_filters.CharFilter(
        method="filter_initiator",
        label="Started by",
        help_text="Username, or part of the first or last name, of who started it.",
        widget=_text("Started by…"),
    )
    reference = django_filters.CharFilter(
        method="filter_reference",
        label="Request number or business key",
        help_text="The request number (the first characters of its id) or its business key.",
        widget=_text("Request no. or key"),
    )
    started_from = django_filters.DateFilter(
        method="filter_started_from",
        label="Started on or after",
        help_text="A date (YYYY-MM-DD), UTC.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    started_to = django_filters.DateFilter(
        method="filter_started_to",
        label="Started on or before",
        help_text="A date (YYYY-MM-DD), UTC.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    sort = django_filters.ChoiceFilter(
        choices=SORT_CHOICES, method="sort_by", empty_label=None, help_text="Order of the list."
    )

    class Meta:
        model = ProcessInstance
        fields: list[str] = []
        form = _FilterForm

    @property
    def qs(self) -> QuerySet[ProcessInstance]:
        """The filtered instances, newest first unless a sort was chosen."""
        instances: QuerySet[ProcessInstance] = super().qs
        if not (self.is_bound and self.form.is_valid() and self.form.cleaned_data.get("sort")):
            instances = instances.order_by(*SORTS["-started"])
        return instances

    def filter_data(
        self, instances: QuerySet[ProcessInstance], name: str, value: str
    ) -> QuerySet[ProcessInstance]:
        """The text anywhere in the variables (start data and what the process recorded)."""
        text = value.strip()
        if not text:
            return instances
        return instances.alias(data_text=Cast("variables", TextField())).filter(data_text__icontains=text)

    def filter_step(
        self, instances: QuerySet[ProcessInstance], name: str, value: str
    ) -> QuerySet[ProcessInstance]:
        """Requests with an open step whose name holds the text (or whose block id is it)."""
        text = value.strip()
        if not text:
            return instances
        steps = Step.objects.filter(instance=OuterRef("pk"), status__in=Step.OPEN_STATUSES).filter(
            Q(node_name__icontains=text) | Q(node_id=text)
        )
        return instances.filter(Exists(steps))

    def filter_initiator(
        self, instances: QuerySet[ProcessInstance], name: str, value: str
    ) -> QuerySet[ProcessInstance]:
        """The initiator's exact username, or part of their first or last name."""
        who = value.strip()
        if not who:
            return instances
        return instances.filter(
            Q(initiator__username__iexact=who)
            | Q(initiator__first_name__icontains=who)
            | Q(initiator__last_name__icontains=who)
        )

    def filter_reference(
        self, instances: QuerySet[ProcessInstance], name: str, value: str
    ) -> QuerySet[ProcessInstance]:
        """The business key exactly, or a request number (the start of the id)."""
        text = value.strip().lstrip("#")
        if not text:
            return instances
        match = Q(business_key=text)
        if _HEX.match(text):
            match |= Q(id__startswith=text.lower())
        return instances.filter(match)

    def filter_started_from(
        self, instances: QuerySet[ProcessInstance], name: str, value: datetime.date
    ) -> QuerySet[ProcessInstance]:
        """Started on that day (UTC) or later."""
        return instances.filter(started_at__gte=_midnight(value))

    def filter_started_to(
        self, instances: QuerySet[ProcessInstance], name: str, value: datetime.date
    ) -> QuerySet[ProcessInstance]:
        """Started on that day (UTC) or earlier."""
        if value >= datetime.date.max:
            return instances
        return instances.filter(started_at__lt=_midnight(value + datetime.timedelta(days=1)))

    def sort_by(
        self, instances: QuerySet[ProcessInstance], name: str, value: str
    ) -> QuerySet[ProcessInstance]:
        """The chosen order."""
        return instances.order_by(*SORTS[value])


def _operated(request: Any) -> QuerySet[Workflow]:
    """The workflow menu: the workflows the person operates, by name."""
    if request is None or not request.user.is_authenticated:
        return Workflow.objects.none()
    return operated_workflows(request.user).order_by("name")


def _midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)


def without(data: Any, name: str) -> Any:
    """``data`` (a QueryDict) without the parameter ``name``: counts per status ignore the status filter."""
    rest = data.copy()
    rest.pop(name, None)
    return rest
