"""Groups, events on a step's edge and For each, run by the engine without a worker (steps reported by hand)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from approvals.actions import complete_task
from approvals.models import ApprovalTask
from orchestration.bpmn.compiler import compile_bpmn
from orchestration.engine import correlate_message, move_token, skip_incident, start_instance
from orchestration.engine.runtime import InvalidState, locked_run
from orchestration.engine.scopes import cancel_steps
from orchestration.engine.timers import fire_due_timers
from orchestration.engine.worker import claim_step, complete_step, fail_step
from orchestration.models import Event, Incident, MessageSubscription, ProcessInstance, Step, Timer
from tests import bpmn
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def people() -> dict[str, Any]:
    return {name: User.objects.create_user(name, password="x") for name in ("ann", "bob", "cho")}


def _report(
    instance: ProcessInstance, node_id: str, output: dict[str, Any] | None = None, index: int | None = None
) -> None:
    """Do what a worker does for the queued step of ``node_id``: claim it and report ``output``."""
    step = Step.objects.get(instance=instance, node_id=node_id, status=Step.Status.QUEUED, loop_index=index)
    claim_step(step.id, 1)
    complete_step(step.id, 1, output or {})


def _fail(instance: ProcessInstance, node_id: str, error: str, *, code: str | None = None) -> None:
    step = Step.objects.get(instance=instance, node_id=node_id, status=Step.Status.QUEUED)
    claim_step(step.id, 1)
    fail_step(step.id, 1, error, retryable=code is None, code=code)


def _fire_after(delta: timedelta) -> int:
    return fire_due_timers(timezone.now() + delta)


# --- Groups


def test_a_group_runs_its_inside_then_goes_on() -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.group(
            "review",
            bpmn.start("review_start"),
            bpmn.script("mark", '{"reviewed": true}'),
            bpmn.end("review_end"),
            *bpmn.chain("review_start", "mark", "review_end"),
            name="Review",
        ),
        bpmn.script("after", '{"after": reviewed}'),
        bpmn.end(outcome="done"),
        *bpmn.chain("start", "review", "after", "end"),
    )
    instance = start_instance(publish(xml, key="grp"), {})

    assert instance.status == ProcessInstance.Status.COMPLETED
    assert instance.variables == {"reviewed": True, "after": True}
    group_step = instance.steps.get(node_id="review")
    assert group_step.status == Step.Status.COMPLETED
    assert set(Step.objects.filter(scope=group_step).values_list("node_id", flat=True)) == {
        "review_start",
        "mark",
        "review_end",
    }


def _group_with_approval(deadline: str) -> str:
    return bpmn.definitions(
        bpmn.start(),
        bpmn.group(
            "legal",
            bpmn.start("legal_start"),
            bpmn.user_task("sign_off", assignee="ann", name="Legal sign-off"),
            bpmn.end("legal_end"),
            *bpmn.chain("legal_start", "sign_off", "legal_end"),
            name="Legal review",
        ),
        bpmn.boundary_timer("late", "legal", duration=deadline, name="3 days passed"),
        bpmn.script("escalated", '{"escalated": true}'),
        bpmn.end("end_late", outcome="late"),
        bpmn.end(outcome="signed"),
        *bpmn.chain("start", "legal", "end"),
        *bpmn.chain("late", "escalated", "end_late"),
    )


def test_a_deadline_on_a_group_stops_the_approval_inside_and_takes_its_path(people: dict[str, Any]) -> None:
    instance = start_instance(publish(_group_with_approval("P3D"), key="legal"), {})
    task = ApprovalTask.objects.get(step__instance=instance)
    assert _fire_after(timedelta(days=2)) == 0

    assert _fire_after(timedelta(days=3, minutes=1)) == 1

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.outcome == "late"
    assert instance.variables == {"escalated": True}
    task.refresh_from_db()
    assert task.status == ApprovalTask.Status.CANCELLED
    assert instance.steps.get(node_id="legal").status == Step.Status.CANCELLED
    assert instance.steps.get(node_id="sign_off").status == Step.Status.CANCELLED
    assert Event.objects.filter(instance=instance, kind="boundary.interrupted").exists()
    with pytest.raises(Exception, match="This task is closed"):
        complete_task(task.id, people["ann"], "approved")
    instance.refresh_from_db()
    assert instance.outcome == "late"


def test_a_decision_before_the_deadline_disarms_it(people: dict[str, Any]) -> None:
    instance = start_instance(publish(_group_with_approval("P3D"), key="legal"), {})
    task = ApprovalTask.objects.get(step__instance=instance)

    complete_task(task.id, people["ann"], "approved")

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.outcome == "signed"
    assert not Timer.objects.filter(
        instance=instance, fired_at__isnull=True, cancelled_at__isnull=True
    ).exists()
    assert _fire_after(timedelta(days=4)) == 0


# --- reminders


def test_a_repeating_reminder_fires_each_time_and_leaves_the_approval_waiting(people: dict[str, Any]) -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.user_task("approve", assignee="ann"),
        bpmn.boundary_timer("remind", "approve", cycle="R3/PT1H", interrupting=False, name="Every hour"),
        bpmn.script("note", '{"reminded": true}'),
        bpmn.end("reminded_end"),
        bpmn.end(outcome="approved"),
        *bpmn.chain("start", "approve", "end"),
        *bpmn.chain("remind", "note", "reminded_end"),
    )
    instance = start_instance(publish(xml, key="remind"), {})
    now = timezone.now()

    fired = [fire_due_timers(now + timedelta(hours=hours, minutes=1)) for hours in range(1, 6)]

    assert fired == [1, 1, 1, 0, 0]
    assert instance.steps.filter(node_id="remind").count() == 3
    assert instance.steps.get(node_id="approve").status == Step.Status.WAITING
    complete_task(ApprovalTask.objects.get(step__instance=instance).id, people["ann"], "approved")
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.outcome == "approved"


# --- failures


def _signing_flow() -> str:
    return bpmn.definitions(
        bpmn.start(),
        bpmn.service("esign", "http.request", name="E-signature", retries=0),
        bpmn.boundary_error("declined", "esign", code="DECLINED", variable="failure", name="Signer declined"),
        bpmn.boundary_error("broken", "esign", name="Any other failure"),
        bpmn.script("paper", '{"by_paper": true}'),
        bpmn.end("end_declined", outcome="declined"),
        bpmn.end(outcome="signed"),
        *bpmn.chain("start", "esign", "end"),
        *bpmn.chain("declined", "end_declined"),
        *bpmn.chain("broken", "paper", "end"),
        errors=("DECLINED",),
    )


def test_a_business_error_takes_the_path_for_its_code() -> None:
    instance = start_instance(publish(_signing_flow(), key="esign"), {})

    _fail(instance, "esign", "The signer declined", code="DECLINED")

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.outcome == "declined"
    assert instance.variables["failure"] == {"code": "DECLINED", "message": "The signer declined"}
    assert not Incident.objects.filter(instance=instance).exists()
    event = Event.objects.get(instance=instance, kind="boundary.interrupted")
    assert event.message == 'E-signature failed: taking the path "Signer declined"'
    assert event.data["error_code"] == "DECLINED" and event.data["error"] == "The signer declined"


def test_a_failure_without_retries_left_takes_the_path_for_any_error() -> None:
    instance = start_instance(publish(_signing_flow(), key="esign"), {})

    _fail(instance, "esign", "Connection refused")

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.outcome == "signed"
    assert instance.variables == {"by_paper": True}


def test_a_business_error_nothing_catches_is_an_incident_naming_its_code() -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.service("order", "http.request", name="Place order"),
        bpmn.boundary_error("declined", "order", code="DECLINED"),
        bpmn.end("end_declined"),
        bpmn.end(),
        *bpmn.chain("start", "order", "end"),
        *bpmn.chain("declined", "end_declined"),
        errors=("DECLINED", "BUDGET"),
    )
    instance = start_instance(publish(xml, key="order"), {})

    _fail(instance, "order", "Budget exhausted", code="BUDGET")

    incident = Incident.objects.get(instance=instance)
    assert incident.error == 'Budget exhausted (error "BUDGET")'
    assert incident.step.node_id == "order"


def test_an_end_with_error_inside_a_group_takes_the_groups_failure_path() -> None:
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("amount", "number", required=True)),
        bpmn.group(
            "check",
            bpmn.start("check_start"),
            bpmn.gateway("ok", default="f_fine"),
            bpmn.error_end("too_much", "OVER_BUDGET", name="Over budget"),
            bpmn.end("check_end"),
            bpmn.flow("check_start", "ok"),
            bpmn.flow("ok", "too_much", id="f_over", condition="amount > 100.0"),
            bpmn.flow("ok", "check_end", id="f_fine"),
        ),
        bpmn.boundary_error("over", "check", code="OVER_BUDGET"),
        bpmn.end("end_refused", outcome="refused"),
        bpmn.end(outcome="fine"),
        *bpmn.chain("start", "check", "end"),
        *bpmn.chain("over", "end_refused"),
        errors=("OVER_BUDGET",),
    )
    version = publish(xml, key="budget")

    assert start_instance(version, {"amount": 50}).outcome == "fine"
    refused = start_instance(version, {"amount": 500})
    assert refused.status == ProcessInstance.Status.COMPLETED and refused.outcome == "refused"
    assert refused.steps.get(node_id="check").status == Step.Status.CANCELLED


# --- messages while waiting


def test_a_message_while_an_approval_waits_stops_it(people: dict[str, Any]) -> None:
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("order", required=True)),
        bpmn.user_task("approve", assignee="ann"),
        bpmn.boundary_message("withdrawn", "approve", "withdraw", "order", name="Request withdrawn"),
        bpmn.end("end_withdrawn", outcome="withdrawn"),
        bpmn.end(outcome="approved"),
        *bpmn.chain("start", "approve", "end"),
        *bpmn.chain("withdrawn", "end_withdrawn"),
        messages=("withdraw",),
    )
    instance = start_instance(publish(xml, key="withdraw"), {"order": "PO-7"})

    correlate_message("withdraw", "PO-7", {"why": "bought elsewhere"})

    instance.refresh_from_db()
    assert instance.outcome == "withdrawn" and instance.variables["why"] == "bought elsewhere"
    assert ApprovalTask.objects.get(step__instance=instance).status == ApprovalTask.Status.CANCELLED
    assert not MessageSubscription.objects.filter(instance=instance).exists()


# --- For each


def _each_order_line(lines: list[str], *, sequential: bool = False, completion: str = "") -> str:
    listed = ", ".join(f'"{line}"' for line in lines)
    return bpmn.definitions(
        bpmn.start(),
        bpmn.script("split", f'{{"items": [{listed}]}}'),
        bpmn.for_each(
            bpmn.service("order", "http.request", name="Order one line", inputs={"line": "line"}),
            "items",
            item="line",
            sequential=sequential,
            output="ordered",
            output_item="result.number",
            completion=completion,
        ),
        bpmn.end(outcome="ordered"),
        *bpmn.chain("start", "split", "order", "end"),
    )


def test_for_each_in_parallel_runs_every_item_and_collects_outputs_in_item_order() -> None:
    instance = start_instance(publish(_each_order_line(["desk", "chair", "lamp"]), key="lines"), {})
    queued = Step.objects.filter(instance=instance, node_id="order", status=Step.Status.QUEUED)
    assert sorted(queued.values_list("loop_index", "input")) == [
        (0, {"line": "desk"}),
        (1, {"line": "chair"}),
        (2, {"line": "lamp"}),
    ]

    for index in (2, 0, 1):  # answers come back in any order
        _report(instance, "order", {"number": f"PO-{index}"}, index=index)

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert instance.variables["ordered"] == ["PO-0", "PO-1", "PO-2"]
    holder = instance.steps.get(node_id="order", loop_index__isnull=True)
    assert holder.status == Step.Status.COMPLETED and holder.output == {"items": 3, "completed": 3}
    assert instance.steps.filter(node_id="end").count() == 1


def test_for_each_one_after_another_starts_the_next_item_when_one_is_done() -> None:
    instance = start_instance(publish(_each_order_line(["desk", "chair"], sequential=True), key="lines"), {})
    assert list(
        Step.objects.filter(instance=instance, node_id="order", status=Step.Status.QUEUED).values_list(
            "loop_index", flat=True
        )
    ) == [0]

    _report(instance, "order", {"number": "PO-A"}, index=0)
    assert list(
        Step.objects.filter(instance=instance, node_id="order", status=Step.Status.QUEUED).values_list(
            "loop_index", flat=True
        )
    ) == [1]
    _report(instance, "order", {"number": "PO-B"}, index=1)

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert instance.variables["ordered"] == ["PO-A", "PO-B"]


def test_for_each_stops_early_when_its_condition_holds_and_cancels_the_rest() -> None:
    xml = _each_order_line(["a", "b", "c"], completion='progress.outputs.exists(o, o == "PO-STOP")')
    instance = start_instance(publish(xml, key="lines"), {})

    _report(instance, "order", {"number": "PO-STOP"}, index=1)

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert instance.variables["ordered"] == [None, "PO-STOP", None]
    statuses = dict(
        instance.steps.filter(node_id="order", loop_index__isnull=False).values_list("loop_index", "status")
    )
    assert statuses == {0: Step.Status.CANCELLED, 1: Step.Status.COMPLETED, 2: Step.Status.CANCELLED}


def test_for_each_over_an_empty_list_goes_straight_on() -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.script("none", '{"items": []}'),
        bpmn.for_each(bpmn.service("order", "http.request"), "items", output="ordered"),
        bpmn.end(),
        *bpmn.chain("start", "none", "order", "end"),
    )
    empty = start_instance(publish(xml, key="empty"), {})
    assert empty.status == ProcessInstance.Status.COMPLETED and empty.variables["ordered"] == []


def test_for_each_over_something_not_a_list_is_an_incident_naming_it() -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.script("one", '{"items": dyn("desk")}'),
        bpmn.for_each(bpmn.service("order", "http.request", name="Order"), "items"),
        bpmn.end(),
        *bpmn.chain("start", "one", "order", "end"),
    )
    instance = start_instance(publish(xml, key="notlist"), {})

    incident = Incident.objects.get(instance=instance)
    assert incident.error == "Order goes through 'items', which is str, not a list."
    skip_incident(incident.id)
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED


def test_for_each_group_runs_the_group_once_per_item_with_its_own_item() -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.script("centres", '{"centres": ["IT", "HR"]}'),
        bpmn.for_each(
            bpmn.group(
                "per_centre",
                bpmn.start("in"),
                bpmn.service("budget", "http.request", inputs={"centre": "centre"}),
                bpmn.end("out"),
                *bpmn.chain("in", "budget", "out"),
            ),
            "centres",
            item="centre",
            output="checked",
            output_item="centre",
        ),
        bpmn.end(),
        *bpmn.chain("start", "centres", "per_centre", "end"),
    )
    instance = start_instance(publish(xml, key="centres"), {})
    budgets = Step.objects.filter(instance=instance, node_id="budget", status=Step.Status.QUEUED).order_by(
        "id"
    )
    assert [s.input for s in budgets] == [{"centre": "IT"}, {"centre": "HR"}]

    for step in budgets:
        claim_step(step.id, 1)
        complete_step(step.id, 1, {})

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED
    assert instance.variables["checked"] == ["IT", "HR"]


def test_a_deadline_on_a_for_each_cancels_every_open_item() -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.script("set", '{"items": [1, 2, 3]}'),
        bpmn.for_each(bpmn.service("work", "http.request"), "items"),
        bpmn.boundary_timer("late", "work", duration="PT1H"),
        bpmn.end("end_late", outcome="late"),
        bpmn.end(),
        *bpmn.chain("start", "set", "work", "end"),
        *bpmn.chain("late", "end_late"),
    )
    instance = start_instance(publish(xml, key="late"), {})
    _report(instance, "work", {}, index=0)

    assert _fire_after(timedelta(hours=2)) == 1

    instance.refresh_from_db()
    assert instance.outcome == "late"
    items = dict(
        instance.steps.filter(node_id="work", loop_index__isnull=False).values_list("loop_index", "status")
    )
    assert items == {0: Step.Status.COMPLETED, 1: Step.Status.CANCELLED, 2: Step.Status.CANCELLED}
    late_result = instance.steps.get(node_id="work", loop_index=1)
    complete_step(late_result.id, 1, {"too": "late"})  # a worker answering after the deadline: ignored
    instance.refresh_from_db()
    assert instance.outcome == "late" and instance.status == ProcessInstance.Status.COMPLETED


def test_an_item_cannot_be_moved_out_of_its_for_each() -> None:
    from orchestration.engine.operations import move_token

    instance = start_instance(publish(_each_order_line(["a", "b"]), key="lines"), {})
    item = instance.steps.get(node_id="order", loop_index=0)

    with pytest.raises(InvalidState, match="same level"):
        move_token(instance.id, item.id, "end")


# --- what the compiler refuses, by name


@pytest.mark.parametrize(
    ("elements", "message"),
    [
        (
            (
                bpmn.start(),
                bpmn.end(),
                bpmn.boundary_timer("t", "end", duration="P1D"),
                bpmn.end("e2"),
                bpmn.flow("start", "end"),
                bpmn.flow("t", "e2"),
            ),
            "is a deadline or reminder on End",
        ),
        (
            (
                bpmn.start(),
                bpmn.user_task("a", assignee="ann"),
                bpmn.boundary_error("x", "a"),
                bpmn.end(),
                bpmn.end("e2"),
                *bpmn.chain("start", "a", "end"),
                bpmn.flow("x", "e2"),
            ),
            'is an "If it fails" path on Approval',
        ),
        (
            (
                bpmn.start(),
                bpmn.for_each(bpmn.gateway("g"), "xs"),
                bpmn.end(),
                *bpmn.chain("start", "g", "end"),
            ),
            "is set to run once per item (For each), which a Decision cannot do",
        ),
        (
            (
                bpmn.start(),
                bpmn.group("g", bpmn.script("s", '{"a": 1}')),
                bpmn.end(),
                *bpmn.chain("start", "g", "end"),
            ),
            "has no Start inside it",
        ),
        (
            (
                bpmn.start(),
                bpmn.group("g", bpmn.start("gs"), bpmn.end("ge"), bpmn.flow("gs", "ge")),
                bpmn.end(),
                bpmn.flow("start", "ge"),
                *bpmn.chain("g", "end"),
            ),
            "crosses the edge of a Group",
        ),
        (
            (
                bpmn.start(),
                bpmn.script("s", '{"n": 1}'),
                bpmn.for_each(bpmn.service("w", "http.request"), "n"),
                bpmn.end(),
                *bpmn.chain("start", "s", "w", "end"),
            ),
            "list it goes through gives an integer; it must give a list",
        ),
        (
            (
                bpmn.start(),
                bpmn.service("w", "http.request"),
                bpmn.boundary_timer("t", "w", duration="soon"),
                bpmn.end(),
                bpmn.end("e2"),
                *bpmn.chain("start", "w", "end"),
                bpmn.flow("t", "e2"),
            ),
            '"soon" is not an ISO 8601 duration',
        ),
    ],
)
def test_misused_scopes_and_events_are_refused_by_name(elements: tuple[str, ...], message: str) -> None:
    result = compile_bpmn(bpmn.definitions(*elements))

    assert not result.ok
    assert any(message in str(problem) for problem in result.errors), [str(p) for p in result.errors]


# --- cancel_steps


def _waiting() -> tuple[object, Step]:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.wait_timer("outer", "P1D", name="Outer wait"),
        bpmn.script("after", '{"went_on": true}'),
        bpmn.end(),
        *bpmn.chain("start", "outer", "after", "end"),
    )
    instance = start_instance(publish(xml, key="scopes"), {})
    return instance, Step.objects.get(instance=instance, node_id="outer")


def _inside(outer: Step, node_id: str) -> Step:
    """A step running inside ``outer`` (as a Group's would), waiting on a timer and a message."""
    step = Step.objects.create(
        instance=outer.instance, node_id=node_id, kind="timer_catch", status=Step.Status.WAITING, scope=outer
    )
    Timer.objects.create(
        kind=Timer.Kind.WAIT, due_at=timezone.now() + timedelta(days=1), instance=outer.instance, step=step
    )
    MessageSubscription.objects.create(
        message_name="m", correlation_key="k", instance=outer.instance, step=step, node_id=node_id
    )
    return step


def test_cancelling_a_step_cancels_the_steps_inside_it_at_every_depth() -> None:
    instance, outer = _waiting()
    inner = _inside(outer, "inner")
    innermost = _inside(inner, "innermost")

    with locked_run(instance.id) as run:  # type: ignore[attr-defined]
        children = cancel_steps(run, [outer], reason="Deadline passed")

    assert children == []
    for step in (outer, inner, innermost):
        step.refresh_from_db()
        assert step.status == Step.Status.CANCELLED and step.ended_at is not None
    assert not Timer.objects.filter(instance=instance, cancelled_at__isnull=True).exists()
    assert not MessageSubscription.objects.filter(instance=instance).exists()
    event = Event.objects.get(instance=instance, kind="steps.cancelled")
    assert event.message == "Stopped Outer wait, inner, innermost: Deadline passed"


def test_moving_a_token_closes_what_runs_inside_the_step_it_leaves() -> None:
    instance, outer = _waiting()
    inner = _inside(outer, "inner")

    move_token(instance.id, outer.id, "after", reason="No need to wait")  # type: ignore[attr-defined]

    inner.refresh_from_db()
    assert inner.status == Step.Status.CANCELLED
    assert not MessageSubscription.objects.filter(step=inner).exists()
    assert Step.objects.get(instance=instance, node_id="after").status == Step.Status.COMPLETED


def test_a_deadline_on_a_sub_process_call_cancels_the_child_after_commit(
    django_capture_on_commit_callbacks,
) -> None:
    child_xml = bpmn.definitions(
        bpmn.start(),
        bpmn.wait_timer("hold", "P7D"),
        bpmn.end(),
        *bpmn.chain("start", "hold", "end"),
        process_id="child",
    )
    publish(child_xml, key="child-flow")
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.call("run_child", "child-flow"),
        bpmn.boundary_timer("late", "run_child", duration="P1D", name="A day passed"),
        bpmn.end("end_late", outcome="late"),
        bpmn.end(),
        *bpmn.chain("start", "run_child", "end"),
        *bpmn.chain("late", "end_late"),
    )
    parent = start_instance(publish(xml, key="parent-flow"), {})
    child = ProcessInstance.objects.get(parent_step__instance=parent)
    assert child.status == ProcessInstance.Status.RUNNING

    with django_capture_on_commit_callbacks(execute=True):
        assert _fire_after(timedelta(days=1, minutes=1)) == 1

    parent.refresh_from_db()
    child.refresh_from_db()
    assert parent.outcome == "late" and parent.status == ProcessInstance.Status.COMPLETED
    assert child.status == ProcessInstance.Status.CANCELLED
    assert not Timer.objects.filter(instance=child, fired_at__isnull=True, cancelled_at__isnull=True).exists()
