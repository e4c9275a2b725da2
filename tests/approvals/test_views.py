"""The requester and approver pages: catalog, start form, inbox, task decisions, my requests."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from guardian.shortcuts import assign_perm

from approvals.actions import complete_task
from approvals.models import ApprovalTask
from orchestration.engine import start_instance
from orchestration.models import Event, ProcessInstance
from tests.approvals.conftest import approval_flow
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def purchase(org: dict[str, Any]) -> Any:
    """The one-approval purchase flow, startable by the employee."""
    version = publish(approval_flow(), key="buy", name="Buy something")
    assign_perm("orchestration.start_workflow", org["employee"], version.workflow)
    assign_perm("orchestration.view_workflow", org["employee"], version.workflow)
    return version


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _request(version: Any, requester: Any, amount: float = 5000, item: str = "Laptop") -> ProcessInstance:
    return start_instance(version, {"item": item, "amount": amount}, initiator=requester, trigger="manual")


def _open(instance: ProcessInstance) -> ApprovalTask:
    return ApprovalTask.objects.get(instance=instance, status=ApprovalTask.Status.OPEN)


# --- catalog and start form ------------------------------------------------------------------


def test_catalog_lists_only_workflows_the_user_may_start(org, purchase):
    publish(approval_flow(), key="secret", name="Secret flow")

    page = _client(org["employee"]).get("/requests/new/")

    assert page.status_code == 200
    assert b"Buy something" in page.content and b"Secret flow" not in page.content


def test_start_form_without_permission_is_not_found(org, purchase):
    assert _client(org["manager"]).get("/requests/new/buy/").status_code == 404


def test_start_form_refuses_bad_input_with_errors_on_the_fields(org, purchase):
    page = _client(org["employee"]).post(
        "/requests/new/buy/", {"item": "", "amount": "-3", "currency": "JPY"}
    )

    assert page.status_code == 400
    errors = page.context["form"].errors
    assert errors["item"] == ["This field is required."]
    assert errors["currency"] == ["Choose one of: USD, EUR."]
    assert "amount" not in errors  # its minor units depend on the currency, refused first
    assert not ProcessInstance.objects.exists()
    page = _client(org["employee"]).post(
        "/requests/new/buy/", {"item": "x", "amount": "-3", "currency": "USD"}
    )
    assert page.context["form"].errors["amount"] == ["Must be at least USD 0.01."]


def test_submitting_the_start_form_starts_the_request_and_shows_it(org, purchase):
    client = _client(org["employee"])

    response = client.post("/requests/new/buy/", {"item": "Desk", "amount": "750", "currency": "USD"})

    instance = ProcessInstance.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/requests/{instance.id}/"
    assert (instance.initiator, instance.trigger, instance.variables["amount"]) == (
        org["employee"],
        "manual",
        "750.00",
    )
    page = client.get(response["Location"])
    assert page.context["state"].label == "Waiting for approval"
    assert "With Max Manager" in page.context["state"].detail


# --- inbox -----------------------------------------------------------------------------------


def test_inbox_shows_my_tasks_and_my_groups_queue_with_counts(org, purchase):
    _request(purchase, org["employee"], 5000, "Laptop")
    _request(purchase, org["employee"], 300, "Chair")
    queue_version = publish(approval_flow("group", "Finance"), key="queue")
    start_instance(queue_version, {"item": "Audit", "amount": 10}, initiator=org["employee"])
    org["manager"].groups.add(org["fiona"].groups.get())

    page = _client(org["manager"]).get("/inbox/")

    assert page.status_code == 200
    assert dict((k, c) for k, _, c in page.context["tabs"]) == {"mine": 2, "queue": 1, "done": None}
    assert [t.subject for t in page.context["page"]] == ["Chair", "Laptop"]
    queue = _client(org["manager"]).get("/inbox/?tab=queue")
    assert [t.subject for t in queue.context["page"]] == ["Audit"]


def test_an_empty_own_list_points_to_the_group_queue_waiting(org, purchase):
    queue_version = publish(approval_flow("group", "Finance"), key="queue")
    start_instance(queue_version, {"item": "Audit", "amount": 10}, initiator=org["employee"])

    page = _client(org["fiona"]).get("/inbox/").content.decode()

    assert "Nothing is assigned to you alone." in page
    assert "1 request waits in your group's queue" in page
    assert 'href="?tab=queue"' in page
    assert "caught up" not in _client(org["manager"]).get("/inbox/?tab=done").content.decode()


def test_inbox_filters_by_amount_requester_and_search_and_sorts(org, purchase):
    for item, amount in [("Laptop", 5000), ("Chair", 300), ("Monitor", 900)]:
        _request(purchase, org["employee"], amount, item)
    client = _client(org["manager"])

    def subjects(query: str) -> list[str]:
        return [t.subject for t in client.get(f"/inbox/?{query}").context["page"]]

    assert subjects("amount_min=800&sort=amount") == ["Monitor", "Laptop"]
    assert subjects("amount_max=1000&sort=-amount") == ["Monitor", "Chair"]
    assert subjects("q=lapt") == ["Laptop"]
    assert subjects("requester=employee&sort=created") == ["Laptop", "Chair", "Monitor"]
    assert subjects("requester=director") == []


def test_inbox_filters_by_due_date_and_says_which_filters_it_ignored(org, purchase):
    _request(purchase, org["employee"], 500, "Desk")  # due in two days
    client = _client(org["manager"])

    def subjects(query: str) -> list[str]:
        return [t.subject for t in client.get(f"/inbox/?{query}").context["page"]]

    assert subjects("due=week") == ["Desk"]
    assert subjects("due=overdue") == [] and subjects("due=none") == []
    page = client.get("/inbox/?amount_min=lots&q=desk")
    assert [t.subject for t in page.context["page"]] == ["Desk"]
    assert b"Some filters were ignored" in page.content


def test_inbox_page_costs_the_same_queries_for_five_or_thirty_tasks(org, purchase):
    client = _client(org["manager"])
    _request(purchase, org["employee"])
    client.get("/inbox/")  # warm caches (content types, sessions)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/inbox/").status_code == 200
        return len(captured)

    for _ in range(4):
        _request(purchase, org["employee"])
    few = queries()
    for _ in range(25):
        _request(purchase, org["employee"])
    assert queries() == few


def test_inbox_pages_twenty_five_at_a_time(org, purchase):
    for n in range(27):
        _request(purchase, org["employee"], 1000 + n, f"Item {n}")
    client = _client(org["manager"])

    first, second = client.get("/inbox/"), client.get("/inbox/?page=2")

    assert len(first.context["page"]) == 25 and len(second.context["page"]) == 2
    assert first.context["page"].paginator.count == 27


def test_htmx_filter_request_renders_only_the_task_list(org, purchase):
    _request(purchase, org["employee"])

    page = _client(org["manager"]).get("/inbox/?q=Laptop", headers={"HX-Request": "true"})

    assert b'data-testid="task-table"' in page.content and b"<html" not in page.content


# --- task detail and decisions ------------------------------------------------------------------


def test_task_page_shows_the_reason_chain_and_history(org, purchase):
    task = _open(_request(purchase, org["employee"]))

    page = _client(org["manager"]).get(f"/tasks/{task.id}/")

    assert page.status_code == 200 and page.context["decidable"]
    assert b"Max Manager&#x27;s limit USD 2,000.00 does not cover USD 5,000.00" in page.content
    assert page.context["timeline"][0].message == "Request submitted"


def test_approving_in_the_page_escalates_to_the_next_level(org, purchase):
    instance = _request(purchase, org["employee"])
    task = _open(instance)

    response = _client(org["manager"]).post(
        f"/tasks/{task.id}/decide/", {"outcome": "approved", "comment": "ok"}
    )

    assert response.status_code == 302
    assert _open(instance).assignee == org["director"]


def test_htmx_decision_redirects_to_the_refreshed_task(org, purchase):
    task = _open(_request(purchase, org["employee"]))

    response = _client(org["manager"]).post(
        f"/tasks/{task.id}/decide/", {"outcome": "approved"}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 204 and response["HX-Redirect"] == f"/tasks/{task.id}/"


def test_rejecting_without_a_comment_keeps_the_task_open_and_says_why(org, purchase):
    task = _open(_request(purchase, org["employee"]))

    page = _client(org["manager"]).post(f"/tasks/{task.id}/decide/", {"outcome": "rejected", "comment": " "})

    assert page.status_code == 400
    assert page.context["form"].errors["comment"] == ["A rejection needs a comment for the requester."]
    task.refresh_from_db()
    assert task.status == ApprovalTask.Status.OPEN


def test_second_decider_sees_who_decided_first_instead_of_an_error(org, purchase):
    queue = publish(approval_flow("group", "Finance"), key="queue")
    instance = start_instance(queue, {"item": "Audit", "amount": 10}, initiator=org["employee"])
    finance = org["fiona"].groups.get()
    org["manager"].groups.add(finance)
    task = _open(instance)
    complete_task(task.id, org["fiona"], "approved", comment="first")
    client = _client(org["manager"])

    response = client.post(
        f"/tasks/{task.id}/decide/", {"outcome": "rejected", "comment": "late"}, follow=True
    )

    assert response.status_code == 200
    assert "Already approved by fiona. Your decision was not recorded." in [
        str(m) for m in response.context["messages"]
    ]
    task.refresh_from_db()
    assert (task.outcome, task.decided_by) == ("approved", org["fiona"])


def test_requester_cannot_decide_their_own_request(org, purchase):
    queue = publish(approval_flow("group", "Finance"), key="queue")
    org["employee"].groups.add(org["fiona"].groups.get())
    task = _open(start_instance(queue, {"item": "Audit", "amount": 10}, initiator=org["employee"]))

    page = _client(org["employee"]).get(f"/tasks/{task.id}/")

    assert page.status_code == 200 and not page.context["decidable"]
    assert b"This is your own request" in page.content


def test_bulk_approve_decides_each_selected_task(org, purchase):
    small = [_open(_request(purchase, org["employee"], 700 + n, f"Item {n}")) for n in range(3)]
    other = _open(_request(purchase, org["employee"], 800, "Not selected"))

    response = _client(org["manager"]).post("/inbox/decide/", {"task": [t.id for t in small]}, follow=True)

    assert "Approved 3 requests." in [str(m) for m in response.context["messages"]]
    assert ApprovalTask.objects.filter(id__in=[t.id for t in small], outcome="approved").count() == 3
    other.refresh_from_db()
    assert other.status == ApprovalTask.Status.OPEN


def test_claiming_a_queue_task_takes_it_out_of_the_queue_and_releasing_puts_it_back(org, purchase):
    queue = publish(approval_flow("group", "Finance"), key="queue")
    task = _open(start_instance(queue, {"item": "Audit", "amount": 10}, initiator=org["employee"]))
    finance = org["fiona"].groups.get()
    org["manager"].groups.add(finance)
    fiona, manager = _client(org["fiona"]), _client(org["manager"])

    fiona.post(f"/tasks/{task.id}/claim/")

    assert [t.id for t in fiona.get("/inbox/").context["page"]] == [task.id]
    assert list(manager.get("/inbox/?tab=queue").context["page"]) == []
    assert manager.get(f"/tasks/{task.id}/").url == "/inbox/"
    fiona.post(f"/tasks/{task.id}/release/")
    assert [t.id for t in manager.get("/inbox/?tab=queue").context["page"]] == [task.id]


# --- right after submitting, and long or blank answers ---------------------------------------------


def test_a_request_still_being_checked_does_not_say_no_approvals_were_needed(org):
    from pathlib import Path

    showcase = Path(__file__).resolve().parents[2] / "orchestration" / "fixtures" / "purchase_approval.bpmn"
    version = publish(showcase.read_text(), key="purchase")
    # No worker runs here: the signature check waits, as it does for a moment after submitting.
    instance = start_instance(
        version, {"item": "Laptop", "amount": 5000, "currency": "USD"}, initiator=org["employee"]
    )

    page = _client(org["employee"]).get(f"/requests/{instance.id}/")

    html = page.content.decode()
    assert "No approvals were needed." not in html
    assert "Baton is checking who needs to approve" in html


def test_the_authority_limit_the_process_worked_out_reads_with_its_currency(org, purchase):
    instance = _request(purchase, org["employee"])
    ProcessInstance.objects.filter(pk=instance.pk).update(
        variables={**instance.variables, "currency": "EUR", "authority_limit": 500.0}
    )

    html = _client(org["employee"]).get(f"/requests/{instance.id}/").content.decode()

    assert "EUR 500.00" in html and "EUR 5,000.00" in html


def test_the_start_form_refuses_a_thousand_character_item_and_caps_the_field(org, purchase):
    client = _client(org["employee"])
    assert 'maxlength="200"' in client.get("/requests/new/buy/").content.decode()

    page = client.post("/requests/new/buy/", {"item": "L" * 1000, "amount": "100", "currency": "USD"})

    assert page.status_code == 400
    assert page.context["form"].errors["item"] == ["Use at most 200 characters; this has 1,000."]
    assert not ProcessInstance.objects.exists()


def test_the_start_form_refuses_a_blank_required_currency_instead_of_assuming_usd(org):
    version = publish(
        approval_flow().replace('type="choice" required="false"', 'type="choice" required="true"'),
        key="strict",
        name="Strict",
    )
    assign_perm("orchestration.start_workflow", org["employee"], version.workflow)
    assign_perm("orchestration.view_workflow", org["employee"], version.workflow)

    page = _client(org["employee"]).post(
        "/requests/new/strict/", {"item": "Pen", "amount": "5", "currency": ""}
    )

    assert page.status_code == 400
    assert page.context["form"].errors["currency"] == ["This field is required."]


# --- races: the slower of two people is told who has the task, never a 404 ----------------------


@pytest.fixture
def taken(org: dict[str, Any]) -> ApprovalTask:
    """A Finance queue task fiona claimed while the manager, also in Finance, had it open."""
    queue = publish(approval_flow("group", "Finance"), key="queue")
    task = _open(start_instance(queue, {"item": "Audit", "amount": 10}, initiator=org["employee"]))
    org["manager"].groups.add(org["fiona"].groups.get())
    org["fiona"].first_name, org["fiona"].last_name = "Fiona", "Finance"
    org["fiona"].save()
    _client(org["fiona"]).post(f"/tasks/{task.id}/claim/")
    return task


def _said(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


TAKEN = "Fiona Finance has taken this task; it is theirs to decide now."


@pytest.mark.parametrize("action", ["claim", "release", "decide"])
def test_acting_on_a_task_another_member_claimed_names_them_instead_of_404(org, taken, action):
    response = _client(org["manager"]).post(
        f"/tasks/{taken.id}/{action}/", {"outcome": "approved"}, follow=True
    )

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/inbox/"
    assert any(TAKEN in m for m in _said(response)), _said(response)
    taken.refresh_from_db()
    assert taken.assignee == org["fiona"] and taken.status == ApprovalTask.Status.OPEN


def test_opening_a_task_another_member_claimed_says_who_has_it(org, taken):
    response = _client(org["manager"]).get(f"/tasks/{taken.id}/", follow=True)

    assert response.redirect_chain == [("/inbox/", 302)]
    assert _said(response) == [f"Audit: {TAKEN}"]


def test_deciding_a_task_another_member_decided_names_the_decider(org, taken):
    complete_task(taken.id, org["fiona"], "approved")

    response = _client(org["manager"]).post(
        f"/tasks/{taken.id}/decide/", {"outcome": "rejected", "comment": "No"}, follow=True
    )

    assert _said(response) == ["Already approved by Fiona Finance. Your decision was not recorded."]


def test_claiming_a_task_one_already_claimed_keeps_it(org, taken):
    response = _client(org["fiona"]).post(f"/tasks/{taken.id}/claim/", follow=True)

    assert response.redirect_chain[-1][0] == f"/tasks/{taken.id}/"
    assert Event.objects.filter(kind="task.claimed").count() == 1


def test_bulk_approving_a_task_another_member_took_names_them(org, purchase, taken):
    mine = _open(_request(purchase, org["employee"], 700, "Chair"))

    response = _client(org["manager"]).post(
        "/inbox/decide/", {"task": [mine.id, taken.id], "outcome": "approved"}, follow=True
    )

    assert _said(response) == ["Approved 1 request.", f"Audit: {TAKEN}"]


def test_bulk_reject_sends_one_comment_to_every_selected_request(org, purchase):
    tasks = [_open(_request(purchase, org["employee"], 700 + n, f"Item {n}")) for n in range(2)]

    response = _client(org["manager"]).post(
        "/inbox/decide/",
        {"task": [t.id for t in tasks], "outcome": "rejected", "comment": "Budget frozen"},
        follow=True,
    )

    assert _said(response) == ["Rejected 2 requests."]
    assert (
        list(ApprovalTask.objects.filter(id__in=[t.id for t in tasks]).values_list("outcome", "comment"))
        == [("rejected", "Budget frozen")] * 2
    )


def test_bulk_reject_without_a_comment_rejects_nothing(org, purchase):
    task = _open(_request(purchase, org["employee"], 700))

    response = _client(org["manager"]).post(
        "/inbox/decide/", {"task": [task.id], "outcome": "rejected"}, follow=True
    )

    assert _said(response) == ["A rejection needs a comment for the requesters; nothing was rejected."]
    task.refresh_from_db()
    assert task.status == ApprovalTask.Status.OPEN


# --- request changes and resubmit ---------------------------------------------------------------


def test_request_changes_sends_it_back_and_resubmitting_routes_it_again(org, purchase):
    instance = _request(purchase, org["employee"], 5000)
    task = _open(instance)
    _client(org["manager"]).post(
        f"/tasks/{task.id}/decide/", {"outcome": "changes_requested", "comment": "Too much"}
    )
    requester = _client(org["employee"])

    page = requester.get(f"/requests/{instance.id}/")

    assert page.context["state"].label == "Changes requested"
    assert page.context["sent_back"].reason == "Max Manager asked for changes: Too much"
    assert page.context["resubmit_form"].initial["amount"] == "5000.00"

    response = requester.post(
        f"/requests/{instance.id}/resubmit/", {"item": "Cheaper laptop", "amount": "1500", "currency": "USD"}
    )

    assert response.status_code == 302
    instance.refresh_from_db()
    assert (instance.variables["item"], instance.variables["amount"]) == ("Cheaper laptop", "1500.00")
    again = _open(instance)
    assert (again.kind, again.assignee, again.chain_level) == ("decision", org["manager"], 1)
    assert Event.objects.filter(instance=instance, kind="request.resubmitted").exists()


def test_resubmit_with_invalid_data_shows_errors_and_keeps_waiting(org, purchase):
    instance = _request(purchase, org["employee"])
    complete_task(_open(instance).id, org["manager"], "changes_requested", comment="Add detail")

    page = _client(org["employee"]).post(
        f"/requests/{instance.id}/resubmit/", {"item": "", "amount": "abc", "currency": "USD"}
    )

    assert page.status_code == 400
    assert page.context["resubmit_form"].errors["amount"] == ["Enter an amount, such as 1250.50."]
    assert _open(instance).kind == ApprovalTask.Kind.RESUBMIT


# --- my requests and cancelling ----------------------------------------------------------------


def test_my_requests_lists_only_mine_with_where_each_one_is(org, purchase):
    mine = _request(purchase, org["employee"], 5000)
    assign_perm("orchestration.start_workflow", org["director"], purchase.workflow)
    _request(purchase, org["director"], 100, "Not mine")

    page = _client(org["employee"]).get("/requests/")

    assert [(i.id, s.label) for i, _, s in page.context["rows"]] == [(mine.id, "Waiting for approval")]


def test_requester_cancels_a_pending_request_and_the_approver_loses_the_task(org, purchase):
    instance = _request(purchase, org["employee"])
    task = _open(instance)

    _client(org["employee"]).post(f"/requests/{instance.id}/cancel/", {"reason": "No longer needed"})

    instance.refresh_from_db()
    task.refresh_from_db()
    assert instance.status == ProcessInstance.Status.CANCELLED
    assert task.status == ApprovalTask.Status.CANCELLED
    assert _client(org["manager"]).get("/inbox/").context["page"].paginator.count == 0


def test_an_approver_cannot_cancel_someone_elses_request(org, purchase):
    instance = _request(purchase, org["employee"])

    assert _client(org["manager"]).post(f"/requests/{instance.id}/cancel/").status_code == 403
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.RUNNING


def test_past_approver_still_sees_the_request_after_deciding(org, purchase):
    instance = _request(purchase, org["employee"])
    complete_task(_open(instance).id, org["manager"], "approved")

    assert _client(org["manager"]).get(f"/requests/{instance.id}/").status_code == 200


def test_the_way_on_after_deciding_stays_one_line_on_a_phone(org, purchase):
    instance = _request(purchase, org["employee"])
    task = _open(instance)
    complete_task(task.id, org["manager"], "approved")

    html = _client(org["manager"]).get(f"/tasks/{task.id}/").content.decode()
    # Beside the decision's words, the button keeps its width instead of breaking "Back to inbox" letter by letter.
    assert 'class="btn btn-outline-secondary ms-auto text-nowrap flex-shrink-0"' in html
    assert ">Back to inbox</a>" in html


# --- every page against someone who must not see it ---------------------------------------------


@pytest.fixture
def outsider() -> Any:
    return get_user_model().objects.create_user("outsider")


def _urls(instance: ProcessInstance, task: ApprovalTask) -> list[tuple[str, str]]:
    return [
        ("get", f"/tasks/{task.id}/"),
        ("post", f"/tasks/{task.id}/decide/"),
        ("post", f"/tasks/{task.id}/claim/"),
        ("post", f"/tasks/{task.id}/release/"),
        ("get", f"/requests/{instance.id}/"),
        ("post", f"/requests/{instance.id}/cancel/"),
        ("post", f"/requests/{instance.id}/resubmit/"),
        ("get", "/requests/new/buy/"),
        ("post", "/requests/new/buy/"),
    ]


def test_every_task_and_request_url_is_not_found_for_an_outsider(org, purchase, outsider):
    instance = _request(purchase, org["employee"])
    task = _open(instance)
    client = _client(outsider)

    for method, url in _urls(instance, task):
        response = getattr(client, method)(url, {"outcome": "approved", "item": "x", "amount": "1"})
        assert response.status_code == 404, (method, url, response.status_code)
        assert b"Laptop" not in response.content
    assert client.get("/inbox/").context["page"].paginator.count == 0
    assert list(client.get("/requests/").context["rows"]) == []
    task.refresh_from_db()
    assert task.status == ApprovalTask.Status.OPEN


def test_every_page_sends_anonymous_visitors_to_sign_in(org, purchase):
    instance = _request(purchase, org["employee"])
    task = _open(instance)
    client = Client()

    for method, url in [
        *_urls(instance, task),
        ("get", "/inbox/"),
        ("get", "/requests/"),
        ("get", "/requests/new/"),
        ("post", "/inbox/decide/"),
    ]:
        response = getattr(client, method)(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), (
            method,
            url,
        )


def test_odd_ids_in_a_bulk_approval_are_ignored_not_a_crash(org, purchase):
    task = _open(_request(purchase, org["employee"]))

    response = _client(org["manager"]).post("/inbox/decide/", {"task": ["²", "x", "-1"]})

    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == ApprovalTask.Status.OPEN


def test_an_earlier_approver_sees_no_decision_form_and_a_posted_one_says_why(org, purchase):
    version = publish(approval_flow(), key="yacht")
    assign_perm("orchestration.start_workflow", org["employee"], version.workflow)
    org["cfo"].groups.add(org["fiona"].groups.get())
    instance = start_instance(version, {"item": "Yacht", "amount": 5_000_000}, initiator=org["employee"])
    for _ in range(3):
        level = _open(instance)
        complete_task(level.id, level.assignee, "approved")
    queue_task = _open(instance)
    cfo = _client(org["cfo"])

    assert not cfo.get(f"/tasks/{queue_task.id}/").context["decidable"]
    page = cfo.post(f"/tasks/{queue_task.id}/decide/", {"outcome": "approved"}, follow=True)

    assert page.status_code == 200
    assert "You already approved this request at level 3; someone else must decide now." in [
        str(m) for m in page.context["messages"]
    ]
    queue_task.refresh_from_db()
    assert queue_task.status == ApprovalTask.Status.OPEN


def test_a_request_nobody_may_decide_says_why_on_the_request_and_task_pages(org, purchase):
    from django.contrib.auth.models import Group

    Group.objects.get(name="Finance").user_set.set([org["cfo"]])
    instance = _request(purchase, org["employee"], 1_500_000)
    for who in ("manager", "director", "cfo"):
        complete_task(_open(instance).id, org[who], "approved")
    cfo_task = ApprovalTask.objects.get(instance=instance, chain_level=3)

    for page in (
        _client(org["employee"]).get(f"/requests/{instance.id}/"),
        _client(org["cfo"]).get(f"/tasks/{cfo_task.id}/"),
    ):
        html = page.content.decode()
        assert page.context["state"].label == "Waiting for an approver"
        assert (
            "Nobody may decide this request: Emma Employee&#x27;s management chain ends after level 3" in html
        )
        assert "Chris Finance already approved it" in html
        assert "technical problem" not in html
