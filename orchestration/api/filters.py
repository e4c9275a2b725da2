"""The API lists' filters (django-filter FilterSets, documented by drf-spectacular).

A malformed filter is a 400 naming it (``DjangoFilterBackend`` raises); a filter left
out may have a default (``defaults``), so the incident list shows open ones unless asked.
"""

from __future__ import annotations

from typing import Any, ClassVar

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters

from orchestration import request_numbers, values
from orchestration.models import Incident, ProcessInstance
from orchestration.values import parse_flag


class FlagField(forms.Field):
    """A true/false query parameter, read by the one rule for flags (``true``/``false``, ``yes``/``no``, …)."""

    default_error_messages = {"invalid": "Must be a valid boolean."}

    def to_python(self, value: Any) -> bool | None:
        if value in self.empty_values:
            return None
        flag = parse_flag(str(value))
        if flag is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return flag


class FlagFilter(django_filters.BooleanFilter):
    """A boolean filter that refuses words it does not know instead of ignoring them."""

    field_class = FlagField


class MomentField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date-time query parameter, taken in UTC; one the database could not store is refused."""

    default_error_messages = {
        "invalid": "Enter a date and time in ISO 8601 within the years 1 to 9999 (UTC)."
    }

    def to_python(self, value: Any) -> Any:
        moment = super().to_python(value)
        if moment is None:
            return None
        utc = values.as_utc(timezone.make_aware(moment) if timezone.is_naive(moment) else moment)
        if utc is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return utc


class MomentFilter(django_filters.IsoDateTimeFilter):
    """A date-time filter whose value reaches the database in UTC."""

    field_class = MomentField


class FilterSet(filters.FilterSet):
    """A FilterSet whose ``defaults`` apply to the parameters a request leaves out."""

    defaults: ClassVar[dict[str, str]] = {}

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        if data is not None and self.defaults:
            data = data.copy()
            for name, value in self.defaults.items():
                data.setdefault(name, value)
        super().__init__(data, *args, **kwargs)


class RequestNumberField(forms.CharField):
    """A request number as people write it: ``REQ-2026-000123``, ``req-2026-123``, ``123``."""

    default_error_messages = {"invalid": "Not a request number (e.g. REQ-2026-000123)."}

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value and request_numbers.parse(value) is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class RequestNumberFilter(django_filters.CharFilter):
    """Requests with that number; ``prefix`` leads from the filtered rows to the request."""

    field_class = RequestNumberField

    def __init__(self, *args: Any, prefix: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "The request number, e.g. REQ-2026-000123 (or just 123).")
        super().__init__(*args, **kwargs)
        self.prefix = prefix

    def filter(self, qs: QuerySet[Any], value: str) -> QuerySet[Any]:
        if value in ([], (), {}, "", None):
            return qs
        condition = request_numbers.matching(value, self.prefix)
        return qs if condition is None else qs.filter(condition)


class InstanceFilter(FilterSet):
    """Filters of the instance list."""

    workflow = django_filters.CharFilter(field_name="workflow__key", help_text="Workflow key.")
    status = django_filters.ChoiceFilter(choices=ProcessInstance.Status.choices)
    has_incident = FlagFilter()
    business_key = django_filters.CharFilter()
    request_number = RequestNumberFilter()
    started_after = MomentFilter(field_name="started_at", lookup_expr="gte")
    started_before = MomentFilter(field_name="started_at", lookup_expr="lt")

    class Meta:
        model = ProcessInstance
        fields: list[str] = []


class IncidentFilter(FilterSet):
    """Filters of the incident list: open ones unless ``resolved`` says otherwise."""

    defaults: ClassVar[dict[str, str]] = {"resolved": "false"}

    resolved = FlagFilter(
        method="filter_resolved", help_text="true: resolved incidents; false (when left out): open ones."
    )

    class Meta:
        model = Incident
        fields: list[str] = []

    def filter_resolved(self, queryset: QuerySet[Incident], name: str, value: bool) -> QuerySet[Incident]:
        """Resolved ones, or open ones."""
        return queryset.filter(resolved_at__isnull=not value)


class ListFilterBackend(filters.DjangoFilterBackend):
    """Filters lists only: a detail URL finds its object whatever the list's filters (and defaults) say."""

    def filter_queryset(self, request: Any, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        if getattr(view, "action", None) != "list":
            return queryset
        filtered: QuerySet[Any] = super().filter_queryset(request, queryset, view)
        return filtered
