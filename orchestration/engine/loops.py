"""For each: a step runs once per item of a list, all at once or one after another.

The step a token makes at a For each node holds the list and the outputs so far (its
``input``: ``items``, ``outputs``, ``started``, ``done``); it waits while its items run.
Each item is a step of the same node inside it (``scope`` the holder, ``loop_index`` its
place) that runs the block as usual and sees its item under the loop's item name. When an
item closes its output is stored at its place; the holder completes, with the outputs
collected into a list variable in item order, once every item is done or the completion
condition holds (the items still open are then cancelled). Items serialize on the instance
row, so the last one completes the holder exactly once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestration.engine.blocks.base import BlockError
from orchestration.engine.context import Token
from orchestration.engine.scopes import cancel_children_after_commit, cancel_steps, scope_step
from orchestration.engine.transitions import move
from orchestration.engine.writes import write_step
from orchestration.expressions import ExpressionError, evaluate
from orchestration.models import Step

if TYPE_CHECKING:
    from orchestration.bpmn.graph import LoopConfig, Node
    from orchestration.engine.context import Run

__all__ = ["MAX_ITEMS", "enter", "item_done"]

# A For each over more items than this is refused (an incident): one request, one bounded amount of work.
MAX_ITEMS = 1000


def _evaluate(run: Run, source: str, what: str, node: Node, extra: dict[str, Any]) -> Any:
    types: dict[str, Any] = dict(run.graph["variables"])
    types.update(dict.fromkeys(extra, "dyn"))
    scope = run.scope()
    scope.update(extra)
    try:
        return evaluate(source, types, scope)
    except ExpressionError as exc:
        raise BlockError(f"Cannot compute the {what} of {node['name'] or node['id']}: {exc}") from exc


def enter(run: Run, step: Step, node: Node) -> list[str] | None:
    """Start the items of For each step ``step``; its outgoing flows at once when the list is empty."""
    loop: LoopConfig = node["loop"]
    items = _evaluate(run, loop["collection"], "list to go through", node, {})
    if not isinstance(items, list):
        raise BlockError(
            f"{node['name'] or node['id']} goes through {loop['collection']!r}, which is "
            f"{type(items).__name__}, not a list."
        )
    if len(items) > MAX_ITEMS:
        raise BlockError(
            f"{node['name'] or node['id']} would run {len(items):,} times; a For each runs at most {MAX_ITEMS:,}."
        )
    if not items:
        if loop["output"]:
            run.set_variables({loop["output"]: []}, step)
        step.output = {"items": 0}
        return list(node["outgoing"])
    first = len(items) if loop["parallel"] else 1
    move(step, Step.Status.WAITING)
    step.input = {"items": items, "outputs": [None] * len(items), "started": first, "done": 0}
    write_step(run, step, ["status", "input"])
    run.scope_steps[step.pk] = step
    how = "at once" if loop["parallel"] else "one after another"
    run.event(
        "loop.started",
        f"{node['name'] or node['id']}: {len(items)} item{'s' if len(items) != 1 else ''}, {how}",
        step=step,
        data={"items": len(items)},
    )
    run.spawned.extend(_item(step, i) for i in range(first))
    return None


def _item(holder: Step, index: int) -> Token:
    return Token(holder.node_id, holder.incoming_flow, holder.pk, index)


def item_done(run: Run, item: Step) -> list[Token]:
    """Item ``item`` closed: store its output; start the next, or complete the holder. Returns tokens to drive."""
    from orchestration.engine.runtime import complete_scope

    assert item.scope_id is not None and item.loop_index is not None
    holder = scope_step(run, item.scope_id)
    if holder.status not in Step.OPEN_STATUSES:
        return []  # the holder was cancelled (a deadline, a failure path) meanwhile
    node = run.graph["nodes"][holder.node_id]
    loop: LoopConfig = node["loop"]
    state = holder.input
    output: Any = item.output
    if loop["output_item"]:
        output = _evaluate(run, loop["output_item"], "output of one item", node, {"result": item.output})
    state["outputs"][item.loop_index] = output
    state["done"] += 1
    total = len(state["items"])
    finished = state["done"] >= total
    if not finished and loop["completion"]:
        facts = {"progress": {"outputs": state["outputs"], "completed": state["done"], "total": total}}
        finished = bool(_evaluate(run, loop["completion"], "completion condition", node, facts))
        if finished:
            still_open = [
                s
                for s in [
                    *run.created,
                    *Step.objects.filter(scope_id=holder.pk, status__in=Step.OPEN_STATUSES),
                ]
                if s.scope_id == holder.pk and s.status in Step.OPEN_STATUSES
            ]
            why = f"{node['name'] or node['id']} has finished early"
            cancel_children_after_commit(cancel_steps(run, _unique(still_open), reason=why), why)
    tokens: list[Token] = []
    if not finished and not loop["parallel"] and state["started"] < total:
        tokens.append(_item(holder, state["started"]))
        state["started"] += 1
    holder.save(update_fields=["input"])
    if not finished:
        return tokens
    if loop["output"]:
        run.set_variables({loop["output"]: state["outputs"]}, holder)
    holder.output = {"items": total, "completed": state["done"]}
    run.event(
        "loop.completed",
        f"{node['name'] or node['id']}: {state['done']} of {total} done",
        step=holder,
        data={"completed": state["done"], "items": total},
    )
    return complete_scope(run, holder)


def _unique(steps: list[Step]) -> list[Step]:
    seen: set[int] = set()
    unique = []
    for step in steps:
        key = step.pk if step.pk is not None else id(step)
        if key not in seen:
            seen.add(key)
            unique.append(step)
    return unique
