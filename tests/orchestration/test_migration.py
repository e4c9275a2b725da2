"""Moving running instances to a new version: mapped by block id or by choice, refused with reasons, dry runs."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied

from approvals.actions import complete_task
from approvals.models import ApprovalTask
from orchestration.definitions import publish_version, save_draft
from orchestration.engine import correlate_message, retry_incident, start_instance
from orchestration.engine.migration import migrate_instance
from orchestration.models import Event, Incident, MessageSubscription, ProcessInstance, Step, WorkflowVersion
from tests import bpmn
from tests.conftest import Engine, wait_for
from tests.orchestration.conftest import Answer, ScriptedServer
from tests.orchestration.factories import publish


def _flow(*blocks: tuple[str, str], messages: tuple[str, ...] = ()) -> str:
    """start → each (id, xml) block in turn → end."""
    return bpmn.definitions(
        bpmn.start("start", bpmn.field("item", required=True)),
        *[xml for _, xml in blocks],
        bpmn.end("end", outcome="done"),
        *bpmn.chain("start", *[id for id, _ in blocks], "end"),
        messages=messages,
    )


def _approve(id: str = "approve", name: str = "Approve purchase") -> tuple[str, str]:
    return id, bpmn.user_task(id, name=name, groups="Finance")


def _stamp() -> tuple[str, str]:
    return "stamp", bpmn.script("stamp", '{"stamped": true}', name="Stamp")


def _next_version(previous: WorkflowVersion, xml: str) -> WorkflowVersion:
    draft, _ = save_draft(previous.workflow, xml)
    return publish_version(draft)


@pytest.fixture
def alice(db: None) -> Any:
    finance = Group.objects.create(name="Finance")
    user = get_user_model().objects.create_user("alice")
    user.groups.add(finance)
    return user


def _state(instance: ProcessInstance) -> tuple[Any, ...]:
    fresh = ProcessInstance.objects.get(id=instance.id)
    steps = tuple(Step.objects.filter(instance=instance).order_by("id").values_list("node_id", "status"))
    events = Event.objects.filter(instance=instance).count()
    return fresh.version_id, fresh.lock_version, fresh.variables, steps, events


def test_a_waiting_approval_moves_by_block_id_and_its_task_decides_on_the_new_version(alice: Any) -> None:
    v1 = publish(_flow(_approve()), key="buy")
    v2 = _next_version(v1, _flow(_approve(), _stamp()))
    instance = start_instance(v1, {"item": "desk"})
    task = ApprovalTask.objects.get(instance=instance)

    plan = migrate_instance(instance.id, v2, actor=alice, reason="New stamp step")

    assert plan.moved and plan.problems == []
    assert [(m.node_id, m.target_id) for m in plan.moves] == [("approve", "approve")]
    assert ProcessInstance.objects.get(id=instance.id).version_id == v2.id
    event = Event.objects.get(instance=instance, kind="instance.migrated")
    assert event.actor == alice and event.data["from_version"] == 1 and event.data["to_version"] == 2
    assert event.data["reason"] == "New stamp step" and "New stamp step" in event.message
    complete_task(task.id, alice, "approved")
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.variables["stamped"] is True
    assert instance.variables["item"] == "desk"


def test_a_block_the_new_version_removed_refuses_the_move_and_changes_nothing(alice: Any) -> None:
    v1 = publish(_flow(_approve("review", "Review request"), _approve()), key="buy")
    v2 = _next_version(v1, _flow(_approve()))
    instance = start_instance(v1, {"item": "desk"})
    before = _state(instance)

    plan = migrate_instance(instance.id, v2, actor=alice)

    assert not plan.moved and not plan.can_move
    assert plan.problems == [
        "It waits at “Review request”, which the new version no longer has: choose where it continues."
    ]
    assert _state(instance) == before


def test_a_chosen_block_takes_the_step_and_its_task_keeps_working(alice: Any) -> None:
    v1 = publish(_flow(_approve("review", "Review request"), _stamp()), key="buy")
    v2 = _next_version(v1, _flow(_approve("check", "Check request"), _stamp()))
    instance = start_instance(v1, {"item": "desk"})
    task = ApprovalTask.objects.get(instance=instance)

    plan = migrate_instance(instance.id, v2, {"review": "check"}, actor=alice)

    assert plan.moved
    step = Step.objects.get(instance=instance, kind="user_task")
    assert (step.node_id, step.node_name, step.status) == ("check", "Check request", Step.Status.WAITING)
    event = Event.objects.get(kind="instance.migrated")
    assert event.data["mapping"] == {"review": "check"}
    assert event.message == "Moved from version 1 to version 2 (Review request continues at Check request)"
    complete_task(task.id, alice, "approved")
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.variables["stamped"] is True


def test_a_block_of_another_kind_is_refused_with_both_kinds_named(alice: Any) -> None:
    v1 = publish(_flow(_approve("review", "Review request")), key="buy")
    v2 = _next_version(v1, _flow(("review", bpmn.wait_timer("review", "PT1H", name="Cool off"))))
    instance = start_instance(v1, {"item": "desk"})

    plan = migrate_instance(instance.id, v2, actor=alice)

    assert not plan.moved
    assert plan.problems == [
        "It waits at “Review request” (approval), but “Cool off” in the new version is a wait."
    ]
    assert ProcessInstance.objects.get(id=instance.id).version_id == v1.id


def test_a_dry_run_lists_the_moves_and_writes_nothing(alice: Any) -> None:
    v1 = publish(_flow(_approve()), key="buy")
    v2 = _next_version(v1, _flow(_approve(), _stamp()))
    instance = start_instance(v1, {"item": "desk"})
    before = _state(instance)

    plan = migrate_instance(instance.id, v2, actor=alice, dry_run=True)

    assert plan.can_move and not plan.moved
    assert [(m.node_name, m.target_name) for m in plan.moves] == [("Approve purchase", "Approve purchase")]
    assert (plan.from_version, plan.to_version) == (1, 2)
    assert _state(instance) == before


def test_a_version_of_another_workflow_or_the_same_version_is_refused(alice: Any) -> None:
    v1 = publish(_flow(_approve()), key="buy")
    other = publish(_flow(_approve()), key="other")
    instance = start_instance(v1, {"item": "desk"})

    assert migrate_instance(instance.id, other).problems == [
        "The chosen version is not a version of this workflow."
    ]
    assert migrate_instance(instance.id, v1).problems == ["It already runs on version 1."]


def test_the_access_rule_is_asked_under_the_lock(alice: Any) -> None:
    v1 = publish(_flow(_approve()), key="buy")
    v2 = _next_version(v1, _flow(_approve(), _stamp()))
    instance = start_instance(v1, {"item": "desk"})

    with pytest.raises(PermissionDenied):
        migrate_instance(instance.id, v2, actor=alice, authorize=lambda _: False)

    assert ProcessInstance.objects.get(id=instance.id).version_id == v1.id


def test_a_message_wait_moves_and_the_message_still_reaches_it(alice: Any) -> None:
    wait = ("paid", bpmn.wait_message("paid", "payment", "item", name="Wait for payment"))
    v1 = publish(_flow(wait, messages=("payment",)), key="buy")
    renamed = ("paid2", bpmn.wait_message("paid2", "payment", "item", name="Wait for the payment"))
    v2 = _next_version(v1, _flow(renamed, _stamp(), messages=("payment",)))
    instance = start_instance(v1, {"item": "desk"})

    assert migrate_instance(instance.id, v2, {"paid": "paid2"}).moved

    assert MessageSubscription.objects.get(instance=instance).node_id == "paid2"
    correlate_message("payment", "desk", {})
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.variables["stamped"] is True


@pytest.mark.integration
def test_a_connector_step_running_on_a_worker_completes_on_the_new_version(
    live_engine: Engine, http_server: ScriptedServer
) -> None:
    http_server.answer(Answer(body={"order": 7}, delay=1.5))
    order = (
        "order",
        bpmn.service(
            "order",
            name="Place order",
            properties={"url": http_server.url + "/order", "method": "POST"},
            outputs={"order_no": "result.body.order"},
        ),
    )
    v1 = publish(_flow(order), key="buy")
    v2 = _next_version(v1, _flow(order, _stamp()))
    instance = start_instance(v1, {"item": "desk"})
    wait_for(
        lambda: Step.objects.filter(instance=instance, node_id="order", status=Step.Status.RUNNING).exists(),
        30,
        what="the order step to run on the worker",
    )

    plan = migrate_instance(instance.id, v2)

    assert plan.moved and plan.moves[0].status == Step.Status.RUNNING
    done = wait_for(
        lambda: ProcessInstance.objects.filter(id=instance.id).exclude(status="running").first(),
        60,
        what="the moved instance to finish",
    )
    assert done.status == ProcessInstance.Status.COMPLETED
    assert done.variables["order_no"] == 7 and done.variables["stamped"] is True


def test_a_failed_step_moves_with_its_incident_and_a_retry_runs_the_new_versions_block(alice: Any) -> None:
    divide = ("divide", bpmn.script("divide", '{"share": 100 / count}', name="Share out"))
    safe = ("divide", bpmn.script("divide", '{"share": count == 0 ? 0 : 100 / count}', name="Share out"))
    start = bpmn.start("start", bpmn.field("count", "integer", required=True))
    v1 = publish(
        bpmn.definitions(start, divide[1], bpmn.end(), *bpmn.chain("start", "divide", "end")), key="d"
    )
    v2 = _next_version(
        v1, bpmn.definitions(start, safe[1], bpmn.end(), *bpmn.chain("start", "divide", "end"))
    )
    instance = start_instance(v1, {"count": 0})
    incident = Incident.objects.get(instance=instance, resolved_at__isnull=True)

    assert migrate_instance(instance.id, v2, actor=alice).moved
    retry_incident(incident.id, actor=alice, reason="Fixed in version 2")

    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.variables["share"] == 0


@pytest.mark.integration
def test_a_timer_wait_moves_and_the_ticker_still_fires_it(live_engine: Engine) -> None:
    cool = ("cool", bpmn.wait_timer("cool", "PT1S", name="Cool off"))
    v1 = publish(_flow(cool), key="buy")
    v2 = _next_version(v1, _flow(cool, _stamp()))
    instance = start_instance(v1, {"item": "desk"})

    assert migrate_instance(instance.id, v2).moved

    done = wait_for(
        lambda: ProcessInstance.objects.filter(id=instance.id).exclude(status="running").first(),
        60,
        what="the moved instance's timer to fire",
    )
    assert done.status == ProcessInstance.Status.COMPLETED and done.variables["stamped"] is True


def _split_join(right: str) -> str:
    """start → split → (left approval, ``right`` approval) → join → stamp → end."""
    return bpmn.definitions(
        bpmn.start("start", bpmn.field("item", required=True)),
        bpmn.gateway("split", "parallel"),
        bpmn.user_task("left", name="Left", groups="Finance"),
        bpmn.user_task(right, name="Right", groups="Finance"),
        bpmn.gateway("join", "parallel"),
        bpmn.script("stamp", '{"stamped": true}'),
        bpmn.end(),
        bpmn.flow("start", "split"),
        bpmn.flow("split", "left"),
        bpmn.flow("split", right),
        bpmn.flow("left", "join"),
        bpmn.flow(right, "join"),
        *bpmn.chain("join", "stamp", "end"),
    )


def test_a_token_waiting_at_a_join_moves_only_while_its_path_still_leads_there(alice: Any) -> None:
    v1 = publish(_split_join("right"), key="both")
    same = _next_version(v1, _split_join("right"))
    instance = start_instance(v1, {"item": "desk"})
    complete_task(ApprovalTask.objects.get(instance=instance, step__node_id="left").id, alice, "approved")
    assert Step.objects.filter(instance=instance, node_id="join", status=Step.Status.WAITING).exists()

    assert migrate_instance(instance.id, same).moved
    complete_task(ApprovalTask.objects.get(instance=instance, step__node_id="right").id, alice, "approved")
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.COMPLETED and instance.variables["stamped"] is True

    other = start_instance(same, {"item": "chair"})
    complete_task(ApprovalTask.objects.get(instance=other, step__node_id="left").id, alice, "approved")
    rerouted_xml = _split_join("right2").replace("f_left_join", "f_left_join_new")
    rerouted = _next_version(same, rerouted_xml)
    plan = migrate_instance(other.id, rerouted, {"right": "right2"})

    assert not plan.moved
    assert "the path it came on no longer leads there" in plan.problems[0]
