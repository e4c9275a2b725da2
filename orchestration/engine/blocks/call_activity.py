"""Call sub-process: start a child instance of another workflow and wait for it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from orchestration.engine.blocks.base import Block, BlockError, Kind, PaletteEntry, evaluate_mapping
from orchestration.engine.blocks.error_end import ERROR_OUTCOME
from orchestration.engine.transitions import move
from orchestration.engine.writes import write_step
from orchestration.models import ProcessInstance, Step, WorkflowVersion

if TYPE_CHECKING:
    from lxml import etree

    from orchestration.bpmn.context import ReadContext
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run, Token


class CallActivityConfig(TypedDict):
    """A Sub-process call: the workflow it starts, the data it passes and what it takes back."""

    called_element: str  # workflow key
    inputs: dict[str, str]  # child variable -> CEL over this instance's variables
    outputs: dict[str, str]  # variable -> CEL over ``result`` (the child's variables)


def read(el: etree._Element, ctx: ReadContext) -> CallActivityConfig | None:
    """A callActivity naming the workflow (by key) it calls."""
    subject = ctx.subject(el)
    called = el.get("calledElement", "").strip()
    if not called:
        ctx.error(subject, "does not name the workflow it calls.")
    return {
        "called_element": called,
        "inputs": ctx.mapping(el, subject, "input", scope="variables"),
        "outputs": ctx.mapping(el, subject, "output", scope="output", declares="typed"),
    }


def _outputs(run: Run, node: Node, child: ProcessInstance) -> dict[str, Any]:
    return evaluate_mapping(run, node["config"].get("outputs", {}), "output", result=child.variables)


class CallActivityBlock(Block):
    kind = "call_activity"
    waits = True
    saves_first = True

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        from orchestration.engine.runtime import StartDataError, start_child_instance

        key = node["config"]["called_element"]
        version = (
            WorkflowVersion.objects.filter(workflow__key=key, status=WorkflowVersion.Status.PUBLISHED)
            .order_by("-number")
            .first()
        )
        if version is None:
            raise BlockError(f"Workflow {key!r} has no published version to call.")
        inputs = evaluate_mapping(run, node["config"].get("inputs", {}), "input")
        move(step, Step.Status.WAITING)
        step.input = inputs
        write_step(run, step, ["status", "input"])
        try:
            child = start_child_instance(run, step, version, inputs)
        except StartDataError as exc:
            raise BlockError(f"Workflow {key!r} refused the data: {exc}") from exc
        step.output = {"child_instance": str(child.id)}
        if child.status == ProcessInstance.Status.COMPLETED:
            if child.outcome.startswith(ERROR_OUTCOME):
                tokens = _thrown(run, step, child)
                run.spawned.extend(tokens)
                return None
            run.set_variables(_outputs(run, node, child), step)
            return list(node["outgoing"])
        return None

    def on_timer(self, run: Run, step: Step, payload: dict[str, Any]) -> None:
        from orchestration.engine.runtime import drive_tokens, resume_in_run

        child = ProcessInstance.objects.get(id=payload["child_instance"])
        if child.status != ProcessInstance.Status.COMPLETED:
            raise BlockError(f"The sub-process {child.id} was {child.get_status_display().lower()}.")
        if child.outcome.startswith(ERROR_OUTCOME):
            drive_tokens(run, _thrown(run, step, child))
            return
        node = run.graph["nodes"][step.node_id]
        resume_in_run(run, step, _outputs(run, node, child), message="Sub-process finished")


def _thrown(run: Run, step: Step, child: ProcessInstance) -> list[Token]:
    """The sub-process ended with an uncaught error: the calling step throws it in turn."""
    from orchestration.engine.boundaries import throw_error

    code = child.outcome.removeprefix(ERROR_OUTCOME)
    message = f'The sub-process ended with error "{code}"'
    tokens = throw_error(run, step, code or None, message)
    if tokens is None:
        raise BlockError(f'{message} and no "If it fails" path catches it.')
    return tokens


KIND = Kind(
    name="call_activity",
    label="Workflow call",
    element="callActivity",
    config=CallActivityConfig,
    read=read,
    boundary_events=frozenset({"timer", "error", "message"}),
    loops=True,
    block=CallActivityBlock(),
    palette=PaletteEntry(
        key="call",
        label="Run another workflow",
        type="bpmn:CallActivity",
        icon="bpmn-icon-call-activity",
        group="route",
        hint="Runs another workflow and waits for it",
    ),
)
