"""Group of steps: an embedded sub-process, with its own Start and End inside the diagram.

The Group's step waits while the blocks inside it run (their steps point at it, see
:mod:`orchestration.engine.scopes`) and completes, taking its outgoing flow, when the
last of them closes without a token left. Variables are the instance's: what a step
inside sets is seen after the Group too. Deadlines, "if it fails" and messages may be
attached to a Group; an interrupting one stops everything inside it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from orchestration.engine.blocks.base import Block, Kind, PaletteEntry
from orchestration.engine.context import Token
from orchestration.engine.transitions import move
from orchestration.engine.writes import write_step
from orchestration.models import Step

if TYPE_CHECKING:
    from lxml import etree

    from orchestration.bpmn.context import ReadContext
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run


class GroupConfig(TypedDict):
    """A Group: the Start inside it, where its token begins."""

    start: str


def read(el: etree._Element, ctx: ReadContext) -> GroupConfig | None:
    """A subProcess; an event sub-process (``triggeredByEvent``) is refused."""
    subject = ctx.subject(el)
    if ctx.flag(el.get("triggeredByEvent"), subject, "triggeredByEvent"):
        ctx.refuse(el, subject, "event sub-process", "attach a deadline or a message to a Group instead")
        return None
    return {"start": ""}


def connect(node: Node, ctx: ReadContext) -> None:
    """A Group has exactly one plain Start inside it."""
    starts = [n for n in ctx.nodes.values() if n.get("parent") == node["id"] and n["kind"] == "start"]
    subject = ctx.subject_of(node)
    if not starts:
        ctx.error(subject, "has no Start inside it: add a start event where its steps begin.")
    elif len(starts) > 1:
        ctx.error(subject, f"has {len(starts)} Starts inside it; a Group begins at one.")
    else:
        start = starts[0]
        if start["config"].get("trigger", "none") != "none" or start["config"].get("fields"):
            ctx.error(
                ctx.subject_of(start),
                "is inside a Group, so it starts when the token enters the Group: "
                "it cannot wait for a schedule or a message, nor ask for a form.",
            )
        node["config"]["start"] = start["id"]


class GroupBlock(Block):
    kind = "group"
    waits = True
    saves_first = True  # the steps inside point at it
    leaves_open = False  # its inside may finish in the same run

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        move(step, Step.Status.WAITING)
        write_step(run, step, ["status"])
        assert step.pk is not None
        run.scope_steps[step.pk] = step
        run.spawned.append(Token(node["config"]["start"], "", step.pk))
        return None

    def skip_flows(self, node: Node) -> list[str]:
        return list(node["outgoing"])


KIND = Kind(
    name="group",
    label="Group of steps",
    element="subProcess",
    config=GroupConfig,
    read=read,
    connect=connect,
    holds_steps=True,
    boundary_events=frozenset({"timer", "error", "message"}),
    loops=True,
    block=GroupBlock(),
    palette=PaletteEntry(
        key="group",
        label="Group of steps",
        type="bpmn:SubProcess",
        icon="bpmn-icon-subprocess-expanded",
        group="route",
        hint="Steps that share a deadline or a failure path, or run once per item",
    ),
)
