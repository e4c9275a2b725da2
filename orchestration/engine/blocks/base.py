"""What every block kind provides: its description (:class:`Kind`) and how it runs (:class:`Block`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Final, Generic, Literal, TypeVar

from orchestration.expressions import ExpressionError, evaluate

if TYPE_CHECKING:
    from lxml import etree

    from orchestration.bpmn.context import ReadContext, Subject
    from orchestration.bpmn.graph import Node
    from orchestration.engine.context import Run
    from orchestration.models import Step


# The most attempts after the first a block may ask for (as the panels allow): a step's attempt
# count is a database integer, so a hand-written 1e30 must be refused at publish, not on start.
MAX_RETRIES: Final = 50


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
    # Whether a token always stops here (worker, people, timer, message, child instance): the
    # compiler counts the blocks between such stops against the runtime's inline cap.
    waits: ClassVar[bool] = False
    # Whether a token ends here (an End): the block has no outgoing flows and needs none.
    ends_path: ClassVar[bool] = False

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        """Execute the block for a token that arrived at ``step``.

        Return the outgoing flow ids to follow, or ``None`` if the block left the
        step waiting (it set ``step.status`` and whatever wakes it up).
        """
        return list(node["outgoing"])

    def skip_flows(self, node: Node) -> list[str]:
        """Flows followed when an operator skips an incident on this block."""
        return list(node["outgoing"])

    def worker_done(self, run: Run, step: Step, node: Node) -> list[str]:
        """The flows to follow once a worker's result for ``step`` is recorded (``step.output``).

        The default: every outgoing flow. A block choosing among them by the answer (a Decision
        the AI decides) says which, and may add what it chose to ``step.output``.
        """
        return list(node["outgoing"])

    def worker_gave_up(self, run: Run, step: Step, node: Node, error: str) -> list[str] | None:
        """A worker's last attempt at ``step`` failed with ``error``: the flows to follow instead.

        The default, None, lets "If it fails" paths and then an incident handle it.
        """
        return None

    def on_timer(self, run: Run, step: Step, payload: dict[str, Any]) -> None:
        """A timer of this step is due (waits); the default ignores it."""

    def on_caught(
        self, run: Run, step: Step, catch_node_id: str, variables: dict[str, Any], *, message: str
    ) -> None:
        """An event ``step`` armed for another block, catch event ``catch_node_id``, happened.

        A "First event wins" arms the Waits after it on its own step; the message or timer that
        fires names the Wait it was for. ``message`` says what happened, in words.
        """
        raise BlockError(f"{step.node_name or step.node_id} does not wait for {catch_node_id!r}.")

    def arm(self, run: Run, step: Step, node: Node) -> str:
        """Wait for this catch event ``node`` on another block's waiting ``step`` (a "First event wins").

        The timer or subscription made points at ``step`` and names ``node``; when it fires,
        ``step``'s block hears of it through :meth:`on_caught`. Returns what is awaited, in
        words ("the wait of 2 days"). Blocks that are not catch events cannot be armed.
        """
        raise BlockError(f"{node['name'] or node['id']} is not a Wait.")

    def cancel(self, run: Run, step: Step) -> None:
        """The open ``step`` is being cancelled: close what only this block knows of (people's tasks).

        Timers, subscriptions, queued work and incidents attached to the step are closed by
        :func:`orchestration.engine.scopes.cancel_steps`; the default has nothing more to do.
        """

    def may_have_timers(self, node: Node) -> bool:
        """Whether a waiting step of ``node`` may have timers to cancel when it is resumed.

        The default says yes (resuming then cancels them in one UPDATE); a kind whose timers
        come only from its settings says no when they set none.
        """
        return True


ConfigT = TypeVar("ConfigT", bound=Mapping[str, Any])


@dataclass(frozen=True)
class PaletteEntry:
    """How the designer's palette offers a kind: a business label, an icon and a hint.

    ``type`` is the bpmn-js type created (``bpmn:UserTask``); ``attrs`` are set on
    the new element's business object (``scriptFormat``); ``event_definition`` is
    the bpmn-js ``eventDefinitionType`` of a new event. ``append`` is the kind's
    place among the context pad's "add after this" entries (None: not offered).
    """

    key: str
    label: str
    type: str
    icon: str
    group: Literal["ends", "work", "route"]
    hint: str
    attrs: Mapping[str, str] = field(default_factory=dict)
    event_definition: str = ""
    append: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The entry as the canvas script reads it (``config.palette.blocks``)."""
        entry: dict[str, Any] = {
            "key": self.key,
            "label": self.label,
            "type": self.type,
            "icon": self.icon,
            "group": self.group,
            "hint": self.hint,
        }
        if self.attrs:
            entry["attrs"] = dict(self.attrs)
        if self.event_definition:
            entry["eventDefinitionType"] = self.event_definition
        return entry


@dataclass(frozen=True)
class Kind(Generic[ConfigT]):
    """One block kind: everything the compiler, the designer and the engine know about it.

    - ``name``: the graph's node ``kind``; ``label``: its business name in problems and views,
      refined per gateway role by ``role_labels``.
    - ``element``: the BPMN element it is read from. Kinds sharing an element are told apart
      by ``event_definition`` (the first registered kind for the element reads it when no
      other kind's definition matches).
    - ``config``: the TypedDict of the node's ``config``; ``read(element, ctx)`` returns it,
      or None when the element is refused.
    - ``connect(node, ctx)`` runs once every flow is read (gateway roles); ``check(node, ctx)``
      once every variable is typed. ``conditional_flows``: its outgoing flows may carry conditions;
      ``path_outcomes``: the decisions its outgoing flows may each be taken for (an Approval's).
    - ``block``: how it runs; ``palette``: how the designer offers it (None: not in the palette).
    - ``boundary_events``: the events that may be attached to it ("timer", "error", "message");
      ``loops``: whether it may run once per item of a list (For each); ``holds_steps``: its
      element contains blocks of its own (a Group), read as nodes with ``parent`` set to it.
    - ``settle(run)``: called once every token of a run has moved, before the run finishes, for
      kinds whose steps wait on the rest of the instance (an inclusive join fires there).
    """

    name: str
    label: str
    element: str
    config: type[ConfigT]
    read: Callable[[etree._Element, ReadContext], ConfigT | None]
    block: Block
    event_definition: str | None = None
    palette: PaletteEntry | None = None
    # More palette entries making the same element with settings preset ("Ask AI": the AI connector).
    presets: tuple[PaletteEntry, ...] = ()
    role_labels: Mapping[str, str] = field(default_factory=dict)
    conditional_flows: bool = False
    path_outcomes: tuple[str, ...] = ()
    connect: Callable[[Node, ReadContext], None] | None = None
    check: Callable[[Node, ReadContext], None] | None = None
    boundary_events: frozenset[str] = frozenset()
    loops: bool = False
    holds_steps: bool = False
    settle: Callable[[Run], None] | None = None

    def label_for(self, config: Mapping[str, Any]) -> str:
        """The business name of a node of this kind with ``config``: a preset's when the node has its
        settings ("Ask AI": ``baton:connector`` is the AI's), else by its role ("Parallel split")."""
        for preset in self.presets:
            if preset.attrs and all(
                config.get(attr.removeprefix("baton:")) == value for attr, value in preset.attrs.items()
            ):
                return preset.label
        return self.role_labels.get(config.get("role") or "", self.label)


def read_retries(el: etree._Element, ctx: ReadContext, subject: Subject) -> tuple[int, float]:
    """A worker step's ``baton:retries`` (attempts after the first; default 3, at most
    :data:`MAX_RETRIES`) and ``baton:retryBackoff`` (seconds, default 2), refused in words when wrong."""
    from orchestration.bpmn.context import baton_name  # it loads the block registry, which loads this

    retries = ctx.number(el.get(baton_name("retries")), subject, "retries", default=3.0)
    if retries is not None and (retries < 0 or retries != int(retries)):
        ctx.error(subject, "retries must be a whole number, 0 or more.")
    elif retries is not None and retries > MAX_RETRIES:
        ctx.error(subject, f"retries must be at most {MAX_RETRIES}.")
    backoff = ctx.number(el.get(baton_name("retryBackoff")), subject, "retryBackoff", default=2.0)
    if backoff is not None and backoff < 0:
        ctx.error(subject, "retryBackoff must be a number of seconds, 0 or more.")
    return int(retries or 0), float(backoff or 0.0)
