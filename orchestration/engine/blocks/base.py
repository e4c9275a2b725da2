"""What every block kind provides."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from orchestration.expressions import ExpressionError, evaluate

if TYPE_CHECKING:
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run
    from orchestration.models import Step


class BlockError(Exception):
    """The block cannot go on with this data: the step becomes an incident."""


_NO_RESULT = object()


def evaluate_mapping(
    run: Run, mapping: dict[str, str], what: str, *, result: Any = _NO_RESULT
) -> dict[str, Any]:
    """Evaluate ``{name: CEL}`` over the run's scope (plus ``result`` when given); BlockError names the failing one."""
    types: dict[str, Any] = dict(run.graph["variables"])
    scope = run.scope()
    if result is not _NO_RESULT:
        types["result"] = "map"
        scope["result"] = result
    values = {}
    for name, source in mapping.items():
        try:
            values[name] = evaluate(source, types, scope)
        except ExpressionError as exc:
            raise BlockError(f"Cannot compute {what} {name!r}: {exc}") from exc
    return values


class Block:
    """A stateless handler for one node kind."""

    kind: ClassVar[str]
    # Whether an incident on this block is retried by running the worker again.
    runs_on_worker: ClassVar[bool] = False
    # Whether a step this block leaves waiting stays open until something outside the run wakes it.
    leaves_open: ClassVar[bool] = True
    # Whether the step row must exist before enter() (the block writes rows pointing at it).
    saves_first: ClassVar[bool] = False

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        """Execute the block for a token that arrived at ``step``.

        Return the outgoing flow ids to follow, or ``None`` if the block left the
        step waiting (it set ``step.status`` and whatever wakes it up).
        """
        return list(node["outgoing"])

    def skip_flows(self, node: Node) -> list[str]:
        """Flows followed when an operator skips an incident on this block."""
        return list(node["outgoing"])

    def on_timer(self, run: Run, step: Step, payload: dict[str, Any]) -> None:
        """A timer of this step is due (waits); the default ignores it."""
