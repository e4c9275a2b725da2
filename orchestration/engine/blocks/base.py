"""What every block kind provides."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run
    from orchestration.models import Step


class BlockError(Exception):
    """The block cannot go on with this data: the step becomes an incident."""


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
