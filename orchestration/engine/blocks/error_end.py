"""End with error: stops the Group (or called sub-process) it is in, down its "If it fails" path.

The error, with its code, goes to the nearest "If it fails" path around this End (see
:func:`orchestration.engine.boundaries.throw_error`). A sub-process that ends with an
uncaught error completes with the outcome ``error:<code>``, which its caller throws in turn.
At the process level with nothing to catch it, it is an incident an operator sees.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from orchestration.bpmn.context import local_name
from orchestration.engine.blocks.base import Block, BlockError, Kind
from orchestration.engine.writes import close_steps
from orchestration.models import Step

if TYPE_CHECKING:
    from lxml import etree

    from orchestration.bpmn.context import ReadContext
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run

# The outcome a sub-process ending with an uncaught error completes with: "error:" and the code.
ERROR_OUTCOME = "error:"


class ErrorEndConfig(TypedDict):
    """The code of the error this End raises ("" for an error without a code)."""

    error_code: str


def read(el: etree._Element, ctx: ReadContext) -> ErrorEndConfig | None:
    """An endEvent with an errorEventDefinition naming a ``bpmn:error``."""
    subject = ctx.subject(el)
    defs = [d for d in ctx.event_definitions(el, subject) if local_name(d) == "errorEventDefinition"]
    return {"error_code": ctx.error_code(defs[0], subject) if defs else ""}


class ErrorEndBlock(Block):
    kind = "error_end"
    leaves_open = False
    ends_path = True

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        from orchestration.engine.boundaries import catches, throw_error

        code = node["config"]["error_code"]
        if catches(run, step, code or None):
            close_steps(run, [step], Step.Status.COMPLETED)
            name = node["name"] or node["id"]
            run.spawned.extend(
                throw_error(run, step, code or None, f'{name}: ended with error "{code}"') or []
            )
            return None
        if run.instance.parent_step_id is not None:
            # The caller's "If it fails" path decides (call_activity throws it on the calling step).
            run.instance.outcome = f"{ERROR_OUTCOME}{code}"
            return []
        raise BlockError(f'Ended with error "{code}" and no "If it fails" path catches it.')


KIND = Kind(
    name="error_end",
    label="End with error",
    element="endEvent",
    event_definition="errorEventDefinition",
    config=ErrorEndConfig,
    read=read,
    block=ErrorEndBlock(),
)
