"""Any of these paths (BPMN inclusiveGateway): take every path whose condition holds, then wait only for those.

**Split.** Every outgoing flow's condition (CEL, boolean, type-checked when the version is
published) is evaluated and every flow whose condition holds is taken. A flow without a
condition that is not the default is always taken, as BPMN (and Camunda) read it; the
designer asks for a condition on each path, so such flows come from imported files. When no
flow is taken the default flow is; without a default the step becomes an incident naming
the gateway.

**Join** (more than one incoming flow). An arriving token waits. The join fires when no
other open step of the instance, in the same scope, is at a block from which the join can
be reached without passing through it (``upstream``, computed by the compiler): whatever
could still arrive has arrived. A firing consumes the oldest waiting arrival of each
incoming flow; more tokens on the same flow wait for the next firing, as at a Parallel join.

**When the join is checked.** Not when a token arrives but once per run, after every token
of the run has moved: :func:`settle`, which ``finish_run`` calls through the registry. At
that moment the instance's open steps are all the tokens there are (none is half-way in the
run's queue), and the same check covers a branch that ends elsewhere without reaching the
join (at an End, cancelled, moved by an operator): whichever run closes the last step that
could reach the join fires it. The check costs one query over the instance's open steps
(none when the run made the instance: all its steps are in memory), which also tells
``finish_run`` how many are open. Runs serialize on the locked instance row; the unique
``join_key`` on the firing step guards a double fire a second time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal, TypedDict

from orchestration.engine.blocks.base import Block, BlockError, Kind, PaletteEntry
from orchestration.engine.transitions import move
from orchestration.engine.writes import close_steps
from orchestration.expressions import ExpressionError, evaluate
from orchestration.models import ProcessInstance, Step

if TYPE_CHECKING:
    from lxml import etree

    from orchestration.bpmn.context import ReadContext
    from orchestration.bpmn.graph import Flow, Graph, Node
    from orchestration.engine.context import Run


class InclusiveConfig(TypedDict):
    """Any of these paths: its role (from its flows), its default flow, and for a join the blocks that reach it."""

    role: Literal["split", "join", "both", "pass"]
    default: str | None  # the flow taken when no condition holds
    upstream: list[str]  # a join: the blocks it can be reached from without passing through it


def read(el: etree._Element, ctx: ReadContext) -> InclusiveConfig | None:
    """An inclusiveGateway; its role is known once its flows are read."""
    return {"role": "pass", "default": el.get("default") or None, "upstream": []}


def connect(node: Node, ctx: ReadContext) -> None:
    """Split, join, both or pass; check the default flow; a join learns which blocks can reach it."""
    config = node["config"]
    incoming, outgoing = node["incoming"], node["outgoing"]
    chooses = len(outgoing) > 1 or any(ctx.flows[f]["condition"] is not None for f in outgoing)
    if len(incoming) > 1:
        config["role"] = "both" if chooses else "join"
        config["upstream"] = _upstream(node["id"], ctx.flows.values(), ctx.nodes.values())
    else:
        config["role"] = "split" if chooses else "pass"
    subject = ctx.subject_of(node)
    default = config["default"]
    if not chooses:
        config["default"] = None
        return
    if default is not None and default not in outgoing:
        ctx.error(subject, f'has default path "{default}", which does not leave it.')
        return
    always = [f for f in outgoing if f != default and ctx.flows[f]["condition"] is None]
    if default is not None and always:
        ctx.warn(
            subject,
            f"its default path is never taken: path {_flow_text(ctx.flows[always[0]])} has no condition, "
            "so it is always taken.",
        )
    elif default is None and not always:
        ctx.warn(
            subject,
            "has no default path: when no condition holds, the request stops with an incident. "
            "Mark the path to take then as the default.",
        )


def _upstream(join_id: str, flows: Iterable[Flow], nodes: Iterable[Node]) -> list[str]:
    """The blocks from which ``join_id`` can be reached without passing through it.

    A step with boundary events (a deadline, "if it fails") reaches whatever its boundary
    events' paths reach: while it is open, one of them may still fire.
    """
    sources: dict[str, list[str]] = {}
    for flow in flows:
        sources.setdefault(flow["target"], []).append(flow["source"])
    for node in nodes:
        for boundary in node.get("boundaries", ()):
            sources.setdefault(boundary, []).append(node["id"])
    seen: set[str] = set()
    queue = list(sources.get(join_id, []))
    while queue:
        node_id = queue.pop()
        if node_id != join_id and node_id not in seen:
            seen.add(node_id)
            queue.extend(sources.get(node_id, []))
    return sorted(seen)


def _flow_text(flow: Flow) -> str:
    return f'"{flow["name"]}" ({flow["id"]})' if flow["name"] else f"({flow['id']})"


def _path_name(graph: Graph, flow_id: str) -> str:
    """A path as people read it: its name, else the block it leads to."""
    flow = graph["flows"][flow_id]
    target = graph["nodes"].get(flow["target"])
    return flow["name"] or (target and target["name"]) or flow_id


def _gateway_name(node: Node) -> str:
    return node["name"] or node["id"]


def choose(run: Run, node: Node) -> list[str]:
    """The outgoing flows to take: every one whose condition holds (or that has none), else the default."""
    default = node["config"].get("default")
    scope = run.scope()
    taken = []
    for flow_id in node["outgoing"]:
        condition = run.graph["flows"][flow_id]["condition"]
        if flow_id == default:
            continue
        if condition:
            try:
                holds = evaluate(condition, run.graph["variables"], scope)
            except ExpressionError as exc:
                raise BlockError(
                    f"Condition of path {_path_name(run.graph, flow_id)!r} failed: {exc}"
                ) from exc
            if holds is not True:
                continue
        taken.append(flow_id)
    if taken:
        return taken
    if default:
        return [default]
    raise BlockError(f'None of the paths of "{_gateway_name(node)}" applies and it has no default path.')


def _leave(run: Run, step: Step, node: Node) -> list[str]:
    """The flows a step of ``node`` follows: chosen when the gateway splits, else its one way out."""
    if node["config"].get("role") not in ("split", "both"):
        return list(node["outgoing"])
    flows = choose(run, node)
    names = [_path_name(run.graph, f) for f in flows]
    step.output = {**step.output, "took": flows}
    run.event(
        "paths.taken",
        f"{_gateway_name(node)}: took {len(flows)} of {len(node['outgoing'])} paths ("
        + ", ".join(names)
        + ")",
        step=step,
        data={"flows": flows},
    )
    return flows


class InclusiveBlock(Block):
    kind = "inclusive"
    leaves_open = False  # the run's settle (or a later run's) consumes the arrival

    def enter(self, run: Run, step: Step, node: Node) -> list[str] | None:
        if len(node["incoming"]) <= 1:
            return _leave(run, step, node)
        move(step, Step.Status.WAITING)
        if step.pk is not None:
            step.save(update_fields=["status"])  # handed off to a worker, it was written active
        return None  # settle() fires the join once nothing else can arrive

    def skip_flows(self, node: Node) -> list[str]:
        if node["config"].get("role") not in ("split", "both"):
            return list(node["outgoing"])
        default = node["config"].get("default")
        if default:
            return [default]
        raise BlockError("Any of these paths without a default path cannot be skipped; retry it instead.")


# --- firing joins once every token of a run has moved


def same_scope(steps: Iterable[Step], scope_id: int | None) -> list[Step]:
    """The steps running in the scope ``scope_id`` (a Group or For each step; None: the process).

    The one place a join decides which steps it counts: a step inside a Group is covered by
    the Group's own step, which is open while anything inside it is.
    """
    return [step for step in steps if step.scope_id == scope_id]


_MAX_CACHED = 64  # graphs kept alive by the cache below, at most
_joins_cache: dict[int, tuple[Graph, list[Node]]] = {}


def _joins(graph: Graph) -> list[Node]:
    """The graph's inclusive joins, worked out once per graph in the process."""
    cached = _joins_cache.get(id(graph))
    if cached is not None and cached[0] is graph:
        return cached[1]
    joins = [n for n in graph["nodes"].values() if n["kind"] == "inclusive" and len(n["incoming"]) > 1]
    if len(_joins_cache) >= _MAX_CACHED:
        _joins_cache.clear()
    _joins_cache[id(graph)] = (graph, joins)  # the graph is kept, so its id is not reused meanwhile
    return joins


def _load_open(run: Run) -> list[Step]:
    """The instance's open steps as the database has them (none to read when the run made the instance)."""
    if run.fresh:
        return []
    loaded = list(Step.objects.filter(instance=run.instance, status__in=Step.OPEN_STATUSES).order_by("id"))
    if run.open_counted is None:
        # Finishing then knows whether any is left without asking again (see Run.open_counted).
        made = {step.pk for step in run.created}
        run.open_counted = sum(1 for step in loaded if step.pk not in made) + len(run.closed)
    return loaded


def _open_now(run: Run, loaded: list[Step]) -> list[Step]:
    """Open steps, oldest first: those loaded that the run has not closed since, then those it made."""
    made = {step.pk for step in run.created if step.pk is not None}
    before = [s for s in loaded if s.pk not in made and s.pk not in run.closed and s.is_open]
    return before + [s for s in run.created if s.is_open]


def _ready(steps: list[Step], joins: list[Node]) -> tuple[Node, list[Step]] | None:
    """A join with arrivals that nothing open in their scope can still reach, and those arrivals."""
    for join in joins:
        arrivals = [s for s in steps if s.node_id == join["id"] and s.status == Step.Status.WAITING]
        upstream = set(join["config"]["upstream"]) if arrivals else set()
        for scope_id in dict.fromkeys(s.scope_id for s in arrivals):
            here = same_scope(steps, scope_id)
            if not any(s.node_id in upstream and s.node_id != join["id"] for s in here):
                return join, [s for s in here if s.node_id == join["id"] and s.status == Step.Status.WAITING]
    return None


def settle(run: Run) -> None:
    """Fire every inclusive join of the run's instance that nothing can reach any more (see the module)."""
    from orchestration.engine.runtime import MAX_INLINE_STEPS, drive_from, raise_incident  # imports blocks

    joins = _joins(run.graph)
    if not joins or run.instance.status != ProcessInstance.Status.RUNNING:
        return
    loaded = _load_open(run)
    while (ready := _ready(_open_now(run, loaded), joins)) is not None:
        join, arrivals = ready
        first_by_flow: dict[str, Step] = {}
        for arrival in arrivals:
            first_by_flow.setdefault(arrival.incoming_flow, arrival)
        consumed = list(first_by_flow.values())
        firing = consumed[-1]
        if run.blocks_run >= MAX_INLINE_STEPS:
            raise_incident(
                run, firing, f"More than {MAX_INLINE_STEPS} blocks ran without waiting: is there a loop?"
            )
            return
        close_steps(run, consumed[:-1], Step.Status.COMPLETED)
        # The oldest arrival names the firing: two runs consuming it would write the same key.
        firing.join_key = f"{join['id']}:{consumed[0].idempotency_key}"
        firing.output = {"joined": len(consumed), "paths": [a.incoming_flow for a in consumed]}
        total = len(join["incoming"])
        with_paths = f"all {total} paths" if len(consumed) == total else f"{len(consumed)} of {total} paths"
        run.event(
            "paths.joined",
            f"{_gateway_name(join)}: went on with {with_paths}"
            + ("" if len(consumed) == total else " (no other could still arrive)"),
            step=firing,
            data={"flows": firing.output["paths"]},
        )
        try:
            flows = _leave(run, firing, join)
        except BlockError as exc:
            raise_incident(run, firing, str(exc))
            continue
        drive_from(run, firing, flows)


KIND = Kind(
    name="inclusive",
    label="Any of these paths",
    element="inclusiveGateway",
    config=InclusiveConfig,
    read=read,
    connect=connect,
    conditional_flows=True,
    role_labels={"join": "Join of the paths taken"},
    block=InclusiveBlock(),
    settle=settle,
    palette=PaletteEntry(
        key="inclusive",
        label="Any of these paths",
        type="bpmn:InclusiveGateway",
        icon="bpmn-icon-gateway-or",
        group="route",
        hint="Takes every path whose condition holds, then waits only for those",
    ),
)
