"""Steps inside a Group and items of a For each are named so people can tell them apart."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from designer.live import instance_path
from orchestration.bpmn.problems import node_label
from orchestration.engine import start_instance
from orchestration.engine.timers import fire_due_timers
from orchestration.engine.worker import claim_step, complete_step
from orchestration.models import Step
from orchestration.ops.instances import move_targets, step_rows, waiting
from orchestration.step_names import step_titles
from tests import bpmn
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db

LINES = bpmn.definitions(
    bpmn.start(),
    bpmn.script("lines", '{"lines": ["desk", "chair", "lamp"]}', name="Order lines"),
    bpmn.for_each(
        bpmn.group(
            "per_line",
            bpmn.start("in"),
            bpmn.service("order", "http.request", name="Order one line", inputs={"line": "line"}),
            bpmn.end("out"),
            *bpmn.chain("in", "order", "out"),
            name="Every line",
        ),
        "lines",
        item="line",
    ),
    bpmn.for_each(bpmn.service("check", "http.request", name="Check stock"), "lines", sequential=True),
    bpmn.boundary_timer("late", "check", duration="P1D", name="After 1 day"),
    bpmn.end(),
    bpmn.end("late_end"),
    *bpmn.chain("start", "lines", "per_line", "check", "end"),
    bpmn.flow("late", "late_end"),
)


def test_items_of_a_for_each_and_steps_inside_a_group_say_which_item_and_where() -> None:
    instance = start_instance(publish(LINES, key="lines"), {})
    steps = list(instance.steps.order_by("created_at", "id"))
    titles = step_titles(steps)
    orders = [titles[s.pk] for s in steps if s.node_id == "order"]
    assert orders == [
        "Every line — item 1 of 3 \u203a Order one line",
        "Every line — item 2 of 3 \u203a Order one line",
        "Every line — item 3 of 3 \u203a Order one line",
    ]
    holder = next(s for s in steps if s.node_id == "per_line" and s.loop_index is None)
    assert titles[holder.pk] == "Every line — for each of 3 items"
    assert titles[next(s for s in steps if s.node_id == "lines").pk] == "Order lines"

    # The live view's path and the operations console read the same.
    path_names = [s["name"] for s in instance_path(instance)["steps"]]
    assert "Every line — item 2 of 3 \u203a Order one line" in path_names
    rows = step_rows(instance, lambda step: {})
    assert {r.title for r in rows} >= set(orders)
    assert next(r for r in rows if r.step.pk == holder.pk).kind_label == "Group of steps"
    assert waiting(holder).what == "Running the steps inside"


def test_a_deadline_that_fired_is_named_by_its_role_with_the_item_it_stopped() -> None:
    instance = start_instance(publish(LINES, key="lines"), {})
    for step in Step.objects.filter(instance=instance, node_id="order").order_by("id"):
        claim_step(step.id, 1)
        complete_step(step.id, 1, {})
    assert fire_due_timers(timezone.now() + timedelta(days=2)) == 1
    rows = step_rows(instance, lambda step: {})
    late = next(r for r in rows if r.step.node_id == "late")
    assert (late.title, late.kind_label) == ("After 1 day", "Deadline")
    item = next(r for r in rows if r.step.node_id == "check" and r.step.loop_index == 0)
    assert item.title == "Check stock — item 1 of 3" and item.step.status == Step.Status.CANCELLED


def test_an_unnamed_block_is_called_by_what_it_is_never_by_its_id() -> None:
    merge = Step(pk=9, node_id="Gateway_merge_approval", node_name="", kind="exclusive")
    assert step_titles([merge]) == {9: "Decision"}


def test_an_ask_ai_step_is_called_ask_ai_where_other_automated_steps_are_called_automated_step() -> None:
    triage = (Path(__file__).resolve().parents[2] / "orchestration/fixtures/invoice_triage.bpmn").read_text()
    instance = start_instance(publish(triage, key="triage"), {"invoice_text": "Invoice 7"})
    ask = Step.objects.get(instance=instance, node_id="Task_read_invoice")
    claim_step(ask.id, 1)
    answer = {"vendor": "ACME", "amount": 1, "category": "Other", "recommendation": "approve", "reason": ""}
    complete_step(ask.id, 1, {"answer": answer})

    rows = {r.step.node_id: r.kind_label for r in step_rows(instance, lambda step: {})}
    assert rows == {
        "StartEvent_invoice": "Start",
        "Task_read_invoice": "Ask AI",
        "Task_approve_invoice": "Approval",
    }
    graph = instance.version.graph
    assert dict(move_targets(graph))["Task_read_invoice"] == "Read the invoice (Ask AI)"
    unnamed = Step(pk=5, node_id="Task_read_invoice", node_name="", kind="service_task")
    assert step_titles([unnamed], graph) == {5: "Ask AI"}
    lines = publish(LINES, key="lines").graph
    assert node_label(lines["nodes"]["check"]) == "Automated step"
