"""Human tasks and the people behind them: org chart profiles, authority limits, approval tasks."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from approvals.time_zones import zone_choices
from orchestration import money as money_values
from orchestration.engine.human import request_summary
from orchestration.money import format_money as money  # every page, reason and email shows money alike
from orchestration.templatetags.moments import when
from orchestration.templatetags.people import person  # pages and messages name people alike

if TYPE_CHECKING:
    import datetime

    from orchestration.bpmn.graph import Graph

# Every "no one may decide" incident says this; request and task pages show it to everyone, in full.
NOBODY_MAY_DECIDE = "Nobody may decide this request"


def task_holder(task: ApprovalTask, group_noun: Literal["queue", "group"] = "queue") -> str:
    """Who holds ``task``, as pages, history and emails name them.

    The assignee by name ("Max Manager"); else its group, as the queue it waits in
    ("the Finance queue") or, with ``group_noun="group"``, as the people who decide
    ("the Finance group"); "nobody" when it has neither.
    """
    if task.assignee_id is not None:
        return person(task.assignee) + on_behalf(task)
    if task.candidate_group_id is not None:
        return f"the {task.candidate_group} {group_noun}"
    return "nobody"


def on_behalf(task: ApprovalTask) -> str:
    """`` on behalf of Max Manager`` when ``task`` carries someone else's authority, else ""."""
    if task.on_behalf_of_id is None:
        return ""
    return f" on behalf of {person(task.on_behalf_of)}"


def decided_by_words(task: ApprovalTask) -> str:
    """Who decided ``task``, as history and pages say it: "Dana Delegate on behalf of Max Manager"."""
    if task.decided_by_id is None:
        return "the process"
    return person(task.decided_by) + on_behalf(task)


def request_title(instance: Any) -> str:
    """What a request is called: its subject (item, title…) or its workflow's name."""
    return str(instance.title)


class Profile(models.Model):
    """A user's place in the org chart: manager, department, title, out-of-office delegate."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="direct_report_profiles",
        help_text="Approves first in the authority chain.",
    )
    department = models.CharField(max_length=100, blank=True)
    cost_centre = models.CharField(max_length=50, blank=True)
    title = models.CharField(max_length=100, blank=True)
    out_of_office_from = models.DateField(null=True, blank=True)
    out_of_office_to = models.DateField(null=True, blank=True)
    delegate = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="delegating_profiles",
        help_text="Receives this person's approval tasks while they are out of office.",
    )
    # The identity provider's id for this person (SCIM externalId); blank for people kept by hand.
    external_id = models.CharField(max_length=200, blank=True, editable=False)
    # Every change to manager, delegate, department…: who, when, old → new (the person's admin page lists them).
    history = HistoricalRecords(excluded_fields=["external_id"])
    # Choices are a callable: the migration names it instead of listing some 400 zones.
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        choices=zone_choices,
        help_text="Dates and times on this person's pages are shown in this zone.",
    )

    class Meta:
        permissions = [("import_people", "Can import people from an HR file")]
        constraints = [
            models.CheckConstraint(
                condition=Q(out_of_office_from__isnull=True)
                | Q(out_of_office_to__isnull=True)
                | Q(out_of_office_to__gte=F("out_of_office_from")),
                name="profile_out_of_office_ordered",
            )
        ]

    def __str__(self) -> str:
        return person(self.user)

    def is_out_of_office(self, on_date: datetime.date) -> bool:
        """Whether ``on_date`` falls within the out-of-office dates (open ends allowed, none set: no)."""
        if self.out_of_office_from is None and self.out_of_office_to is None:
            return False
        starts = self.out_of_office_from is None or self.out_of_office_from <= on_date
        ends = self.out_of_office_to is None or on_date <= self.out_of_office_to
        return starts and ends

    def clean(self) -> None:
        """Refuse a manager chain that loops back, naming the people in the loop."""
        errors: dict[str, str] = {}
        if (
            self.out_of_office_from
            and self.out_of_office_to
            and self.out_of_office_to < self.out_of_office_from
        ):
            errors["out_of_office_to"] = "The out-of-office period ends before it starts."
        if self.user_id is not None and self.delegate_id == self.user_id:
            errors["delegate"] = "A person cannot delegate to themselves."
        if self.user_id is not None and self.manager_id is not None:
            loop = self._manager_loop()
            if loop:
                errors["manager"] = "Manager chain loops: " + " → ".join(loop)
        if errors:
            raise ValidationError(errors)

    def _manager_loop(self) -> list[str]:
        """Usernames around the loop this profile's (unsaved) manager would close, else ``[]``."""
        seen = [self.user_id]
        names = {self.user_id: self.user.get_username()}
        current = self.manager_id
        while current is not None:
            if current in seen:
                start = seen.index(current)
                return [names[pk] for pk in seen[start:]] + [names[current]]
            seen.append(current)
            row = Profile.objects.filter(user_id=current).values_list("user__username", "manager_id").first()
            if row is None:
                # A manager without a profile has no manager of their own: the chain ends.
                return []
            names[current], current = row
        return []


class AuthorityLimit(models.Model):
    """How much a person, or everyone in a group, may approve: amount, currency, category, dates."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="authority_limits",
    )
    group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.CASCADE, related_name="authority_limits"
    )
    # Up to 10^12 (orchestration.money.MAX_AMOUNT) in cents; a currency with fewer decimals is checked in clean().
    amount = models.DecimalField(
        max_digits=15,
        decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(money_values.MAX_AMOUNT)],
    )
    currency = models.CharField(
        max_length=3,
        validators=[RegexValidator(r"^[A-Z]{3}$", "Use a three-letter currency code such as USD.")],
    )
    category = models.CharField(
        max_length=100, blank=True, help_text="Spend category this limit is for; blank means any."
    )
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["currency", "-amount"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, group__isnull=True)
                | Q(user__isnull=True, group__isnull=False),
                name="authority_limit_user_or_group",
                violation_error_message="A limit belongs to either a user or a group.",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_to__isnull=True)
                | Q(valid_to__gte=F("valid_from")),
                name="authority_limit_dates_ordered",
                violation_error_message="The limit ends before it starts.",
            ),
        ]
        indexes = [models.Index(fields=["user", "currency"]), models.Index(fields=["group", "currency"])]

    def __str__(self) -> str:
        holder = person(self.user) if self.user_id else f"group {self.group}"
        category = f" ({self.category})" if self.category else ""
        return f"{self.describe()}{category} for {holder}"

    def describe(self) -> str:
        """The amount with its currency, as reasons quote it."""
        return money(self.amount, self.currency)

    def clean_fields(self, exclude: Any = None) -> None:
        # People type "usd": upper-cased before the field's own check, which wants "USD".
        self.currency = (self.currency or "").strip().upper()
        super().clean_fields(exclude)

    def clean(self) -> None:
        # Codes are stored upper case so lookups compare exactly.
        self.currency = (self.currency or "").upper()
        super().clean()
        if not money_values.is_currency(self.currency):
            raise ValidationError({"currency": "Use an ISO 4217 currency code such as USD, EUR or JPY."})
        try:
            if self.amount is not None:
                money_values.check_minor_units(self.amount, self.currency)
        except money_values.MoneyError as exc:
            raise ValidationError({"amount": str(exc)}) from None


class ProvisioningToken(models.Model):
    """A bearer token an identity provider (Okta, Entra ID…) provisions people with over SCIM.

    Only a hash of the token is kept; its first characters (``hint``) tell tokens apart.
    Changes made with it are recorded as made by its ``account``, a user who cannot sign in.
    """

    name = models.CharField(
        max_length=100, unique=True, help_text="Which identity provider uses it, e.g. Okta."
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=12, editable=False)
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, editable=False, related_name="provisioning_token"
    )
    active = models.BooleanField(default=True, help_text="Untick to refuse the token from now on.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, editable=False, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    def __str__(self) -> str:
        return self.name


class ExchangeRate(models.Model):
    """What one unit of a currency is worth in the base currency, from a date until a later rate.

    Requests in ``currency`` are compared with authority limits set in ``base`` after
    conversion at the rate in force on the request's date. ``base`` is the
    ``BATON_BASE_CURRENCY`` setting when the rate is entered, so rates entered under
    another base are never applied by mistake.
    """

    # Checked in clean() against ISO 4217, after "eur" is read as EUR.
    currency = models.CharField(max_length=3, help_text="The currency requests are made in, such as EUR.")
    base = models.CharField(max_length=3, editable=False, help_text="The currency limits are set in.")
    rate = models.DecimalField(
        max_digits=18,
        decimal_places=8,
        validators=[MinValueValidator(Decimal("0.00000001"))],
        help_text="What one unit of the currency is worth in the base currency: 1 EUR = 1.08 USD is 1.08.",
    )
    valid_from = models.DateField(
        help_text="Applies to requests made on this date and later, until the next rate of the currency."
    )

    class Meta:
        ordering = ["currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["base", "currency", "valid_from"],
                name="exchange_rate_one_per_day",
                violation_error_message="This currency already has a rate from that date.",
            ),
            models.CheckConstraint(
                condition=Q(rate__gt=0),
                name="exchange_rate_positive",
                violation_error_message="A rate is above 0.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.describe()} from {when(self.valid_from)}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.base = self.base or settings.BATON_BASE_CURRENCY
        super().save(*args, **kwargs)

    def describe(self) -> str:
        """The rate as people read it: ``1 EUR = 1.08 USD``."""
        return f"1 {self.currency} = {self.rate.normalize():f} {self.base}"

    def clean(self) -> None:
        self.currency = (self.currency or "").upper()
        self.base = self.base or settings.BATON_BASE_CURRENCY
        if not money_values.is_currency(self.currency):
            raise ValidationError({"currency": "Use an ISO 4217 currency code such as EUR, GBP or JPY."})
        if self.currency == self.base:
            raise ValidationError({"currency": f"{self.base} is the base currency: it needs no rate."})


class FinalApprovers(models.Model):
    """The group that decides when nobody else may: the chain and its fallback group are exhausted.

    Kept by administrators per currency and spend category (blank: any). Rows are
    tried in ``position`` order, the most specific first on a tie; the first group
    with someone eligible (active, not the requester, not already an approver of the
    request) gets the task. When none has, the request becomes an incident.
    """

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="final_approver_rows")
    currency = models.CharField(
        max_length=3,
        blank=True,
        help_text="Requests in this currency; blank means any.",
        validators=[RegexValidator(r"^[A-Z]{3}$", "Use a three-letter currency code such as USD.")],
    )
    category = models.CharField(
        max_length=100, blank=True, help_text="Requests in this spend category; blank means any."
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Lower numbers are asked first.")

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = "final approvers"
        verbose_name_plural = "final approvers"

    def __str__(self) -> str:
        scope = " ".join(filter(None, [self.currency, self.category])) or "any request"
        return f"{self.group} for {scope}"

    def clean_fields(self, exclude: Any = None) -> None:
        # "usd" is read as USD before the field's own check, which wants upper case.
        self.currency = (self.currency or "").strip().upper()
        super().clean_fields(exclude)

    def clean(self) -> None:
        self.currency = (self.currency or "").upper()
        super().clean()


class ApprovalTask(models.Model):
    """A decision someone has to take for a waiting step, or a request sent back to its requester."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    class Kind(models.TextChoices):
        DECISION = "decision", "Decision"
        RESUBMIT = "resubmit", "Changes requested"

    instance = models.ForeignKey(
        "orchestration.ProcessInstance", on_delete=models.CASCADE, related_name="approval_tasks"
    )
    step = models.ForeignKey("orchestration.Step", on_delete=models.CASCADE, related_name="approval_tasks")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.DECISION)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="approval_tasks",
    )
    candidate_group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.SET_NULL, related_name="approval_tasks"
    )
    reason = models.CharField(max_length=500, blank=True, help_text="Why this person or group was chosen.")
    chain_level = models.PositiveSmallIntegerField(
        default=0, help_text="Level in the requester's management chain (0: not an authority chain task)."
    )
    limit_applied = models.CharField(
        max_length=200, blank=True, help_text="The authority limit the approver was chosen by."
    )
    outcome = models.CharField(max_length=32, blank=True)
    comment = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # The AI's advice the approver saw when deciding (recommendation, reason, step) and whether the
    # decision went its way (None: no clear recommendation): saved with the decision, for reports.
    advice = models.JSONField(
        null=True, blank=True, help_text="The AI's advice shown to the approver when they decided."
    )
    advice_agreed = models.BooleanField(
        null=True, blank=True, help_text="Whether the decision agreed with the AI's recommendation."
    )
    # Whose task it is when someone else holds it: the delegate (or the person it was forwarded to)
    # decides on their behalf, with their authority on an authority chain.
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The person whose task this is, while someone else decides it for them.",
    )
    delegated = models.BooleanField(
        default=False, help_text="Held by an out-of-office delegate: returns when the absence ends."
    )
    due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    lock_version = models.PositiveIntegerField(default=0)
    # What the inbox lists and filters by, copied from the request when the task opens so that
    # a page of tasks needs no per-row reads of process variables.
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subject = models.CharField(max_length=200, blank=True)
    # Any amount Baton accepts, exactly: up to 10^12 with up to 4 decimals (orchestration.money).
    amount = models.DecimalField(max_digits=17, decimal_places=4, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["assignee", "status", "-created_at"], name="task_assignee_open"),
            models.Index(fields=["candidate_group", "status", "-created_at"], name="task_group_open"),
            models.Index(fields=["assignee", "status", "due_at"], name="task_assignee_due"),
            models.Index(fields=["decided_by", "-decided_at"], name="task_decided_by"),
        ]

    def __str__(self) -> str:
        return self.name

    def take_request_summary(self, instance: Any, graph: Graph | None = None) -> None:
        """Copy who asks and for what (title, amount, currency) from ``instance`` onto the task.

        ``graph`` (the instance's compiled graph) says which start-form fields are the title and
        the amount; without it, or where the form does not say, the usual names apply.
        """
        self.requester_id = instance.initiator_id
        variables = instance.variables or {}
        named = request_summary(graph) if graph is not None else None
        title = variables.get(named["title"]) if named and named["title"] else None
        self.subject = (str(title) if title not in (None, "") else request_title(instance))[:200]
        amount_name = (named and named["amount"]) or "amount"
        currency = variables.get((named and named["currency"]) or "currency")
        self.currency = currency.upper() if money_values.is_currency(currency) else ""
        try:
            # Exact text from a money field; a number from older requests or other processes is rounded.
            self.amount = money_values.parse_amount(
                variables.get(amount_name), self.currency or "XXX", computed=True
            )
        except money_values.MoneyError:
            self.amount = None


class SavedInboxView(models.Model):
    """A set of inbox filters a person named, offered to them (and only them) as a quick link."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inbox_views")
    name = models.CharField(max_length=60)
    # The inbox's query string: tab, search, workflow, requester, amounts, due date, sort.
    query = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="inbox_view_name_per_user"),
        ]

    def __str__(self) -> str:
        return self.name
