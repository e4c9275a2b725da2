"""Views for requesters and approvers. Thin: they read through querysets and act through actions."""

from __future__ import annotations

import csv
import datetime
from typing import TYPE_CHECKING, Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST
from guardian.shortcuts import get_objects_for_user

from approvals import history, links, notifications
from approvals.access import can_decide, holder_now, reachable_tasks, tasks_for, visible_tasks
from approvals.actions import (
    APPROVED,
    CHANGES_REQUESTED,
    REJECTED,
    InvalidDecision,
    InvalidFields,
    TaskAlreadyDecided,
    TaskTaken,
    claim_task,
    complete_task,
    forward_task,
    release_task,
    resubmit_request,
)
from approvals.delegation import (
    Absence,
    OutOfOfficeError,
    absence_history,
    end_out_of_office,
    hand_over_open_tasks,
    set_out_of_office,
)
from approvals.filters import SORTS, InboxFilter
from approvals.forms import (
    AttachmentsForm,
    DecisionForm,
    ForwardForm,
    OutOfOfficeForm,
    SavedViewForm,
    StartForm,
    TimeZoneForm,
    request_values,
)
from approvals.models import ApprovalTask, Profile, SavedInboxView, person, request_title
from approvals.time_zones import zone_name
from orchestration import money, request_numbers
from orchestration.access import (
    can_cancel,
    can_operate,
    others_last_acted,
    uploader_may_remove,
    visible_instances,
)
from orchestration.attachments import AttachmentRefused, attach_files
from orchestration.connectors import ai
from orchestration.engine import (
    REQUEST_INLINE_BLOCKS,
    InvalidState,
    StartDataError,
    cancel_instance,
    human,
    start_instance,
)
from orchestration.engine.human import outcome_paths
from orchestration.models import Event, Incident, ProcessInstance, Workflow
from orchestration.spreadsheet import cell

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, User
    from django_htmx.middleware import HtmxDetails

    from orchestration.bpmn.graph import Graph

    class AuthenticatedRequest(HttpRequest):
        """What a ``login_required`` view receives: a signed-in user and htmx details."""

        user: User
        htmx: HtmxDetails
else:
    AuthenticatedRequest = HttpRequest

PAGE_SIZE = 25


def _graph(instance: ProcessInstance) -> Graph:
    return cast("Graph", instance.version.graph)


_OPEN = ApprovalTask.Status.OPEN


def _hand_over_once_a_day() -> None:
    """Move tasks for absences that began, and give back those of absences that ended, once a day per process.

    Saving an absence that includes today moves its tasks at once; this catches the
    ones that start or end on a later day, the first time anyone opens their inbox.
    """
    today = timezone.localdate()
    if cache.add(f"baton:out-of-office:{today.isoformat()}", True, timeout=26 * 3600):
        hand_over_open_tasks(today)


@login_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    """Land where there is something to do: the inbox, else one's requests, else the catalog."""
    _hand_over_once_a_day()
    if tasks_for(request.user).filter(status=_OPEN).exists():
        return redirect("approvals:inbox")
    if ProcessInstance.objects.filter(initiator=request.user).exists():
        return redirect("approvals:requests")
    return redirect("approvals:catalog")


# --- inbox ---------------------------------------------------------------------------------

_TABS = {
    "mine": "Assigned to me",
    "queue": "Group queue",
    "done": "Decided by me",
}


def _tab_filter(user: Any, tab: str) -> Q:
    if tab == "queue":
        return Q(status=_OPEN, assignee__isnull=True, candidate_group__in=user.groups.all())
    if tab == "done":
        return Q(decided_by=user, kind=ApprovalTask.Kind.DECISION)
    return Q(status=_OPEN, assignee=user)


def _inbox_tab(request: AuthenticatedRequest) -> str:
    tab = request.GET.get("tab", "mine")
    return tab if tab in _TABS else "mine"


def _inbox_tasks(request: AuthenticatedRequest, tab: str) -> tuple[InboxFilter, QuerySet[ApprovalTask]]:
    """The inbox's filters and the tasks of ``tab`` they select, in the list's order (page and CSV alike)."""
    user = request.user
    workflows = Workflow.objects.filter(
        pk__in=ApprovalTask.objects.filter(_tab_filter(user, "mine") | _tab_filter(user, "queue")).values(
            "instance__workflow"
        )
    ).order_by("name")
    filters = InboxFilter(
        request.GET or None,
        queryset=ApprovalTask.objects.filter(_tab_filter(user, tab)).order_by(*SORTS["-created"]),
        workflows=workflows,
    )
    tasks = filters.qs
    if tab == "done":  # what one decided, most recent first, whatever the sort says
        tasks = tasks.order_by("-decided_at", "-id")
    return filters, tasks.select_related(
        "instance__workflow", "requester", "assignee", "candidate_group", "decided_by", "on_behalf_of"
    )


@login_required
def inbox(request: AuthenticatedRequest) -> HttpResponse:
    """My tasks, my groups' queue and what I decided: filters, sort, paging; a constant number of queries."""
    _hand_over_once_a_day()
    user = request.user
    tab = _inbox_tab(request)
    # Two indexed counts: one aggregate with FILTER clauses would scan every task of everyone.
    counts = {key: ApprovalTask.objects.filter(_tab_filter(user, key)).count() for key in ("mine", "queue")}
    filters, tasks = _inbox_tasks(request, tab)
    page = Paginator(tasks, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query["tab"] = tab
    context = {
        "tab": tab,
        "tabs": [(key, label, counts.get(key)) for key, label in _TABS.items()],
        "queue_count": counts["queue"],
        "form": filters.form,
        "page": page,
        "query": query.urlencode(),
        "saved_views": SavedInboxView.objects.filter(user=user),
        "now": timezone.now(),
        "soon": timezone.now() + datetime.timedelta(days=1),
        "filtered": any(v for k, v in request.GET.items() if k not in ("tab", "page", "sort")),
    }
    if request.htmx and not request.htmx.boosted:
        # The address bar follows the filters, so a reload or a shared link shows the same list.
        response = render(request, "approvals/inbox.html#task-list", context)
        response["HX-Push-Url"] = request.get_full_path()
        return response
    return render(request, "approvals/inbox.html", context)


# The CSV holds at most this many rows (the newest first unless sorted otherwise).
EXPORT_LIMIT = 5000
_STATUS_WORDS = {"mine": "Waiting for you", "queue": "In your group's queue"}


@login_required
@require_GET
def inbox_export(request: AuthenticatedRequest) -> HttpResponse:
    """The inbox list as it is filtered now, as CSV (every page, up to :data:`EXPORT_LIMIT` rows)."""
    tab = _inbox_tab(request)
    _, tasks = _inbox_tasks(request, tab)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="inbox-{tab}-{timezone.localdate():%Y-%m-%d}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(
        ["Request number", "Title", "Amount", "Currency", "Requester", "Step", "Due date", "Status"]
    )
    for task in tasks[:EXPORT_LIMIT]:
        writer.writerow(
            [
                cell(value)
                for value in (
                    task.instance.reference,
                    task.subject or task.name,
                    _plain_amount(task),
                    task.currency,
                    person(task.requester) if task.requester else "",
                    task.name,
                    timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M") if task.due_at else "",
                    _export_status(task, tab),
                )
            ]
        )
    return response


def _plain_amount(task: ApprovalTask) -> str:
    """The amount as a spreadsheet reads a number, in the currency's minor units: ``5000.00``."""
    if task.amount is None:
        return ""
    if task.currency:
        return money.stored(money.quantize(task.amount, task.currency))
    return f"{task.amount:.2f}"


def _export_status(task: ApprovalTask, tab: str) -> str:
    if tab == "done":
        return {APPROVED: "Approved", REJECTED: "Rejected"}.get(task.outcome, "Changes requested")
    if task.kind == ApprovalTask.Kind.RESUBMIT:
        return "Changes requested"
    if task.due_at is not None and task.due_at < timezone.now():
        return "Overdue"
    return _STATUS_WORDS[tab]


_VIEW_PARAMETERS = ("tab", *InboxFilter.base_filters)


@login_required
@require_POST
def save_inbox_view(request: AuthenticatedRequest) -> HttpResponse:
    """Name the inbox's current filters (``query``) as one of the person's saved views (same name: replaced)."""
    form = SavedViewForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for e in form.errors.get("name", ["Give the view a name."])))
        return redirect(f"{reverse('approvals:inbox')}?{form.data.get('query', '')[:1000]}")
    given = QueryDict(form.cleaned_data["query"])
    kept = QueryDict(mutable=True)
    for key in _VIEW_PARAMETERS:
        if given.get(key):
            kept[key] = given[key]
    view, _ = SavedInboxView.objects.update_or_create(
        user=request.user, name=form.cleaned_data["name"], defaults={"query": kept.urlencode()[:1000]}
    )
    messages.success(request, f"Saved the view “{view.name}”.")
    return redirect("approvals:inbox-view", view_id=view.id)


@login_required
@require_GET
def open_inbox_view(request: AuthenticatedRequest, view_id: int) -> HttpResponse:
    """The inbox with one's saved view's filters; another person's view is 404."""
    view = get_object_or_404(SavedInboxView, id=view_id, user=request.user)
    return redirect(f"{reverse('approvals:inbox')}?{view.query}")


@login_required
@require_POST
def delete_inbox_view(request: AuthenticatedRequest, view_id: int) -> HttpResponse:
    """Delete one's saved view; another person's view is 404."""
    view = get_object_or_404(SavedInboxView, id=view_id, user=request.user)
    view.delete()
    messages.success(request, f"Deleted the view “{view.name}”.")
    return redirect("approvals:inbox")


_BULK_DONE = {APPROVED: "Approved", REJECTED: "Rejected"}


@login_required
@require_POST
def bulk_decide(request: AuthenticatedRequest) -> HttpResponse:
    """Approve, or reject with one comment, every selected task; each is its own decision.

    One conflict doesn't undo the others: a task someone else took or decided meanwhile
    is listed with who has it now.
    """
    ids = [int(v) for v in request.POST.getlist("task") if v.isascii() and v.isdecimal()]
    outcome = request.POST.get("outcome", APPROVED)
    comment = request.POST.get("comment", "").strip()
    back = redirect(f"{reverse('approvals:inbox')}?{request.POST.get('query', '')}")
    if outcome not in _BULK_DONE:
        messages.error(request, "Choose to approve or reject the selected requests.")
        return back
    if not ids:
        messages.info(
            request, f"Select the requests to {'approve' if outcome == APPROVED else 'reject'} first."
        )
        return back
    if outcome == REJECTED and not comment:
        messages.error(request, "A rejection needs a comment for the requesters; nothing was rejected.")
        return back
    done, problems = 0, []
    for task in reachable_tasks(request.user).filter(id__in=ids).select_related("assignee", "decided_by"):
        try:
            complete_task(task.id, request.user, outcome, comment=comment)
            done += 1
        except (TaskAlreadyDecided, TaskTaken, PermissionDenied, InvalidDecision, InvalidState) as exc:
            problems.append(f"{task.subject or task.name}: {exc}")
    if done:
        messages.success(request, f"{_BULK_DONE[outcome]} {done} request{'s' if done != 1 else ''}.")
    for problem in problems:
        messages.warning(request, problem)
    return back


# --- task detail and decisions -------------------------------------------------------------


_TASK_RELATED = (
    "step",
    "instance__workflow",
    "instance__version",
    "instance__initiator",
    "requester",
    "assignee",
    "candidate_group",
    "decided_by",
    "on_behalf_of",
)


def _task_for(user: Any, task_id: int) -> ApprovalTask:
    """The task if ``user`` may open it, else 404 (its existence does not leak)."""
    return get_object_or_404(visible_tasks(user).select_related(*_TASK_RELATED), id=task_id)


def _task_to_act_on(user: Any, task_id: int) -> ApprovalTask:
    """The task if ``user`` may open it or their group's member took it first, else 404."""
    return get_object_or_404(reachable_tasks(user).select_related(*_TASK_RELATED), id=task_id)


def _after_action(request: AuthenticatedRequest, task: ApprovalTask) -> HttpResponse:
    """Back to the task if the user may still open it, else to the inbox (where the message shows)."""
    if visible_tasks(request.user).filter(pk=task.pk).exists():
        url = reverse("approvals:task", args=[task.id])
    else:
        url = reverse("approvals:inbox")
    # Decided (by this user or someone faster): the whole page changes, so load it afresh.
    return HttpResponse(status=204, headers={"HX-Redirect": url}) if request.htmx else redirect(url)


def _approver_form(task: ApprovalTask, data: Any = None) -> StartForm:
    """What the task's approver fills in: the Approval's fields (``field-`` names; none declared: no fields)."""
    return StartForm(history.approver_fields(_graph(task.instance), task.step.node_id), data, prefix="field")


def _task_context(
    request: AuthenticatedRequest,
    task: ApprovalTask,
    form: DecisionForm | None = None,
    forward_form: ForwardForm | None = None,
    fields_form: StartForm | None = None,
) -> dict[str, Any]:
    instance = task.instance
    graph = _graph(instance)
    chain = list(
        ApprovalTask.objects.filter(instance=instance, step=task.step_id)
        .select_related("assignee", "candidate_group", "decided_by", "on_behalf_of", "step")
        .order_by("created_at", "id")
    )
    history.note_filled_in(chain, graph, instance.variables or {})
    node = graph["nodes"].get(task.step.node_id)
    paths = outcome_paths(node) if node is not None else {}
    user = request.user
    decidable = can_decide(user, task) is None
    forwardable = (
        task.status == _OPEN and task.kind == ApprovalTask.Kind.DECISION and task.assignee_id == user.pk
    )
    return {
        "task": task,
        "instance": instance,
        "state": history.request_state(
            instance, [t for t in chain if t.status == _OPEN], _open_incident(instance)
        ),
        **_request_cards(user, instance, graph),
        "chain": chain,
        "decidable": decidable,
        "claimable": decidable and task.assignee_id is None,
        "releasable": decidable and task.assignee_id == user.pk and task.candidate_group_id is not None,
        "form": form or DecisionForm(),
        "fields_form": fields_form or _approver_form(task),
        # Decisions the workflow drew no path for are not offered (changes go back to the requester).
        "may_reject": not paths or REJECTED in paths,
        "forward_form": forward_form or ForwardForm(user) if forwardable else None,
        "next_task": _next_task(user, task),
        "now": timezone.now(),
        # What an earlier AI step recommends, for whoever decides (not the requester's own view).
        "advice": None
        if instance.initiator_id == user.pk
        else ai.advice_for(instance, graph, task.created_at),
    }


def _next_task(user: Any, after: ApprovalTask) -> ApprovalTask | None:
    return (
        ApprovalTask.objects.filter(_tab_filter(user, "mine") | _tab_filter(user, "queue"))
        .exclude(id=after.id)
        .exclude(requester=user)
        .order_by("-created_at", "-id")
        .first()
    )


@login_required
def task_detail(request: AuthenticatedRequest, task_id: int) -> HttpResponse:
    task = _task_to_act_on(request.user, task_id)
    if not visible_tasks(request.user).filter(pk=task.pk).exists():
        # A group task another member took since the inbox was drawn: say who, instead of a 404.
        messages.info(request, f"{task.subject or task.name}: {holder_now(task)}")
        return redirect("approvals:inbox")
    if task.kind == ApprovalTask.Kind.RESUBMIT:
        return redirect("approvals:request", instance_id=task.instance_id)
    return render(request, "approvals/task_detail.html", _task_context(request, task))


@login_required
@require_POST
def decide(request: AuthenticatedRequest, task_id: int) -> HttpResponse:
    """Approve, reject or request changes; a late second decider sees who won instead of an error."""
    task = _task_to_act_on(request.user, task_id)
    form = DecisionForm(request.POST)
    fields_form = _approver_form(task, request.POST)
    if form.is_valid() and fields_form.is_valid():
        outcome = form.cleaned_data["outcome"]
        try:
            complete_task(
                task.id,
                request.user,
                outcome,
                comment=form.cleaned_data["comment"],
                data=fields_form.data_for_engine(),
            )
        except InvalidFields as exc:
            _engine_errors_onto(fields_form, exc.errors)
        except InvalidDecision as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        except PermissionDenied as exc:  # e.g. they approved this request at an earlier level
            messages.error(request, str(exc))
        except (TaskAlreadyDecided, TaskTaken) as exc:
            messages.warning(request, f"{exc} Your decision was not recorded.")
        except InvalidState as exc:
            form.add_error(None, str(exc))
        else:
            done = {APPROVED: "Approved", REJECTED: "Rejected", CHANGES_REQUESTED: "Sent back for changes"}[
                outcome
            ]
            messages.success(request, f"{done}: {task.subject or task.name}.")
    if form.errors or fields_form.errors:
        task = _task_for(request.user, task_id)
        context = _task_context(request, task, form, fields_form=fields_form)
        if request.htmx:  # only the decision card changes: the comment typed so far stays
            return render(request, "approvals/task_detail.html#decision", context)
        return render(request, "approvals/task_detail.html", context, status=400)
    return _after_action(request, task)


@login_required
@require_POST
def claim(request: AuthenticatedRequest, task_id: int) -> HttpResponse:
    task = _task_to_act_on(request.user, task_id)
    try:
        claim_task(task.id, request.user)
        messages.success(
            request, "The task is yours now; the rest of the group no longer sees it in the queue."
        )
    except (TaskAlreadyDecided, TaskTaken, PermissionDenied) as exc:
        messages.warning(request, str(exc))
    return _after_action(request, task)


@login_required
@require_POST
def release(request: AuthenticatedRequest, task_id: int) -> HttpResponse:
    task = _task_to_act_on(request.user, task_id)
    try:
        release_task(task.id, request.user)
        messages.success(request, "The task is back in the group queue.")
    except (TaskAlreadyDecided, TaskTaken, PermissionDenied) as exc:
        messages.warning(request, str(exc))
        return _after_action(request, task)
    return redirect("approvals:inbox")


@login_required
@require_POST
def forward(request: AuthenticatedRequest, task_id: int) -> HttpResponse:
    """The task's holder hands it to someone else with a reason; a wrong choice is shown on the form."""
    task = _task_to_act_on(request.user, task_id)
    form = ForwardForm(request.user, request.POST)
    if form.is_valid():
        to_user = form.cleaned_data["to"]
        try:
            forward_task(task.id, request.user, to_user, form.cleaned_data["reason"])
        except InvalidDecision as exc:
            form.add_error(exc.field if exc.field in form.fields else "to", str(exc))
        except PermissionDenied as exc:
            form.add_error("to", str(exc))
        except (TaskAlreadyDecided, TaskTaken) as exc:
            messages.warning(request, f"{exc} The task was not forwarded.")
            return _after_action(request, task)
        else:
            messages.success(request, f"Forwarded to {person(to_user)}: {task.subject or task.name}.")
            return redirect("approvals:inbox")
    task = _task_for(request.user, task_id)
    context = _task_context(request, task, forward_form=form)
    return render(request, "approvals/task_detail.html", context, status=400)


@login_required
def out_of_office(request: AuthenticatedRequest) -> HttpResponse:
    """Set, change or end one's out of office: dates and the person who decides meanwhile."""
    user = request.user
    profile = Profile.objects.select_related("delegate").filter(user=user).first()
    today = timezone.localdate()
    current = (
        profile
        if profile is not None
        and profile.delegate is not None
        and profile.out_of_office_to is not None
        and profile.out_of_office_to >= today
        else None
    )
    if request.method == "POST" and request.POST.get("action") == "end":
        end_out_of_office(user)
        messages.success(request, "Welcome back: your open tasks are yours again.")
        return redirect("approvals:out-of-office")
    zone_form = TimeZoneForm(instance=profile or Profile(user=user))
    if request.method == "POST" and request.POST.get("action") == "time_zone":
        zone_form = TimeZoneForm(request.POST, instance=profile or Profile(user=user))
        if zone_form.is_valid():
            zone_form.save()
            messages.success(
                request,
                f"Saved: dates and times are shown in {zone_name(zone_form.instance.time_zone)} time.",
            )
            return redirect("approvals:out-of-office")
        form = OutOfOfficeForm(user, initial={"starts": today})
        return _out_of_office_page(request, user, form, zone_form, current, today, status=400)
    initial = (
        {"starts": current.out_of_office_from, "ends": current.out_of_office_to, "delegate": current.delegate}
        if current
        else {"starts": today}
    )
    form = OutOfOfficeForm(user, request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            absence = Absence(
                form.cleaned_data["starts"], form.cleaned_data["ends"], form.cleaned_data["delegate"]
            )
            try:
                set_out_of_office(user, absence)
            except OutOfOfficeError as exc:
                for field, message in exc.errors.items():
                    form.add_error(field, message)
            else:
                messages.success(request, f"Saved: you are out of office {absence.describe()}.")
                return redirect("approvals:out-of-office")
        status = 400
    return _out_of_office_page(request, user, form, zone_form, current, today, status=status)


def _out_of_office_page(
    request: AuthenticatedRequest,
    user: Any,
    form: OutOfOfficeForm,
    zone_form: TimeZoneForm,
    current: Profile | None,
    today: datetime.date,
    status: int = 200,
) -> HttpResponse:
    context = {
        "form": form,
        "zone_form": zone_form,
        "current": current,
        "away_now": current is not None and current.is_out_of_office(today),
        "delegated": ApprovalTask.objects.filter(status=_OPEN, on_behalf_of=user, delegated=True).count(),
        "covering": Profile.objects.select_related("user")
        .filter(delegate=user, out_of_office_to__gte=today)
        .order_by("out_of_office_from"),
        "history": absence_history(user)[:10],
    }
    return render(request, "approvals/out_of_office.html", context, status=status)


# --- request catalog and starting a request -------------------------------------------------


def _startable(user: AbstractBaseUser) -> QuerySet[Workflow]:
    workflows: QuerySet[Workflow] = get_objects_for_user(user, "orchestration.start_workflow", klass=Workflow)
    return workflows.filter(versions__status="published").distinct().order_by("name")


def _engine_errors_onto(form: StartForm, found: dict[str, list[str]]) -> None:
    """The engine's errors by field name, on the fields they name (the rest above the form)."""
    for name, errors in found.items():
        for error in errors:
            form.add_error(name if name in form.fields else None, error)


@login_required
def catalog(request: AuthenticatedRequest) -> HttpResponse:
    """Published workflows the user may start (guardian ``start_workflow``)."""
    workflows = list(_startable(request.user))
    text = request.GET.get("q", "").strip().lower()
    if text:
        workflows = [w for w in workflows if text in w.name.lower() or text in w.description.lower()]
    return render(request, "approvals/catalog.html", {"workflows": workflows, "q": request.GET.get("q", "")})


@login_required
def start(request: AuthenticatedRequest, key: str) -> HttpResponse:
    """A workflow's generated start form; the engine validates, its errors land on the fields."""
    workflow = get_object_or_404(_startable(request.user), key=key)
    version = workflow.published_version
    if version is None:
        raise Http404("This workflow has no published version.")
    fields = history.start_fields(cast("Graph", version.graph))
    form = StartForm(fields, request.POST or None)
    files_form = AttachmentsForm(request.POST or None, request.FILES or None)
    files_ok = request.method == "POST" and files_form.is_valid()
    if request.method == "POST" and form.is_valid() and not files_ok:
        _check_fields(form, cast("Graph", version.graph))  # a wrong file and a missing field show together
    elif request.method == "POST" and form.is_valid():
        try:
            instance = start_instance(
                version,
                form.data_for_engine(),
                initiator=request.user,
                trigger="manual",
                hand_off_after=REQUEST_INLINE_BLOCKS,
            )
        except StartDataError as exc:
            _engine_errors_onto(form, exc.errors)
        except InvalidState as exc:
            form.add_error(None, str(exc))
        else:
            _attach(request, instance, files_form)
            messages.success(request, f"Your request was submitted: {workflow.name}.")
            return redirect("approvals:request", instance_id=instance.id)
    status = 400 if form.errors or files_form.errors else 200
    context = {"workflow": workflow, "form": form, "files_form": files_form}
    return render(request, "approvals/start.html", context, status=status)


def _check_fields(form: StartForm, graph: Graph) -> None:
    """The engine's errors on the fields, without starting anything."""
    try:
        human.check_start_data(graph["nodes"][human.start_node_for(graph, "manual")], form.data_for_engine())
    except StartDataError as exc:
        _engine_errors_onto(form, exc.errors)


def _attach(request: AuthenticatedRequest, instance: ProcessInstance, files_form: AttachmentsForm) -> None:
    """Keep the checked files on the request just submitted (it may already be decided: they belong to it)."""
    try:
        attach_files(instance, files_form.cleaned_data["files"], request.user, while_open=False)
    except AttachmentRefused as exc:  # another upload filled the request meanwhile
        messages.warning(request, f"The request was sent without its files: {exc}")


# --- my requests -----------------------------------------------------------------------------

_OPEN_TASKS = Prefetch(
    "approval_tasks",
    queryset=ApprovalTask.objects.filter(status=_OPEN).select_related("assignee", "candidate_group"),
    to_attr="open_tasks",
)
_OPEN_INCIDENTS = Prefetch(
    "incidents",
    queryset=Incident.objects.filter(resolved_at__isnull=True).order_by("-created_at"),
    to_attr="open_incidents",
)
_REQUEST_TABS = {"open": "Open", "closed": "Closed", "all": "All"}


@login_required
def my_requests(request: AuthenticatedRequest) -> HttpResponse:
    tab = request.GET.get("tab", "open")
    if tab not in _REQUEST_TABS:
        tab = "open"
    instances = ProcessInstance.objects.filter(initiator=request.user)
    # PostgreSQL takes no NUL character in a query's text.
    search = request.GET.get("q", "").replace("\x00", "").strip()[:200]
    if search:
        instances = _searched(instances, search)
    counts = instances.aggregate(
        open=Count("id", filter=Q(status=ProcessInstance.Status.RUNNING)),
        closed=Count("id", filter=~Q(status=ProcessInstance.Status.RUNNING)),
        all=Count("id"),
    )
    if tab == "open":
        instances = instances.filter(status=ProcessInstance.Status.RUNNING)
    elif tab == "closed":
        instances = instances.exclude(status=ProcessInstance.Status.RUNNING)
    page = Paginator(
        instances.select_related("workflow")
        .prefetch_related(_OPEN_TASKS, _OPEN_INCIDENTS)
        .order_by("-started_at", "id"),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    rows = [
        (
            instance,
            request_title(instance),
            history.request_state(
                instance,
                getattr(instance, "open_tasks", []),
                next((i.error for i in getattr(instance, "open_incidents", [])), ""),
            ),
        )
        for instance in page
    ]
    return render(
        request,
        "approvals/my_requests.html",
        {
            "tab": tab,
            "tabs": [(key, label, counts[key]) for key, label in _REQUEST_TABS.items()],
            "page": page,
            "rows": rows,
            "search": search,
            "query": urlencode({"tab": tab, "q": search} if search else {"tab": tab}),
        },
    )


def _searched(instances: QuerySet[ProcessInstance], text: str) -> QuerySet[ProcessInstance]:
    """The requests with that number, or with the text in their data (item, title…) or workflow's name."""
    found = Q(workflow__name__icontains=text) | Q(data_text__icontains=text)
    numbered = request_numbers.matching(text)
    if numbered is not None:
        found |= numbered
    return instances.alias(data_text=Cast("variables", TextField())).filter(found)


def _open_incident(instance: ProcessInstance) -> str:
    """The error of the request's latest open incident ("" without one: no query then)."""
    if not instance.has_incident:
        return ""
    errors = instance.incidents.filter(resolved_at__isnull=True).order_by("-created_at")
    return errors.values_list("error", flat=True).first() or ""


def _instance_for(user: Any, instance_id: Any) -> ProcessInstance:
    return get_object_or_404(
        visible_instances(user).select_related("workflow", "version", "initiator"), id=instance_id
    )


def _request_cards(
    user: Any, instance: ProcessInstance, graph: Graph, events: list[Event] | None = None
) -> dict[str, Any]:
    """What approvals/_request_cards.html shows: the request's details and its history."""
    # An AI's answers are for the people who decide and operate, not for the requester.
    mine = instance.initiator_id == user.pk and not _operates(user, instance)
    answers, recorded = history.request_data(instance, graph, ai.private_answer_names(graph) if mine else ())
    if events is None:
        events = _events(instance)
    files = list(instance.attachments.select_related("uploaded_by"))
    acted = others_last_acted(user, events)
    return {
        "data": answers,
        "attachments": files,
        "removable": {f.id for f in files if uploader_may_remove(user, f, instance, acted)},
        "recorded": recorded,
        "timeline": history.timeline(events, graph, technical=_operates(user, instance)),
    }


def _events(instance: ProcessInstance) -> list[Event]:
    return list(instance.events.select_related("actor", "step").order_by("created_at", "id"))


def _operates(user: Any, instance: ProcessInstance) -> bool:
    """Operators (change_workflow) and staff see technical errors as recorded."""
    return bool(user.is_staff or can_operate(user, instance))


def _may_cancel(user: Any, instance: ProcessInstance) -> bool:
    return instance.status == ProcessInstance.Status.RUNNING and can_cancel(user, instance)


@login_required
def request_detail(
    request: HttpRequest,
    instance_id: Any,
    resubmit_form: StartForm | None = None,
    files_form: AttachmentsForm | None = None,
) -> HttpResponse:
    """A request as its requester (or an approver, or an operator) sees it: state, data, chain, timeline."""
    instance = _instance_for(request.user, instance_id)
    graph = _graph(instance)
    tasks = list(
        instance.approval_tasks.select_related(
            "assignee", "candidate_group", "decided_by", "on_behalf_of", "step"
        ).order_by("created_at", "id")
    )
    history.note_filled_in(tasks, graph, instance.variables or {})
    open_tasks = [t for t in tasks if t.status == _OPEN]
    events = _events(instance)
    sent_back = next(
        (t for t in open_tasks if t.kind == ApprovalTask.Kind.RESUBMIT and t.assignee_id == request.user.pk),
        None,
    )
    if sent_back is not None and resubmit_form is None:
        fields = history.start_fields(graph)
        resubmit_form = StartForm(fields, initial=request_values(fields, instance.variables))
    if sent_back is not None and files_form is None:
        files_form = AttachmentsForm()
    return render(
        request,
        "approvals/request_detail.html",
        {
            "instance": instance,
            "title": request_title(instance),
            "state": history.explained(
                history.request_state(instance, open_tasks, _open_incident(instance)), instance, events
            ),
            **_request_cards(request.user, instance, graph, events),
            "operates": can_operate(request.user, instance),  # type: ignore[arg-type]
            "decisions": [t for t in tasks if t.kind == ApprovalTask.Kind.DECISION],
            "may_cancel": _may_cancel(request.user, instance),
            # While the process works or waits for others, the page follows it; never over a form being filled.
            "live": instance.status == ProcessInstance.Status.RUNNING and sent_back is None,
            "sent_back": sent_back,
            "resubmit_form": resubmit_form,
            "files_form": files_form,
        },
        status=400 if (resubmit_form and resubmit_form.errors) or (files_form and files_form.errors) else 200,
    )


@login_required
@require_POST
def cancel_request(request: AuthenticatedRequest, instance_id: Any) -> HttpResponse:
    instance = _instance_for(request.user, instance_id)
    if not _may_cancel(request.user, instance):
        raise PermissionDenied("Only the requester or the workflow's operators can cancel this request.")
    reason = request.POST.get("reason", "").strip()[:200]
    try:
        cancel_instance(
            instance.id, actor=request.user, reason=reason or f"withdrawn by {request.user.get_username()}"
        )
        messages.success(request, "The request was cancelled; its approvers no longer see it.")
    except InvalidState as exc:
        messages.warning(request, str(exc))
    return redirect("approvals:request", instance_id=instance.id)


@login_required
@require_POST
def resubmit(request: AuthenticatedRequest, instance_id: Any) -> HttpResponse:
    """The requester edits the request an approver sent back, and it goes round again."""
    instance = _instance_for(request.user, instance_id)
    task = (
        instance.approval_tasks.filter(kind=ApprovalTask.Kind.RESUBMIT, status=_OPEN, assignee=request.user)
        .order_by("-id")
        .first()
    )
    if task is None:
        messages.warning(request, "This request is not waiting for your changes.")
        return redirect("approvals:request", instance_id=instance.id)
    form = StartForm(history.start_fields(_graph(instance)), request.POST)
    files_form = AttachmentsForm(request.POST, request.FILES, already=instance.attachments.count())
    if all([form.is_valid(), files_form.is_valid()]):
        try:
            resubmit_request(task.id, request.user, form.data_for_engine())
        except StartDataError as exc:
            _engine_errors_onto(form, exc.errors)
        except (TaskAlreadyDecided, InvalidState) as exc:
            messages.warning(request, str(exc))
            return redirect("approvals:request", instance_id=instance.id)
        else:
            _attach(request, instance, files_form)
            messages.success(request, "Your changes were sent; the approval starts again.")
            return redirect("approvals:request", instance_id=instance.id)
    return request_detail(request, instance_id, resubmit_form=form, files_form=files_form)


# --- signed links from emails ----------------------------------------------------------------

_LINK_OUTCOMES = {"approve": APPROVED, "reject": REJECTED}


@login_required
def task_link(request: AuthenticatedRequest, token: str) -> HttpResponse:
    """An emailed one-click link: a page that offers its action; only the POST decides.

    The link must be genuine, unexpired and sent to the signed-in user; an open
    link leads to the task. Anything else (expired, altered, someone else's, task
    decided or changed since) gets a page saying so, never an error.
    """
    try:
        claim = links.read_token(token)
    except links.LinkExpired:
        return _link_page(request, "expired", status=410)
    except links.LinkInvalid:
        return _link_page(request, "invalid", status=400)
    if claim.user_id != request.user.pk:
        return _link_page(request, "wrong_user", status=403)
    if claim.action == "open":
        return redirect("approvals:task", task_id=claim.task_id)
    task = (
        ApprovalTask.objects.select_related(
            "instance__workflow",
            "instance__initiator",
            "requester",
            "assignee",
            "candidate_group",
            "decided_by",
            "on_behalf_of",
        )
        .filter(pk=claim.task_id)
        .first()
    )
    problem = _link_problem(request.user, task, claim)
    if problem:
        return _link_page(request, problem, task, status=409 if problem in ("decided", "closed") else 200)
    assert task is not None  # no problem means the task exists
    form = DecisionForm(
        {"outcome": _LINK_OUTCOMES[claim.action], "comment": request.POST.get("comment", "")}
        if request.method == "POST"
        else None
    )
    if request.method == "POST" and form.is_valid():
        try:
            complete_task(
                task.id, request.user, form.cleaned_data["outcome"], comment=form.cleaned_data["comment"]
            )
        except InvalidDecision as exc:
            form.add_error("comment" if exc.field == "comment" else None, str(exc))
        except (TaskAlreadyDecided, InvalidState, PermissionDenied):
            task.refresh_from_db()
            return _link_page(request, _link_problem(request.user, task, claim) or "stuck", task, status=409)
        else:
            verb = "Approved" if claim.action == "approve" else "Rejected"
            messages.success(request, f"{verb}: {task.subject or task.name}. Thank you.")
            return redirect("approvals:task", task_id=task.id)
    return _link_page(
        request, "confirm", task, form=form, action=claim.action, status=400 if form.errors else 200
    )


def _link_problem(user: Any, task: ApprovalTask | None, claim: links.LinkClaim) -> str:
    """Why ``claim`` cannot be acted on now ("" if it can)."""
    if task is None:
        return "gone"
    if task.status == ApprovalTask.Status.COMPLETED:
        return "decided"
    if task.status != _OPEN:
        return "closed"
    if task.lock_version != claim.version:
        return "changed"
    if can_decide(user, task) is not None:
        return "not_yours"
    return ""


def _link_page(
    request: HttpRequest,
    state: str,
    task: ApprovalTask | None = None,
    *,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    context = {
        "state": state,
        "task": task,
        "summary": notifications.summary(task) if task is not None else None,
        **extra,
    }
    return render(request, "approvals/task_link.html", context, status=status)
