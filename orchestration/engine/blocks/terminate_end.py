"""Stop everything: end the whole request at once, with an outcome.

Every other open step is cancelled with what is attached to it (approval tasks leave the
inboxes, timers and message waits close, queued work is withdrawn, a connector's late
result is ignored) and the instance completes with this end's outcome. Sub-processes it
called are cancelled once the transaction commits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestration.bpmn.context import baton_name, clean
from orchestration.engine.blocks.base import Block, Kind, PaletteEntry
from orchestration.engine.blocks.end import EndConfig

if TYPE_CHECKING:
    from lxml import etree

    from orchestration.bpmn.context import ReadContext
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run
    from orchestration.models import Step


def read(el: etree._Element, ctx: ReadContext) -> EndConfig | None:
    """An endEvent with a terminateEventDefinition, and the outcome it records."""
    ctx.event_definitions(el, ctx.subject(el))  # reports a second definition
    return {"outcome": clean(el.get(baton_name("outcome"), ""))}


class TerminateEndBlock(Block):
    kind = "terminate_end"
    ends_path = True

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        from orchestration.engine.runtime import complete_instance
        from orchestration.engine.scopes import cancel_children_after_commit, cancel_steps, open_steps

        outcome = node["config"].get("outcome") or ""
        if outcome:
            run.instance.outcome = outcome
        name = step.node_name or step.node_id
        others = [s for s in open_steps(run) if s is not step and (s.pk is None or s.pk != step.pk)]
        children = cancel_steps(run, others, reason=f'"{name}" stopped everything')
        cancel_children_after_commit(children, "The parent process stopped everything")
        run.event("instance.stopped", f'"{name}" reached: everything else stopped', step=step)
        complete_instance(run)
        return []


KIND = Kind(
    name="terminate_end",
    label="Stop everything",
    element="endEvent",
    event_definition="terminateEventDefinition",
    config=EndConfig,
    read=read,
    block=TerminateEndBlock(),
    palette=PaletteEntry(
        key="stop",
        label="Stop everything",
        type="bpmn:EndEvent",
        icon="bpmn-icon-end-event-terminate",
        group="ends",
        hint="Ends the whole request at once: every other open step, approval and wait is cancelled",
        event_definition="bpmn:TerminateEventDefinition",
    ),
)
