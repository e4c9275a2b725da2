"""The inbox's filters and sort (a django-filter FilterSet); every one maps to an indexed or row-local condition."""

from __future__ import annotations

import datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from approvals.models import ApprovalTask
from orchestration import request_numbers
from orchestration.form_rendering import CompactRenderer
from orchestration.models import Workflow

DUE_CHOICES = [
    ("overdue", "Overdue"),
    ("today", "Due today"),
    ("week", "Due within 7 days"),
    ("none", "No due date"),
]
SORT_CHOICES = [
    ("-created", "Newest first"),
    ("created", "Oldest first"),
    ("due", "Due soonest"),
    ("-amount", "Largest amount"),
    ("amount", "Smallest amount"),
]
# Each sort as order_by arguments: tasks without a due date or amount come last.
SORTS: dict[str, list[Any]] = {
    "-created": ["-created_at", "-id"],
    "created": ["created_at", "id"],
    "due": [F("due_at").asc(nulls_last=True), "-id"],
    "-amount": [F("amount").desc(nulls_last=True), "-id"],
    "amount": [F("amount").asc(nulls_last=True), "-id"],
}


class _InboxForm(forms.Form):
    """Each filter refreshes the list with the whole form: selects at once, typing after a pause."""

    default_renderer = CompactRenderer  # a row of small filters above the list

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            chosen = isinstance(field.widget, forms.Select)
            field.widget.attrs.update(
                {
                    "hx-get": reverse("approvals:inbox"),
                    "hx-trigger": "change" if chosen else "input changed delay:400ms, search",
                    "hx-include": "closest form",
                    "hx-target": "#task-list",
                    "hx-sync": "closest form:replace",
                }
            )


def _placeholder(text: str, widget: type[forms.Widget] = forms.TextInput) -> forms.Widget:
    return widget(attrs={"placeholder": text})


def _requester_named(text: str, *, username: str) -> Q:
    """Tasks whose requester's first or last name holds ``text``, or whose username matches (``username`` lookup)."""
    return (
        Q(**{f"requester__username__{username}": text})
        | Q(requester__first_name__icontains=text)
        | Q(requester__last_name__icontains=text)
    )


class InboxFilter(django_filters.FilterSet):
    """Search, workflow, requester, amount range and due date, then the sort.

    ``workflows`` are those offered in the workflow menu (the ones the person has
    tasks of). A filter that does not validate is left out and its error shown; the
    others still apply.
    """

    q = django_filters.CharFilter(
        method="filter_search",
        label="Search",
        widget=_placeholder("Search or number…", forms.SearchInput),
    )
    workflow = django_filters.ModelChoiceFilter(
        field_name="instance__workflow",
        queryset=Workflow.objects.none(),
        to_field_name="key",
        empty_label="All workflows",
    )
    requester = django_filters.CharFilter(method="filter_requester", widget=_placeholder("Requester"))
    amount_min = django_filters.NumberFilter(
        field_name="amount",
        lookup_expr="gte",
        min_value=0,
        label="Amount from",
        widget=_placeholder("Min", forms.NumberInput),
    )
    amount_max = django_filters.NumberFilter(
        field_name="amount",
        lookup_expr="lte",
        min_value=0,
        label="Amount to",
        widget=_placeholder("Max", forms.NumberInput),
    )
    due = django_filters.ChoiceFilter(choices=DUE_CHOICES, method="filter_due", empty_label="Any due date")
    sort = django_filters.ChoiceFilter(choices=SORT_CHOICES, method="sort_by", empty_label=None)

    class Meta:
        model = ApprovalTask
        fields: list[str] = []
        form = _InboxForm

    def __init__(self, *args: Any, workflows: QuerySet[Workflow], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["workflow"].queryset = workflows

    def filter_search(self, tasks: QuerySet[ApprovalTask], name: str, value: str) -> QuerySet[ApprovalTask]:
        """The request number, or the text in the subject, the task, the workflow or the requester's names."""
        text = value.strip()
        if not text:
            return tasks
        return tasks.filter(
            Q(subject__icontains=text)
            | Q(name__icontains=text)
            | Q(instance__workflow__name__icontains=text)
            | _requester_named(text, username="icontains")
            | (request_numbers.matching(text, "instance__") or Q(pk__in=[]))
        )

    def filter_requester(
        self, tasks: QuerySet[ApprovalTask], name: str, value: str
    ) -> QuerySet[ApprovalTask]:
        """The requester's exact username, or part of their first or last name."""
        who = value.strip()
        if not who:
            return tasks
        return tasks.filter(_requester_named(who, username="iexact"))

    def filter_due(self, tasks: QuerySet[ApprovalTask], name: str, value: str) -> QuerySet[ApprovalTask]:
        """Overdue, due by the end of today, within a week, or without a due date."""
        now = timezone.now()
        if value == "overdue":
            return tasks.filter(due_at__lt=now)
        if value == "today":
            return tasks.filter(due_at__lte=timezone.localtime(now).replace(hour=23, minute=59, second=59))
        if value == "week":
            return tasks.filter(due_at__lte=now + datetime.timedelta(days=7))
        return tasks.filter(due_at__isnull=True)

    def sort_by(self, tasks: QuerySet[ApprovalTask], name: str, value: str) -> QuerySet[ApprovalTask]:
        """The chosen order (the queryset given comes newest first)."""
        return tasks.order_by(*SORTS[value])
