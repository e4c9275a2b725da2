"""How a step is named to people: its block, the item of a For each it runs for, the Group it runs in.

"Check line — item 2 of 3", "Order lines — item 2 of 3 > Check stock" (with a \u203a), "Legal review — for each
of 3 items". The live view, the operations console and the API show the same words. Pure
presentation over steps already fetched (an instance's steps, in order): it never queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from orchestration.bpmn.problems import node_label

if TYPE_CHECKING:
    from orchestration.models import Step

# Between a Group's title and a step inside it: a single right-pointing quotation mark, as breadcrumbs read.
_INSIDE = " \u203a "


def step_label(step: Step, graph: Mapping[str, Any] | None) -> str:
    """The business name of the step's block, by its role or preset where it has one ("Deadline", "Ask AI")."""
    node = (graph or {}).get("nodes", {}).get(step.node_id) or {}
    return node_label({"kind": step.kind, "config": node.get("config") or {}})


def step_titles(steps: Iterable[Step], graph: Mapping[str, Any] | None = None) -> dict[int, str]:
    """Each step's title by its id; ``steps`` must hold the Groups and For each steps they run inside.

    An unnamed block is called by what it is, never its id: by its role or preset too with ``graph``.
    """
    by_id = {step.pk: step for step in steps if step.pk is not None}
    # For each steps: those with items inside, or with the state loops.enter writes before any item runs.
    holders = {s.scope_id for s in by_id.values() if s.loop_index is not None}
    holders |= {
        pk
        for pk, s in by_id.items()
        if s.loop_index is None and {"items", "outputs", "done"} <= set(s.input or {})
    }
    titles: dict[int, str] = {}

    def title(step: Step, depth: int = 0) -> str:
        assert step.pk is not None
        if step.pk in titles:
            return titles[step.pk]
        text = step.node_name or step_label(step, graph)
        scope = by_id.get(step.scope_id) if step.scope_id is not None else None
        if step.loop_index is not None:
            items = (scope.input or {}).get("items") if scope is not None else None
            total = f" of {len(items)}" if isinstance(items, list) else ""
            text = f"{text} — item {step.loop_index + 1}{total}"
            # The item's scope is the For each itself: what holds it is what holds the For each.
            scope = by_id.get(scope.scope_id) if scope is not None and scope.scope_id is not None else None
        else:
            items = (step.input or {}).get("items")
            if step.pk in holders and isinstance(items, list):
                text = f"{text} — for each of {len(items)} item{'s' if len(items) != 1 else ''}"
        if scope is not None and depth < 20:
            text = f"{title(scope, depth + 1)}{_INSIDE}{text}"
        titles[step.pk] = text
        return text

    for step in by_id.values():
        title(step)
    return titles
