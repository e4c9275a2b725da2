"""One table says which status may follow which, and nothing sets a status around it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from approvals.models import ApprovalTask
from approvals.transitions import TASK
from orchestration.engine import start_instance
from orchestration.engine.transitions import INSTANCE, STEP, IllegalMove, StatusTable, move
from orchestration.models import ProcessInstance, Step
from tests import bpmn
from tests.orchestration.factories import publish

ROOT = Path(__file__).resolve().parents[2]
TABLES = [(STEP, Step), (INSTANCE, ProcessInstance), (TASK, ApprovalTask)]


def _legal_moves() -> list[tuple[StatusTable, type, str, str]]:
    return [
        (table, model, source, target)
        for table, model in TABLES
        for source, targets in table.allowed.items()
        for target in sorted(targets)
    ]


def test_every_status_of_each_model_has_a_row_in_its_table() -> None:
    for table, model in TABLES:
        assert set(table.allowed) == set(model.Status.values), table.name  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("table", "model", "source", "target"),
    _legal_moves(),
    ids=[f"{t.name}:{s}->{to}" for t, _, s, to in _legal_moves()],
)
def test_every_legal_move_passes(table: StatusTable, model: type, source: str, target: str) -> None:
    row = model(status=source)

    table.move(row, target)

    assert row.status == target


@pytest.mark.parametrize(
    ("model", "source", "target"),
    [
        (Step, Step.Status.COMPLETED, Step.Status.RUNNING),
        (Step, Step.Status.CANCELLED, Step.Status.WAITING),
        (Step, Step.Status.WAITING, Step.Status.RUNNING),
        (ProcessInstance, ProcessInstance.Status.COMPLETED, ProcessInstance.Status.RUNNING),
        (ProcessInstance, ProcessInstance.Status.CANCELLED, ProcessInstance.Status.COMPLETED),
    ],
)
def test_an_illegal_move_raises_and_leaves_the_status(model: type, source: str, target: str) -> None:
    row = model(status=source)

    with pytest.raises(IllegalMove, match=f"from {source} to {target}"):
        move(row, target)

    assert row.status == source


def test_a_closed_approval_task_cannot_be_reopened() -> None:
    task = ApprovalTask(status=ApprovalTask.Status.COMPLETED)

    with pytest.raises(IllegalMove):
        TASK.move(task, ApprovalTask.Status.OPEN)


@pytest.mark.django_db
def test_a_bulk_move_leaves_the_rows_that_may_not_move() -> None:
    version = publish(
        bpmn.definitions(
            bpmn.start(), bpmn.wait_timer("pause", "PT1H"), bpmn.end(), *bpmn.chain("start", "pause", "end")
        )
    )
    instance = start_instance(version, {})
    steps = Step.objects.filter(instance=instance)
    assert sorted(steps.values_list("status", flat=True)) == [Step.Status.COMPLETED, Step.Status.WAITING]

    moved = STEP.bulk_move(steps, Step.Status.CANCELLED)

    assert moved == 1
    assert sorted(steps.values_list("node_id", "status")) == [
        ("pause", Step.Status.CANCELLED),
        ("start", Step.Status.COMPLETED),
    ]


# --- nothing sets a status around the tables ----------------------------------------------------


def status_writes(source: str) -> list[str]:
    """Lines of ``source`` that set a ``status`` directly: ``x.status = …`` or ``.update(status=…)``.

    Workflow versions keep their own lifecycle (draft, published, retired) in
    ``orchestration/definitions.py``, so ``WorkflowVersion.Status`` values are not counted.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            version = node.value is not None and "WorkflowVersion.Status" in ast.unparse(node.value)
            if not version and any(isinstance(t, ast.Attribute) and t.attr == "status" for t in targets):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "update"
            and any(k.arg == "status" for k in node.keywords)
        ):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_no_status_is_set_outside_the_transition_tables() -> None:
    files = [*ROOT.glob("orchestration/**/*.py"), *ROOT.glob("approvals/**/*.py")]
    tables = {ROOT / "orchestration/engine/transitions.py", ROOT / "approvals/transitions.py"}
    checked = [f for f in files if "migrations" not in f.parts and f not in tables]
    assert len(checked) > 50

    found = {str(f.relative_to(ROOT)): w for f in checked if (w := status_writes(f.read_text()))}

    assert found == {}


@pytest.mark.parametrize(
    "source",
    [
        "step.status = Step.Status.RUNNING",
        "run.instance.status = 'completed'",
        "task.status: str = ApprovalTask.Status.OPEN",
        "Step.objects.filter(id=1).update(status=Step.Status.CANCELLED, ended_at=now)",
    ],
)
def test_the_status_scan_catches_a_direct_write(source: str) -> None:
    assert status_writes(source)


def test_the_status_scan_lets_version_lifecycle_and_reads_through() -> None:
    source = (
        "draft.status = WorkflowVersion.Status.PUBLISHED\n"
        "if step.status == Step.Status.WAITING: pass\n"
        "Step.objects.filter(status=Step.Status.WAITING)\n"
    )

    assert status_writes(source) == []
