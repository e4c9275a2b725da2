"""Admin for the org chart (profiles on the user page), authority limits and approval tasks."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from simple_history.admin import SimpleHistoryAdmin

from approvals.actions import InvalidDecision, TaskAlreadyDecided, claim_task, reassign_task, release_task
from approvals.chain import ManagerCycle, fallback_warnings, manager_chain, route
from approvals.changes import person_changes
from approvals.delegation import ABSENCE_FIELDS, absence_edited, absence_history
from approvals.exchange import NoRate, base_currency
from approvals.forms import PersonChoiceField
from approvals.models import (
    ApprovalTask,
    AuthorityLimit,
    ExchangeRate,
    FinalApprovers,
    Profile,
    ProvisioningToken,
    money,
    person,
)
from approvals.org_chart import org_tree
from approvals.people import COLUMNS, ImportPlan, apply_plan, read_people
from approvals.routing import FALLBACK_GROUP
from approvals.scim import create_provisioning_token
from orchestration import money as money_values
from orchestration.engine import InvalidState
from orchestration.models import WorkflowVersion
from orchestration.templatetags.moments import when

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.db.models import QuerySet

User = get_user_model()


def _chain_text(user: Any) -> str:
    try:
        managers = manager_chain(user)
    except ManagerCycle as exc:
        return str(exc)
    return " → ".join(person(m) for m in managers) or "—"


def _reports_text(user: Any) -> str:
    reports = User._default_manager.filter(profile__manager=user).order_by("first_name", "last_name")
    return ", ".join(person(r) for r in reports) or "—"


class _ReportingLines:
    """The manager chain and direct reports, shown read-only wherever a profile is edited."""

    @admin.display(description="Manager chain (level 1 first)")
    def manager_chain(self, obj: Profile) -> str:
        return _chain_text(obj.user) if obj.pk else "—"

    @admin.display(description="Direct reports")
    def direct_reports(self, obj: Profile) -> str:
        return _reports_text(obj.user) if obj.pk else "—"

    @admin.display(description="Out-of-office history")
    def absence_history(self, obj: Profile) -> str:
        if not obj.pk:
            return "—"
        events = absence_history(obj.user)[:10]
        return (
            format_html_join(mark_safe("<br>"), "{} · {}", ((when(e.created_at), e.message) for e in events))
            or "—"
        )

    @admin.display(description="Who changed what")
    def changes(self, obj: Profile) -> str:
        """Who changed this person's manager, delegate, limits… and when, newest first."""
        if not obj.pk:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((when(c.at), c.who, c.what, c.why) for c in person_changes(obj.user)),
        )
        if not rows:
            return "No changes recorded yet."
        head = mark_safe("<tr><th>When</th><th>Who</th><th>What</th><th>Why</th></tr>")
        return format_html(
            '<table class="person-changes"><thead>{}</thead><tbody>{}</tbody></table>', head, rows
        )


class ProfileInline(_ReportingLines, admin.StackedInline):
    """The org chart entry of a user, edited on the user's page."""

    model = Profile
    fk_name = "user"
    can_delete = False
    verbose_name_plural = "Org chart"
    autocomplete_fields = ("manager", "delegate")
    readonly_fields = ("manager_chain", "direct_reports", "absence_history", "changes")
    fieldsets = (
        (None, {"fields": ("title", "department", "cost_centre", "time_zone")}),
        ("Reporting", {"fields": ("manager", "manager_chain", "direct_reports")}),
        (
            "Out of office",
            {"fields": ("out_of_office_from", "out_of_office_to", "delegate", "absence_history")},
        ),
        ("Changes", {"fields": ("changes",)}),
    )


class AuthorityLimitInline(admin.TabularInline):
    model = AuthorityLimit
    fk_name = "user"
    extra = 0
    fields = ("amount", "currency", "category", "valid_from", "valid_to")


admin.site.unregister(User)


@admin.register(User)
class PersonAdmin(UserAdmin):
    """Django's user admin with the org chart profile and personal limits inline."""

    inlines = (ProfileInline, AuthorityLimitInline)
    list_display = (*UserAdmin.list_display, "title", "department", "manager")  # type: ignore[misc]
    list_filter = (*UserAdmin.list_filter, "profile__department")
    search_fields = (
        *UserAdmin.search_fields,
        "profile__title",
        "profile__department",
        "profile__cost_centre",
    )
    list_select_related = ("profile", "profile__manager")
    change_list_template = "admin/auth/user/people_change_list.html"

    def get_urls(self) -> list[URLPattern]:
        upload = path(
            "import/", self.admin_site.admin_view(self.import_people), name="approvals_import_people"
        )
        return [upload, *super().get_urls()]

    def import_people(self, request: HttpRequest) -> HttpResponse:
        """Upload an HR file, preview every change it makes, confirm: the command's dry run and --apply."""
        if not request.user.has_perm("approvals.import_people"):
            raise PermissionDenied
        form = ImportPeopleForm(request.POST or None, request.FILES or None)
        plan: ImportPlan | None = None
        if request.method == "POST" and form.is_valid():
            plan = read_people(
                form.cleaned_data["content"],
                deactivate_missing=form.cleaned_data["deactivate_missing"],
                keep=request.user,
            )
            confirmed = "apply" in request.POST and form.cleaned_data["checksum"] == form.changes_checksum(
                plan
            )
            if confirmed and plan.ok and plan.changes:
                count = apply_plan(
                    plan, actor=request.user, reason=f"HR import ({form.cleaned_data['name']})"
                )
                self.message_user(
                    request, f"{count} change(s) made from {form.cleaned_data['name']}.", messages.SUCCESS
                )
                return redirect("admin:auth_user_changelist")
            if "apply" in request.POST and plan.ok:
                self.message_user(
                    request, "People changed since the preview: check the changes again.", messages.WARNING
                )
            form = ImportPeopleForm.preview(form, plan)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import people from HR",
            "form": form,
            "plan": plan,
            "columns": [name.replace("_", " ") for name in COLUMNS],
        }
        return TemplateResponse(request, "admin/approvals/import_people.html", context)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        for profile_form in formset.forms if formset.model is Profile else ():
            if set(profile_form.changed_data) & set(ABSENCE_FIELDS) and profile_form.instance.pk:
                absence_edited(profile_form.instance, request.user)

    def get_inline_instances(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        # The add page is Django's two-step password form; the org chart comes on the next page.
        return super().get_inline_instances(request, obj) if obj is not None else []

    @admin.display(description="Title", ordering="profile__title")
    def title(self, obj: Any) -> str:
        profile = getattr(obj, "profile", None)
        return profile.title if profile else ""

    @admin.display(description="Department", ordering="profile__department")
    def department(self, obj: Any) -> str:
        profile = getattr(obj, "profile", None)
        return profile.department if profile else ""

    @admin.display(description="Manager")
    def manager(self, obj: Any) -> str:
        profile = getattr(obj, "profile", None)
        return person(profile.manager) if profile and profile.manager else ""


@admin.register(Profile)
class ProfileAdmin(_ReportingLines, SimpleHistoryAdmin):
    """The org chart as a list: who reports to whom, who is away and who stands in."""

    list_display = (
        "user",
        "title",
        "department",
        "cost_centre",
        "manager",
        "delegate",
        "out_of_office_from",
        "out_of_office_to",
    )
    list_filter = ("department", "cost_centre", ("out_of_office_from", admin.EmptyFieldListFilter))
    search_fields = ("user__username", "user__first_name", "user__last_name", "title", "department")
    list_select_related = ("user", "manager", "delegate")
    autocomplete_fields = ("user", "manager", "delegate")
    readonly_fields = ("manager_chain", "direct_reports", "absence_history", "changes")

    def save_model(self, request: HttpRequest, obj: Profile, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if set(form.changed_data) & set(ABSENCE_FIELDS):
            absence_edited(obj, request.user)

    def get_urls(self) -> list[URLPattern]:
        chart = path(
            "org-chart/", self.admin_site.admin_view(self.org_chart), name="approvals_profile_org_chart"
        )
        return [chart, *super().get_urls()]

    def org_chart(self, request: HttpRequest) -> HttpResponse:
        """The org chart as a tree, with "Who can approve?" highlighted on it (staff who may view profiles)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = WhoCanApproveForm(request.GET or None)
        found: Any = None
        requester: Any = None
        error = ""
        on_date = timezone.localdate()
        if form.is_valid():
            data = form.cleaned_data
            requester = data["requester"]
            # The tree shows limits and absences on the date asked about, as the chain reads them.
            on_date = data["on_date"] or on_date
            try:
                found = route(requester, data["amount"], data["currency"], data["category"].strip(), on_date)
            except (ManagerCycle, NoRate) as exc:
                error = str(exc)
        roots, count = org_tree(on_date, found, requester)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Org chart",
            "form": form,
            "roots": roots,
            "count": count,
            "result": found,
            "requester": requester,
            "wanted": money(form.cleaned_data["amount"], form.cleaned_data["currency"]) if found else "",
            "error": error,
            "fallback_group": FALLBACK_GROUP,
        }
        return TemplateResponse(request, "admin/approvals/profile/org_chart.html", context)


class WhoCanApproveForm(forms.Form):
    requester = PersonChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("first_name", "last_name")
    )
    amount = forms.CharField(max_length=40, help_text="As a request would give it, e.g. 1250.50.")
    currency = forms.CharField(max_length=3, initial=settings.BATON_BASE_CURRENCY)
    category = forms.CharField(required=False, help_text="Blank: limits for any category.")
    on_date = forms.DateField(
        required=False,
        label="On",
        help_text="Blank: today. Limits and exchange rates in force on this date apply.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean_currency(self) -> str:
        currency = self.cleaned_data["currency"]
        if not money_values.is_currency(currency):
            raise forms.ValidationError("Enter a currency code such as USD, EUR or JPY.")
        return currency.upper()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "amount" in data and "currency" in data:
            # The same rules as a request's money field: minor units and bounds of the currency.
            try:
                data["amount"] = money_values.parse_amount(data["amount"], data["currency"])
            except money_values.MoneyError as exc:
                self.add_error("amount", str(exc))
        return data


@admin.register(AuthorityLimit)
class AuthorityLimitAdmin(SimpleHistoryAdmin):
    """Who may approve how much: per person or per group, per currency and category, with dates."""

    change_list_template = "admin/approvals/authoritylimit/change_list.html"

    def get_urls(self) -> list[URLPattern]:
        check = path(
            "who-can-approve/",
            self.admin_site.admin_view(self.who_can_approve),
            name="approvals_authoritylimit_who_can_approve",
        )
        return [check, *super().get_urls()]

    def who_can_approve(self, request: HttpRequest) -> HttpResponse:
        """Who approves X of category Y for requester Z: the chain level by level and the limit that covers it."""
        form = WhoCanApproveForm(request.GET or None)
        result: Any = None
        error = wanted = requester_name = ""
        if form.is_valid():
            data = form.cleaned_data
            wanted = money(data["amount"], data["currency"])
            requester_name = person(data["requester"])
            try:
                result = route(
                    data["requester"],
                    data["amount"],
                    data["currency"],
                    data["category"].strip(),
                    data["on_date"] or timezone.localdate(),
                )
            except (ManagerCycle, NoRate) as exc:
                error = str(exc)
        context = {
            "wanted": wanted,
            "requester_name": requester_name,
            "base_currency": base_currency(),
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Who can approve?",
            "form": form,
            "result": result,
            "error": error,
            "fallback_group": FALLBACK_GROUP,
        }
        return TemplateResponse(request, "admin/approvals/who_can_approve.html", context)

    list_display = ("holder", "limit", "category", "valid_from", "valid_to")
    list_filter = ("currency", "category", "group", ("valid_to", admin.EmptyFieldListFilter))
    search_fields = ("user__username", "user__first_name", "user__last_name", "group__name", "category")
    list_select_related = ("user", "group")
    autocomplete_fields = ("user", "group")
    fields = ("user", "group", "amount", "currency", "category", "valid_from", "valid_to")

    @admin.display(description="Holder")
    def holder(self, obj: AuthorityLimit) -> str:
        return person(obj.user) if obj.user_id else f"Group {obj.group}"

    @admin.display(description="Limit", ordering="amount")
    def limit(self, obj: AuthorityLimit) -> str:
        return obj.describe()


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    """Effective-dated rates into the base currency, for requests in currencies limits are not set in."""

    list_display = ("currency", "rate_shown", "valid_from")
    list_filter = ("currency", "base")
    search_fields = ("currency",)
    date_hierarchy = "valid_from"
    fields = ("currency", "rate", "valid_from", "base_shown")
    readonly_fields = ("base_shown",)

    @admin.display(description="Rate")
    def rate_shown(self, obj: ExchangeRate) -> str:
        return obj.describe()

    @admin.display(description="Base currency")
    def base_shown(self, obj: ExchangeRate) -> str:
        return obj.base or base_currency()


def fallback_groups() -> list[Any]:
    """The groups requests fall back to: each published Approval's fallback group, then the final approvers."""
    names = {FALLBACK_GROUP}
    for graph in WorkflowVersion.objects.filter(status=WorkflowVersion.Status.PUBLISHED).values_list(
        "graph", flat=True
    ):
        for node in (graph or {}).get("nodes", {}).values():
            if node.get("kind") == "user_task" and node["config"].get("escalate_to"):
                names.add(node["config"]["escalate_to"])
    groups = list(Group.objects.filter(name__in=names).order_by("name"))
    for row in FinalApprovers.objects.select_related("group"):
        if row.group not in groups:
            groups.append(row.group)
    return groups


@admin.register(FinalApprovers)
class FinalApproversAdmin(admin.ModelAdmin):
    """Who decides when a request's chain and fallback group have nobody left: per currency and category.

    Its pages warn about fallback groups that could leave a request with nobody to decide.
    """

    list_display = ("group", "currency", "category", "position")
    list_editable = ("position",)
    list_filter = ("currency",)
    autocomplete_fields = ("group",)
    fields = ("group", "currency", "category", "position")

    def _warn(self, request: HttpRequest) -> None:
        warnings = fallback_warnings(fallback_groups())
        warned = {group.pk for group, _ in warnings}
        # A catch-all row whose group has someone eligible catches what a fallback group cannot decide.
        safe = [
            row.group
            for row in FinalApprovers.objects.select_related("group").filter(currency="", category="")
            if row.group_id not in warned
        ]
        finals = set(FinalApprovers.objects.values_list("group_id", flat=True))
        for group, warning in warnings:
            if safe and group.pk not in finals:
                names = ", ".join(str(g) for g in safe)
                self.message_user(
                    request, f"{warning} Until then, the final approvers decide: {names}.", messages.INFO
                )
            else:
                self.message_user(request, warning, messages.WARNING)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if request.method == "GET":
            self._warn(request)
        return super().changelist_view(request, extra_context)


class ReassignForm(forms.Form):
    """The intermediate page of the Reassign action: to whom, and why."""

    to_user = forms.ModelChoiceField(
        queryset=User._default_manager.filter(is_active=True).order_by("username"), label="Reassign to"
    )
    reason = forms.CharField(max_length=300, help_text="Recorded in the request's history.")


@admin.register(ApprovalTask)
class ApprovalTaskAdmin(admin.ModelAdmin):
    """Approval tasks, read-only: they change hands only through claim, release and reassign.

    Editing a status or assignee here would close or move a task without an event and
    leave its process waiting forever, so every field is read-only, nothing is added or
    deleted, and the actions below call the approvals actions (each writes an event).
    """

    list_display = (
        "name",
        "instance",
        "assignee",
        "candidate_group",
        "chain_level",
        "status",
        "outcome",
        "created_at",
    )
    list_filter = ("status", "outcome", "candidate_group")
    search_fields = ("name", "assignee__username", "instance__id")
    actions = ("claim", "release", "reassign")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in ApprovalTask._meta.concrete_fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # Never written from a form: a stale copy saved back would undo what the engine did meanwhile.
        pass

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        no_save = {"show_save": False, "show_save_and_continue": False, "show_save_and_add_another": False}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **no_save})

    def _each(
        self,
        request: HttpRequest,
        tasks: QuerySet[ApprovalTask],
        act: Callable[[ApprovalTask, Any], Any],
        done: str,
    ) -> None:
        """Run ``act`` (task, acting user) on each task; say how many went through and why each other one did not."""
        count = 0
        for task in tasks.order_by("pk"):
            try:
                act(task, request.user)
            except (PermissionDenied, TaskAlreadyDecided, InvalidDecision, InvalidState) as exc:
                self.message_user(request, f"{task.name} (#{task.pk}): {exc}", messages.ERROR)
            else:
                count += 1
        if count:
            self.message_user(request, f"{count} task(s) {done}.", messages.SUCCESS)

    @admin.action(description="Claim (take from the group queue for me)", permissions=["change"])
    def claim(self, request: HttpRequest, queryset: QuerySet[ApprovalTask]) -> None:
        self._each(request, queryset, lambda task, user: claim_task(task.pk, user), "claimed")

    @admin.action(description="Put back in the group queue", permissions=["change"])
    def release(self, request: HttpRequest, queryset: QuerySet[ApprovalTask]) -> None:
        self._each(request, queryset, lambda task, user: release_task(task.pk, user), "put back in the queue")

    @admin.action(description="Reassign to a person…", permissions=["change"])
    def reassign(self, request: HttpRequest, queryset: QuerySet[ApprovalTask]) -> HttpResponse | None:
        form = ReassignForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            to_user, reason = form.cleaned_data["to_user"], form.cleaned_data["reason"]
            self._each(
                request,
                queryset,
                lambda task, user: reassign_task(task.pk, user, to_user, reason),
                "reassigned",
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Reassign approval tasks",
            "form": form,
            "tasks": queryset.select_related("assignee", "candidate_group"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/approvals/approvaltask/reassign.html", context)


class ImportPeopleForm(forms.Form):
    """The HR file, then (on the preview) its text carried along so that confirming applies what was shown."""

    file = forms.FileField(
        required=False, label="HR file (CSV)", help_text="The first line names the columns."
    )
    deactivate_missing = forms.BooleanField(
        required=False,
        label="Deactivate people not in the file",
        help_text="Never superusers or you. Nobody is deleted.",
    )
    content = forms.CharField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(required=False, widget=forms.HiddenInput)
    checksum = forms.CharField(required=False, widget=forms.HiddenInput)

    MAX_BYTES = 5 * 1024 * 1024

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("file")
        if upload is not None:
            if upload.size > self.MAX_BYTES:
                raise forms.ValidationError("The file is over 5 MB: that is not an org chart export.")
            raw = upload.read()
            try:
                data["content"] = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                data["content"] = raw.decode("cp1252", errors="replace")
            data["name"] = upload.name[:200]
        elif not data.get("content"):
            raise forms.ValidationError("Choose the CSV file exported by HR.")
        return data

    @staticmethod
    def changes_checksum(plan: ImportPlan) -> str:
        return hashlib.sha256("\n".join(plan.changes).encode()).hexdigest()

    @classmethod
    def preview(cls, form: ImportPeopleForm, plan: ImportPlan) -> ImportPeopleForm:
        """A form carrying the file read by ``form`` and the changes ``plan`` shows, for the confirmation."""
        data = form.cleaned_data
        return cls(
            initial={
                "content": data["content"],
                "name": data["name"],
                "deactivate_missing": data["deactivate_missing"],
                "checksum": cls.changes_checksum(plan),
            }
        )


@admin.register(ProvisioningToken)
class ProvisioningTokenAdmin(admin.ModelAdmin):
    """Tokens identity providers provision people with (SCIM); the token is shown once, when created."""

    list_display = ("name", "hint_shown", "active", "created_by", "created_at", "last_used_at")
    fields = ("name", "active")
    readonly_fields = ("hint_shown", "created_by", "created_at", "last_used_at")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["name", "active", *self.readonly_fields] if obj else ["name"]

    @admin.display(description="Token starts with")
    def hint_shown(self, obj: ProvisioningToken) -> str:
        return f"{obj.hint}…"

    def save_model(self, request: HttpRequest, obj: ProvisioningToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, secret = create_provisioning_token(obj.name, request.user)
        obj.pk = token.pk
        obj.secret = secret  # type: ignore[attr-defined]  # shown once by response_add, never stored

    def response_add(
        self, request: HttpRequest, obj: ProvisioningToken, post_url_continue: Any = None
    ) -> HttpResponse:
        # The token is on this page only: not in a message (kept in a cookie), never in the database.
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Provisioning token for {obj.name}",
            "token": ProvisioningToken.objects.select_related("account").get(pk=obj.pk),
            "secret": getattr(obj, "secret", ""),
            "scim_url": request.build_absolute_uri("/scim/v2/"),
        }
        response = TemplateResponse(request, "admin/approvals/provisioning_token_created.html", context)
        response["Cache-Control"] = "no-store"
        return response
