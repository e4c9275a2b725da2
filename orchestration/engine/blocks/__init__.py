"""Block kinds: one module each, registered here once.

Each kind module (see :class:`~orchestration.engine.blocks.base.Kind`) holds its
typed config, how it is read from BPMN, its checks, its business label and
palette entry, and how it runs. From the one list below come the compiler's
element readers, the labels in problems and views, the designer's palette and
the runtime's ``block_for``. The list's order is the palette's order.

A block is stateless: ``enter(run, step, node)`` receives the runtime and either
returns the flow ids to follow (the step completes inline) or ``None`` when the
step waits (for a worker, people, a timer, a message or a child instance).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestration.bpmn.context import event_definitions, local_name
from orchestration.engine.blocks import (
    boundary,
    call_activity,
    end,
    error_end,
    event_gateway,
    exclusive,
    group,
    inclusive,
    message_catch,
    parallel,
    script,
    service_task,
    start,
    terminate_end,
    timer_catch,
    user_task,
)
from orchestration.engine.blocks.base import Block, Kind

if TYPE_CHECKING:
    from lxml import etree

    from orchestration.engine.context import Run

_KINDS: dict[str, Kind[Any]] = {}
BLOCKS: dict[str, Block] = {}


def register(kind: Kind[Any]) -> None:
    """Add a block kind: the compiler reads its element, the designer offers it, the engine runs it."""
    if kind.name in _KINDS:
        raise ValueError(f"A block kind named {kind.name!r} is already registered.")
    if kind.block.kind != kind.name:
        raise ValueError(f"Block kind {kind.name!r} runs with a block for {kind.block.kind!r}.")
    _KINDS[kind.name] = kind
    BLOCKS[kind.name] = kind.block


def unregister(name: str) -> None:
    """Remove a block kind (tests register kinds of their own)."""
    del _KINDS[name]
    del BLOCKS[name]


for _kind in (
    start.KIND,
    user_task.KIND,
    service_task.KIND,
    service_task.SEND_KIND,
    script.KIND,
    exclusive.KIND,
    parallel.KIND,
    inclusive.KIND,
    timer_catch.KIND,
    message_catch.KIND,
    event_gateway.KIND,
    call_activity.KIND,
    group.KIND,
    boundary.KIND,
    end.KIND,
    error_end.KIND,
    terminate_end.KIND,
):
    register(_kind)


def kinds() -> list[Kind[Any]]:
    """Every registered kind, in registration (palette) order."""
    return list(_KINDS.values())


def registered(name: str) -> Kind[Any] | None:
    """The kind whose nodes have ``kind == name``, if registered."""
    return _KINDS.get(name)


def kind_for_element(local: str) -> Kind[Any] | None:
    """The first kind registered for a BPMN element (``userTask``): it names the element."""
    return next((k for k in _KINDS.values() if k.element == local), None)


def reading(element: etree._Element) -> Kind[Any] | None:
    """The kind that reads ``element``, if any.

    Among kinds sharing the element, the one whose ``event_definition`` is the element's
    first definition; else the first registered for the element (it reports the rest).
    """
    candidates = [k for k in _KINDS.values() if k.element == local_name(element)]
    if len(candidates) > 1:
        defs = event_definitions(element)
        first = local_name(defs[0]) if defs else None
        for kind in candidates:
            if kind.event_definition is not None and kind.event_definition == first:
                return kind
    return candidates[0] if candidates else None


def palette() -> dict[str, Any]:
    """The designer's palette: ``blocks`` (entries in order) and ``appends`` (context-pad keys in order)."""
    offered = [(k, e) for k in _KINDS.values() if k.palette is not None for e in (k.palette, *k.presets)]
    entries = [e for _, e in offered]
    appended = sorted((e for e in entries if e.append is not None), key=lambda e: e.append or 0)
    # A kind holding steps is drawn open, with its Start inside (as bpmn-js's own palette does).
    blocks = [{**e.as_json(), "holdsSteps": k.holds_steps} for k, e in offered]
    return {"blocks": blocks, "appends": [e.key for e in appended]}


def settle(run: Run) -> None:
    """Let kinds whose steps wait on the rest of the instance go on, once every token of ``run`` has moved."""
    for kind in _KINDS.values():
        if kind.settle is not None:
            kind.settle(run)


def block_for(kind: str) -> Block:
    """The block that runs nodes of ``kind``."""
    return BLOCKS[kind]
