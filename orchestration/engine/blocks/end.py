"""End: consume the token and record the outcome."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from orchestration.bpmn.context import baton_name, clean, local_name
from orchestration.engine.blocks.base import Block, Kind, PaletteEntry

if TYPE_CHECKING:
    from lxml import etree

    from orchestration.bpmn.context import ReadContext
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run
    from orchestration.models import Step


class EndConfig(TypedDict):
    """An End: the outcome it records on the instance ("approved", "rejected"; may be "")."""

    outcome: str


def read(el: etree._Element, ctx: ReadContext) -> EndConfig | None:
    """A plain endEvent; ends that throw something are refused."""
    subject = ctx.subject(el)
    defs = ctx.event_definitions(el, subject)
    if defs:
        kind = local_name(defs[0]).removesuffix("EventDefinition")
        ctx.refuse(
            el,
            subject,
            f"{kind} end event",
            "use a plain End or Stop everything (with a Notify before it to send a message)",
        )
        return None
    return {"outcome": clean(el.get(baton_name("outcome"), ""))}


class EndBlock(Block):
    kind = "end"
    ends_path = True

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        outcome = node["config"].get("outcome") or ""
        if outcome:
            run.instance.outcome = outcome
        return []


KIND = Kind(
    name="end",
    label="End",
    element="endEvent",
    config=EndConfig,
    read=read,
    block=EndBlock(),
    palette=PaletteEntry(
        key="end",
        label="End",
        type="bpmn:EndEvent",
        icon="bpmn-icon-end-event-none",
        group="ends",
        hint="Where a request finishes, with an outcome",
        append=7,
    ),
)
