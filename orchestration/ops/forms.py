"""The operations console's forms: the instance list's filters and the fixes an operator submits.

:class:`InstanceFilter` serves the page and the REST API alike (django-filter): each filter
maps to an indexed column, a row-local condition or an ``EXISTS`` on the instance's open
steps, so a page costs the same few queries whatever the filters.
"""

from __future__ import annotations

import datetime
import json
import re
import uuid
from typing import Any

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import F, Q, QuerySet, TextField
from django.db.models.functions import Cast

from orchestration import request_numbers
from orchestration.access import operated_workflows
from orchestration.api.filters import FlagFilter
from orchestration.engine.graphs import graph_for
from orchestration.form_rendering import CompactRenderer
from orchestration.models import ProcessInstance, Step, Workflow, WorkflowVersion

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
    # Grouped by workflow, and by who started them, each group newest first: the groups come in
    # the order the workflows and people were created, which an index serves page by page
    # (by name, every request was read and sorted: seconds at 10^6).
    "workflow": ["workflow_id", "-started_at", "-id"],
    "status": ["status", "-started_at", "-id"],
    "initiator": [F("initiator_id").asc(nulls_last=True), "-started_at", "-id"],
}
# "Started by" matching more people than this is matched by a join instead of a list of ids.
_PEOPLE_CAP = 50
_HEX = re.compile(r"^(?=(?:-*[0-9a-fA-F]){4,32}-*$)[0-9a-fA-F-]{4,36}$")


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
        help_text="The request number (REQ-2026-000123, or just 123), the first characters of its id, or its business key.",
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
        """The text anywhere in the variables (start data and what the process recorded), or the request number."""
        text = value.strip()
        if not text:
            return instances
        found = Q(data_text__icontains=text)
        numbered = request_numbers.matching(text)
        if numbered is not None:
            found |= numbered
        return instances.alias(data_text=Cast("variables", TextField())).filter(found)

    def filter_step(
        self, instances: QuerySet[ProcessInstance], name: str, value: str
    ) -> QuerySet[ProcessInstance]:
        """Requests with an open step whose name holds the text (or whose block id is it)."""
        text = value.strip()
        if not text:
            return instances
        # Only running requests are at a step: the status tabs of the others are then known empty
        # without reading a row (PostgreSQL sees status = 'running' AND status = 'completed').
        return instances.filter(
            status=ProcessInstance.Status.RUNNING,
            pk__in=Step.objects.filter(status__in=Step.OPEN_STATUSES)
            .filter(_named(text, self.request))
            .values("instance_id"),
        )

    def filter_initiator(
        self, instances: QuerySet[ProcessInstance], name: str, value: str
    ) -> QuerySet[ProcessInstance]:
        """The initiator's exact username, or part of their first or last name."""
        who = value.strip()
        if not who:
            return instances
        # The people first (a small table), then their requests by the initiator index, one
        # person's newest first: joining the names into the list's query made PostgreSQL walk
        # every request newest first to find theirs (16,000 rows for a page at 10^6).
        people = get_user_model().objects.filter(
            Q(username__iexact=who) | Q(first_name__icontains=who) | Q(last_name__icontains=who)
        )
        found = list(people.values_list("pk", flat=True)[: _PEOPLE_CAP + 1])
        if len(found) > _PEOPLE_CAP:  # a very common name part: let the database join them
            return instances.filter(initiator__in=people.values("pk"))
        return instances.filter(initiator_id__in=found)

    def filter_reference(
        self, instances: QuerySet[ProcessInstance], name: str, value: str
    ) -> QuerySet[ProcessInstance]:
        """The business key exactly, a request number, or the start of the id."""
        text = value.strip().lstrip("#")
        if not text:
            return instances
        match = Q(business_key=text)
        numbered = request_numbers.matching(text)
        if numbered is not None:
            match |= numbered
        if _HEX.match(text):
            # The ids that start so, as a range of the primary key: "starts with" casts every id
            # to text (a scan of the whole table at 10^6).
            digits = text.replace("-", "").lower()
            match |= Q(id__range=(uuid.UUID(digits.ljust(32, "0")), uuid.UUID(digits.ljust(32, "f"))))
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


def _named(text: str, request: Any) -> Q:
    """Steps whose name holds ``text`` (any case), or whose block id is it.

    The names are matched in the operated versions' graphs (cached per process), which a step
    copies its name from: the steps are then found by exact (name, block) pairs on the
    open-step index, which PostgreSQL estimates from its statistics. Matching the steps' own
    names (``UPPER(node_name) LIKE``) read every open step, three times a page, and was
    estimated at 5 rows for 39,000, which chose plans that sorted them all.
    """
    wanted = text.casefold()
    pairs = {
        (node_id, node["name"])
        # Drafts hold no request (only a published version starts one), and their graphs are not cached.
        for version_id, checksum in WorkflowVersion.objects.filter(workflow__in=_operated(request))
        .exclude(status=WorkflowVersion.Status.DRAFT)
        .order_by()
        .values_list("id", "checksum")
        for node_id, node in graph_for(version_id, checksum)["nodes"].items()
        if node["name"] and wanted in node["name"].casefold()
    }
    named = Q(node_id=text)
    for node_id, name in pairs:
        named |= Q(node_name=name, node_id=node_id)
    return named


def _midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)


def without(data: Any, name: str) -> Any:
    """``data`` (a QueryDict) without the parameter ``name``: counts per status ignore the status filter."""
    rest = data.copy()
    rest.pop(name, None)
    return rest


# --- fixes ---------------------------------------------------------------------------------


class _FixForm(forms.Form):
    """A fix: each kind's fields get ids of their own, as several fixes share the page."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{type(self).__name__.lower()}-%s")
        super().__init__(*args, **kwargs)

    reason = forms.CharField(
        label="Why",
        max_length=400,
        help_text="Kept in the request's history with your name.",
        widget=forms.TextInput(attrs={"placeholder": "What was wrong, and what you did"}),
    )


class CancelForm(_FixForm):
    """Stop the request; its requester is told why."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        reason = self.fields["reason"]
        reason.help_text = "The requester reads this."
        reason.widget.attrs["placeholder"] = "Why the request is cancelled"


class MoveForm(_FixForm):
    """Stop an open step and continue at another block."""

    step = forms.TypedChoiceField(label="Stop", coerce=int)
    target = forms.ChoiceField(label="Continue at")

    def __init__(
        self, *args: Any, steps: list[tuple[int, str]], targets: list[tuple[str, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["step"].choices = steps  # type: ignore[attr-defined]
        self.fields["target"].choices = targets  # type: ignore[attr-defined]
        self.order_fields(["step", "target", "reason"])


class ValuesForm(_FixForm):
    """A text field per variable; ``values()`` gives what the operator changed (or filled), parsed."""

    def __init__(
        self,
        *args: Any,
        items: list[tuple[str, str, str, str, str, bool]],
        choices: dict[str, tuple[str, ...]] | None = None,
        **kwargs: Any,
    ) -> None:
        """``items``: (name, label, type in words, kind, current text, from the start form) per variable;
        ``choices``: the allowed values of the variables that have them (offered as a list)."""
        super().__init__(*args, **kwargs)
        self.kinds: dict[str, str] = {}
        self.current: dict[str, str] = {}
        # Start-form fields come first on the page; the rest (what the process recorded) folds away.
        self.start_fields: set[str] = set()
        for name, label, type_words, kind, text, from_start in items:
            if from_start:
                self.start_fields.add(f"v_{name}")
            widget: forms.Widget = (
                forms.Textarea(attrs={"rows": 2})
                if len(text) > 60 or kind in ("map", "list", "text")
                else forms.TextInput()
            )
            allowed = (choices or {}).get(name)
            if allowed:
                self.fields[f"v_{name}"] = forms.ChoiceField(
                    label=label,
                    required=False,
                    initial=text,
                    help_text=f"One of {len(allowed)} values · {name}",
                    choices=[("", "—"), *((c, c) for c in allowed)],
                )
            else:
                self.fields[f"v_{name}"] = forms.CharField(
                    label=label,
                    required=False,
                    initial=text,
                    help_text=f"{type_words} · {name}",
                    strip=False,
                    widget=widget,
                )
            self.kinds[name] = kind
            self.current[name] = text
        self.order_fields([*[f"v_{item[0]}" for item in items], "reason"])

    def start_data(self) -> list[Any]:
        """The bound fields of the start form's variables."""
        return [self[name] for name in self.fields if name in self.start_fields]

    def recorded_data(self) -> list[Any]:
        """The bound fields of the variables the process recorded on the way."""
        return [self[name] for name in self.fields if name.startswith("v_") and name not in self.start_fields]

    def _include(self, name: str, text: str) -> bool:
        return text != self.current[name]

    def values(self) -> dict[str, Any]:
        """The values to send to the engine (which converts and checks them), by variable name."""
        chosen: dict[str, Any] = {}
        for name, kind in self.kinds.items():
            text = self.cleaned_data.get(f"v_{name}", "")
            if not self._include(name, text):
                continue
            if kind in ("map", "list", "dyn"):
                try:
                    chosen[name] = json.loads(text) if text.strip() else None
                except ValueError:
                    self.add_error(f"v_{name}", 'Enter JSON, e.g. {"key": "value"} or [1, 2].')
                    continue
            else:
                chosen[name] = text
        return chosen

    def engine_errors(self, errors: dict[str, list[str]]) -> None:
        """Put the engine's refusals (by variable) on the fields."""
        for name, messages in errors.items():
            self.add_error(f"v_{name}" if f"v_{name}" in self.fields else None, " ".join(messages))


class FixDataForm(ValuesForm):
    """Correct the request's data, then run the failed step again."""


class SkipForm(ValuesForm):
    """Treat the failed step as done, with the values it should have produced (blank: not set)."""

    def _include(self, name: str, text: str) -> bool:
        return bool(text.strip())
