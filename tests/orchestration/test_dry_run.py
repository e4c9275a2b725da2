"""Test runs and replays of a draft: the real engine in a transaction that is always rolled back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from approvals.actions import complete_task
from approvals.models import ApprovalTask
from orchestration.bpmn.compiler import compile_bpmn
from orchestration.engine import StartDataError, dispatch, dry_run, start_instance
from orchestration.engine.dry_run import Answer, BadResubmission, replay, try_draft
from orchestration.models import Event, Incident, Outbox, ProcessInstance, Step, Timer, WorkflowVersion
from tests import bpmn
from tests.conftest import Engine, wait_for
from tests.orchestration.factories import publish

pytestmark = [pytest.mark.integration]

FORM = (bpmn.field("item", required=True), bpmn.field("amount", "number", required=True, min="0"))

# What the order step needs (publishing refuses a step without its required values).
BOOKING = {"item": "item", "amount": "amount", "currency": '"USD"', "requester": '"emma"'}


def travel(limit: str = "1000.0") -> str:
    """Start → Decision on the amount → Director (big) or Manager approval → Book → Wait 2 days → Notify → End."""
    return bpmn.definitions(
        bpmn.start("start", *FORM),
        bpmn.gateway("big", default="f_small", name="Costly?"),
        bpmn.user_task("director", name="Director approval", assignee="director", result="approval"),
        bpmn.user_task("manager", name="Manager approval", assignee="manager", result="approval"),
        bpmn.gateway("ok", default="f_no", name="Approved?"),
        bpmn.service(
            "book",
            "procurement.create_order",
            name="Book the trip",
            inputs=BOOKING,
            outputs={"order": "result.order_id"},
        ),
        bpmn.wait_timer("pause", "P2D", name="Wait two days"),
        bpmn.service(
            "tell",
            "email",
            name="Tell the traveller",
            inputs={"to": '"emma@example.com"', "subject": '"Booked"', "body": '"Your trip is booked."'},
            tag="sendTask",
        ),
        bpmn.end("done", outcome="approved", name="Booked"),
        bpmn.end("refused", outcome="rejected", name="Refused"),
        bpmn.flow("start", "big"),
        bpmn.flow("big", "director", id="f_big", condition=f"amount > {limit}", name="Over the limit"),
        bpmn.flow("big", "manager", id="f_small", name="Within the limit"),
        bpmn.flow("director", "ok"),
        bpmn.flow("manager", "ok"),
        bpmn.flow("ok", "book", id="f_yes", condition='approval.outcome == "approved"'),
        bpmn.flow("ok", "refused", id="f_no"),
        *bpmn.chain("book", "pause", "tell", "done"),
    )


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (ProcessInstance, Step, ApprovalTask, Outbox, Event, Timer, Incident, WorkflowVersion)
    }


def _mail_files() -> list[Path]:
    folder = Path(settings.EMAIL_FILE_PATH)
    return sorted(folder.rglob("*")) if folder.exists() else []


@pytest.fixture
def people(django_user_model: Any) -> dict[str, Any]:
    return {
        name: django_user_model.objects.create_user(name, email=f"{name}@example.com")
        for name in ("designer", "director", "manager", "emma")
    }


def _draft(version: WorkflowVersion, xml: str) -> tuple[str, Any]:
    result = compile_bpmn(xml)
    assert result.ok, result.errors
    return xml, result.graph


def test_test_run_walks_to_an_approval_decides_it_and_reaches_the_end_keeping_nothing(
    live_engine: Engine, people: dict[str, Any], mailoutbox: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    version = publish(travel(), key="travel")
    published: list[Any] = []
    monkeypatch.setattr(dispatch, "publish", lambda items: published.append(items))
    monkeypatch.setattr(dispatch, "publish_deliveries", lambda items: published.append(items))
    xml, graph = _draft(version, travel())
    before, mail_before = _counts(), _mail_files()
    # Compared with before, not with 0: an earlier test of the run may have left a message queued.
    queued = dispatch.queue_depth()
    data = {"item": "Trip to Lyon", "amount": 300}

    first = try_draft(version.workflow, xml, graph, data, [], user=people["designer"])

    assert [line["node_id"] for line in first.lines] == ["start", "big", "manager"]
    assert first.lines[1]["text"] == "went on along “Within the limit”"
    (question,) = first.questions
    assert (question.at, question.ask) == ("manager#1", "decision")
    assert "manager" in question.text  # who would decide, by the real approval rules

    answers = [Answer("manager#1", "decision", outcome="approved", comment="Fine")]
    second = try_draft(version.workflow, xml, graph, data, answers, user=people["designer"])
    assert second.lines[2]["text"] == "approved by you (test) — Fine"
    (question,) = second.questions
    assert (question.at, question.ask) == ("book#1", "output")
    # What the step keeps from the answer is asked for (declared by the connector, or read from the step).
    assert "order_id" in [o["name"] for o in question.outputs]

    answers += [
        Answer("book#1", "output", output={"order_id": "PO-1", "status": "placed"}),
        Answer("pause#1", "skip"),
    ]
    third = try_draft(version.workflow, xml, graph, data, answers, user=people["designer"])
    (question,) = third.questions
    assert (question.at, question.ask) == ("tell#1", "output")  # Notify: the email is not sent

    answers.append(Answer("tell#1", "output", output={}))
    done = try_draft(version.workflow, xml, graph, data, answers, user=people["designer"])

    assert done.status == ProcessInstance.Status.COMPLETED
    assert done.outcome == "approved"
    assert not done.questions
    assert [line["node_id"] for line in done.lines] == [
        "start", "big", "manager", "ok", "book", "pause", "tell", "done"
    ]  # fmt: skip
    assert done.lines[5]["text"] == "wait skipped (test)"
    # Nothing written survives, nothing was sent.
    assert _counts() == before
    assert published == []
    assert mailoutbox == []
    assert _mail_files() == mail_before
    assert dispatch.queue_depth() == queued


def test_start_data_that_does_not_fit_the_form_is_refused_by_field(db: None, people: dict[str, Any]) -> None:
    version = publish(travel(), key="travel")
    xml, graph = _draft(version, travel())

    with pytest.raises(StartDataError) as refused:
        try_draft(version.workflow, xml, graph, {"item": "x", "amount": "lots"}, [], user=people["designer"])

    assert "amount" in refused.value.errors


def test_a_test_run_stops_answering_when_its_time_is_up(
    db: None, people: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its transaction holds locks (on SQLite the one write lock): a long loop of answers is cut short.
    monkeypatch.setattr(dry_run, "_TIME_BUDGET_SECONDS", 0.0)
    version = publish(travel(), key="travel")
    xml, graph = _draft(version, travel())
    answers = [Answer("manager#1", "decision", outcome="approved")]

    run = try_draft(version.workflow, xml, graph, {"item": "Trip", "amount": 5}, answers, user=people["emma"])

    assert run.status == ProcessInstance.Status.RUNNING
    assert [q.at for q in run.questions] == ["manager#1"]
    assert run.questions[0].text == "the test run stopped here: it took too long (try it with fewer rounds)"


def test_an_approval_may_be_rejected_or_sent_back_in_a_test_run(db: None, people: dict[str, Any]) -> None:
    version = publish(travel(), key="travel")
    xml, graph = _draft(version, travel())
    answers = [
        Answer("director#1", "decision", outcome="changes_requested", comment="Cheaper hotel"),
        Answer("director#1", "resubmit"),  # sent again unchanged
        Answer("director#1", "decision", outcome="rejected", comment="Too much"),
    ]

    run = try_draft(
        version.workflow, xml, graph, {"item": "Trip", "amount": 5000}, answers, user=people["emma"]
    )

    assert run.outcome == "rejected"
    assert [line["node_id"] for line in run.lines] == ["start", "big", "director", "ok", "refused"]
    assert run.lines[2]["text"] == "rejected by you (test) — Too much"


def chosen_approver() -> str:
    """Start (item, approver) → an Approval that goes to the person the request names → End."""
    return bpmn.definitions(
        bpmn.start("start", bpmn.field("item", required=True), bpmn.field("approver", required=True)),
        '<bpmn:userTask id="review" name="Review" baton:assigneeRule="from_data" '
        'baton:assigneeExpression="approver" baton:resultVariable="approval"/>',
        bpmn.end("done", outcome="approved", name="Done"),
        *bpmn.chain("start", "review", "done"),
    )


def test_a_request_sent_back_in_a_test_run_is_resubmitted_changed_and_routed_again(
    db: None, people: dict[str, Any]
) -> None:
    version = publish(chosen_approver(), key="chosen")
    xml, graph = _draft(version, chosen_approver())
    data = {"item": "Laptop", "approver": "manager"}
    answers = [Answer("review#1", "decision", outcome="changes_requested", comment="Ask the director")]

    sent_back = try_draft(version.workflow, xml, graph, data, answers, user=people["emma"])

    (question,) = sent_back.questions
    # The requester's form: the start form's fields, filled with the request's values.
    assert (question.at, question.ask) == ("review#1", "resubmit")
    assert question.example == {"item": "Laptop", "approver": "manager"}
    assert [o["name"] for o in question.outputs] == ["item", "approver"]
    assert "changes requested by you (test) — Ask the director" in question.text

    answers.append(Answer("review#1", "resubmit", data={"approver": "director"}))
    again = try_draft(version.workflow, xml, graph, data, answers, user=people["emma"])

    (question,) = again.questions
    assert (question.at, question.ask) == ("review#1", "decision")
    # Routed again with the changed value: the director decides now, not the manager.
    assert "director" in question.text and "manager" not in question.text

    answers.append(Answer("review#1", "decision", outcome="approved"))
    done = try_draft(version.workflow, xml, graph, data, answers, user=people["emma"])
    assert done.status == ProcessInstance.Status.COMPLETED
    assert done.lines[1]["text"] == "approved by you (test)"


def test_a_resubmission_that_does_not_fit_the_start_form_names_the_answer_and_field(
    db: None, people: dict[str, Any]
) -> None:
    version = publish(chosen_approver(), key="chosen")
    xml, graph = _draft(version, chosen_approver())
    answers = [
        Answer("review#1", "decision", outcome="changes_requested"),
        Answer("review#1", "resubmit", data={"item": ""}),
    ]

    with pytest.raises(BadResubmission) as refused:
        try_draft(
            version.workflow, xml, graph, {"item": "Pen", "approver": "manager"}, answers, user=people["emma"]
        )

    assert refused.value.field == "answers[1].data"
    assert list(refused.value.errors) == ["item"]


def test_a_test_run_takes_an_approvals_own_path_for_changes_requested(
    db: None, people: dict[str, Any]
) -> None:
    xml = bpmn.definitions(
        bpmn.start("start", *FORM),
        bpmn.user_task("review", name="Review", assignee="manager", result="approval"),
        bpmn.service(
            "redo",
            "email",
            name="Ask for a new quote",
            inputs={"to": '"emma@example.com"', "subject": '"Quote"', "body": '"A cheaper one, please."'},
            tag="sendTask",
        ),
        bpmn.end("done", outcome="approved"),
        bpmn.end("again", name="New quote asked"),
        bpmn.flow("review", "done", outcome="approved"),
        bpmn.flow("review", "redo", outcome="changes_requested"),
        *bpmn.chain("start", "review"),
        *bpmn.chain("redo", "again"),
    )
    version = publish(xml, key="quote")
    xml, graph = _draft(version, xml)
    answers = [Answer("review#1", "decision", outcome="changes_requested", comment="Cheaper")]

    run = try_draft(
        version.workflow, xml, graph, {"item": "Desk", "amount": 90}, answers, user=people["emma"]
    )

    # As approvers deciding: the path drawn for it, not a send-back to the requester.
    assert [q.ask for q in run.questions] == ["output"]
    assert [line["node_id"] for line in run.lines] == ["start", "review", "redo"]


def test_replay_sends_back_and_resubmits_as_the_request_did(db: None, people: dict[str, Any]) -> None:
    from approvals.actions import resubmit_request

    xml = bpmn.definitions(
        bpmn.start("start", *FORM),
        bpmn.user_task("manager", name="Manager approval", assignee="manager", result="approval"),
        bpmn.gateway("big", default="f_small", name="Costly?"),
        bpmn.user_task("director", name="Director approval", assignee="director", result="approval"),
        bpmn.end("done", outcome="approved"),
        bpmn.flow("big", "director", id="f_big", condition="amount > 1000.0"),
        bpmn.flow("big", "done", id="f_small"),
        *bpmn.chain("start", "manager", "big"),
        *bpmn.chain("director", "done"),
    )
    version = publish(xml, key="resubmitted")
    instance = start_instance(version, {"item": "Desk", "amount": 5000}, initiator=people["emma"])
    _decide_all(instance, people, "changes_requested")
    back = ApprovalTask.objects.get(instance=instance, kind=ApprovalTask.Kind.RESUBMIT)
    resubmit_request(back.pk, people["emma"], {"amount": 500})
    _decide_all(instance, people)
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED  # 500: no director

    report = replay(version.workflow, *_draft(version, xml))

    # Replayed with its resubmitted amount (500), not the first one (5000, the director's).
    (same,) = report.groups
    assert same.same and same.text == "1 of 1 requests take the same path"


def _decide_all(instance: ProcessInstance, people: dict[str, Any], outcome: str = "approved") -> None:
    task = ApprovalTask.objects.get(instance=instance, status=ApprovalTask.Status.OPEN)
    complete_task(task.pk, task.assignee, outcome, comment="ok")


def test_replay_reports_exactly_the_requests_a_changed_limit_moves(
    live_engine: Engine, people: dict[str, Any], procurement_url: str
) -> None:
    version = publish(travel(limit="1000.0"), key="travel")
    amounts = [300, 800, 1500, 2500, 5000]
    instances = []
    for amount in amounts:
        instance = start_instance(
            version, {"item": f"Trip {amount}", "amount": amount}, initiator=people["emma"]
        )
        _decide_all(instance, people)
        instances.append(instance)
    # The bookings ran on the real worker against the demo procurement system; the waits hold them.
    for instance in instances:
        wait_for(
            lambda i=instance: Step.objects.filter(instance=i, node_id="pause", status="waiting").exists(),
            what="the booking to be answered",
        )
    wait_for(lambda: not Outbox.objects.exists(), what="the approval emails to be delivered")
    before = _counts()
    # The draft raises the limit: 1500 no longer needs the director.
    xml, graph = _draft(version, travel(limit="2000.0"))

    report = replay(version.workflow, xml, graph, limit=50)

    assert report.total == 5
    assert report.same == 4
    (moved, same) = report.groups
    assert moved.text == "1 of 5 requests would now go to Manager approval instead of Director approval"
    assert moved.node_id == "manager"
    assert [r["title"] for r in moved.requests] == ["Trip 1500"]
    assert same.same and same.text == "4 of 5 requests take the same path"
    assert _counts() == before


def test_replay_names_a_new_step_the_requests_never_reached(
    live_engine: Engine, people: dict[str, Any]
) -> None:
    simple = bpmn.definitions(
        bpmn.start("start", *FORM),
        bpmn.user_task("manager", name="Manager approval", assignee="manager", result="approval"),
        bpmn.end("done", outcome="approved"),
        *bpmn.chain("start", "manager", "done"),
    )
    version = publish(simple, key="simple")
    for amount in (10, 20, 30):
        _decide_all(
            start_instance(version, {"item": "Pens", "amount": amount}, initiator=people["emma"]), people
        )
    with_finance = bpmn.definitions(
        bpmn.start("start", *FORM),
        bpmn.user_task("manager", name="Manager approval", assignee="manager", result="approval"),
        bpmn.user_task("finance", name="Finance check", assignee="director", result="check"),
        bpmn.end("done", outcome="approved"),
        *bpmn.chain("start", "manager", "finance", "done"),
    )
    xml, graph = _draft(version, with_finance)

    report = replay(version.workflow, xml, graph)

    (group,) = report.groups
    assert (
        group.text == "3 of 3 requests would now wait at a new step Finance check, which they never reached"
    )
    assert group.node_id == "finance"


def test_an_automated_step_made_to_fail_takes_its_if_it_fails_path(db: None, people: dict[str, Any]) -> None:
    xml = bpmn.definitions(
        bpmn.start("start", *FORM),
        bpmn.service("book", "procurement.create_order", name="Book the trip", inputs=BOOKING),
        bpmn.boundary_error("oops", "book", name="Booking failed"),
        bpmn.end("done", outcome="booked"),
        bpmn.end("failed", outcome="not booked"),
        *bpmn.chain("start", "book", "done"),
        bpmn.flow("oops", "failed"),
    )
    version = publish(xml, key="book")
    xml, graph = _draft(version, xml)
    data = {"item": "Trip", "amount": 10}

    asked = try_draft(version.workflow, xml, graph, data, [], user=people["designer"])
    failed = try_draft(
        version.workflow, xml, graph, data, [Answer("book#1", "fail")], user=people["designer"]
    )

    assert asked.questions[0].can_fail
    assert failed.outcome == "not booked"
    assert [line["node_id"] for line in failed.lines][-2:] == ["oops", "failed"]


def test_a_recorded_failure_is_replayed_as_a_failure(db: None, people: dict[str, Any]) -> None:
    from orchestration.engine.worker import claim_step, fail_step

    xml = bpmn.definitions(
        bpmn.start("start", *FORM),
        bpmn.service("book", "procurement.create_order", name="Book the trip", inputs=BOOKING),
        bpmn.boundary_error("oops", "book", name="Booking failed"),
        bpmn.end("done", outcome="booked"),
        bpmn.end("failed", outcome="not booked"),
        *bpmn.chain("start", "book", "done"),
        bpmn.flow("oops", "failed"),
    )
    version = publish(xml, key="book")
    instance = start_instance(version, {"item": "Trip", "amount": 10}, initiator=people["emma"])
    step = Step.objects.get(instance=instance, node_id="book")
    assert claim_step(step.pk, 1) is not None
    fail_step(step.pk, 1, "Budget exhausted", retryable=False, code="budget")  # as the worker reports it
    instance.refresh_from_db()
    assert instance.outcome == "not booked"
    xml, graph = _draft(version, xml)

    report = replay(version.workflow, xml, graph)

    assert [group.text for group in report.groups] == ["1 of 1 requests take the same path"]


def _routing() -> str:
    """Start → Decision "Route" the AI decides ("Needs review" or the default "Fast track") → two Ends."""
    return bpmn.definitions(
        bpmn.start("start", *FORM),
        bpmn.ai_gateway(
            "route",
            "to_fast",
            name="Route",
            properties={"connection": "models", "instruction": "Is {{item}} for {{amount}} unusual?"},
            inputs={"item": "item", "amount": "amount"},
        ),
        bpmn.end("reviewed", outcome="reviewed", name="Reviewed"),
        bpmn.end("fast", outcome="fast", name="Fast"),
        bpmn.flow("start", "route"),
        bpmn.flow("route", "reviewed", id="to_review", name="Needs review"),
        bpmn.flow("route", "fast", id="to_fast", name="Fast track"),
    )


def test_a_test_run_asks_which_path_the_ai_picks_defaulting_to_the_default_path(
    db: None, people: dict[str, Any]
) -> None:
    version = publish(_routing(), key="routing")
    xml, graph = _draft(version, _routing())
    data = {"item": "Gold stapler", "amount": 900}

    first = try_draft(version.workflow, xml, graph, data, [], user=people["designer"])

    (question,) = first.questions
    assert (question.at, question.ask) == ("route#1", "path")
    assert question.paths == ["Needs review", "Fast track"]
    assert question.example == {"path": "Fast track", "reason": ""}
    picked = [Answer("route#1", "output", output={"path": "Needs review", "reason": "Odd"})]
    done = try_draft(version.workflow, xml, graph, data, picked, user=people["designer"])
    assert done.outcome == "reviewed"
    assert done.lines[1]["text"] == "Decided by AI: “Needs review” — Odd (test run: the AI was not asked)"
    # A path that is not one of them is what a model's invalid answer is: the default path, and why.
    wrong = [Answer("route#1", "output", output={"path": "Somewhere", "reason": ""})]
    fallback = try_draft(version.workflow, xml, graph, data, wrong, user=people["designer"])
    assert fallback.outcome == "fast"
    assert fallback.lines[1]["text"].startswith("The AI could not choose (The AI's answer was invalid:")


def test_replay_gives_an_ai_decided_decision_its_recorded_answer_or_failure(
    db: None, people: dict[str, Any]
) -> None:
    from orchestration.engine.worker import claim_step, complete_step, fail_step

    version = publish(_routing(), key="routing")
    chose = start_instance(version, {"item": "Gold stapler", "amount": 900}, initiator=people["emma"])
    failed = start_instance(version, {"item": "Pen", "amount": 2}, initiator=people["emma"])
    for instance in (chose, failed):
        step = Step.objects.get(instance=instance, node_id="route")
        assert claim_step(step.pk, 1) is not None
        if instance is chose:
            answer = {"answer": {"path": "Needs review", "reason": "Odd"}, "model": "m"}
            complete_step(step.pk, 1, answer)
        else:
            fail_step(step.pk, 1, "The model server answered 503", retryable=False)
    chose.refresh_from_db()
    failed.refresh_from_db()
    assert (chose.outcome, failed.outcome) == ("reviewed", "fast")
    xml, graph = _draft(version, _routing())

    report = replay(version.workflow, xml, graph)

    assert [group.text for group in report.groups] == ["2 of 2 requests take the same path"]
