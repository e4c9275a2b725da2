"""Checks on the shape of a compiled graph: reachability, dead ends, joins that could wait forever, long inline runs."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping

from orchestration.bpmn.graph import Flow, Node
from orchestration.bpmn.problems import Problem, node_label

# A token's parallel context: the (split id, branch flow id) pairs it travelled through, outermost first
# (Parallel splits and "Any of these paths" splits: both may send tokens down several branches at once).
Context = tuple[tuple[str, str], ...]

_GATEWAYS = ("exclusive", "parallel", "event_gateway", "inclusive")
# Kinds whose splits send tokens down several branches at once.
_SPLITTING = ("parallel", "inclusive")
# Bounds on the context analysis so that a split inside a loop cannot make it run forever.
_MAX_CONTEXTS_PER_FLOW = 64
_MAX_VISITS = 20_000


def problem(node: Node, message: str) -> Problem:
    """A problem about ``node``, phrased with its business name."""
    return Problem(node["id"], node["name"], message, element_type=_label(node))


def _label(node: Node) -> str:
    return node_label(node)


def _flow_text(flow: Flow) -> str:
    return f'"{flow["name"]}" ({flow["id"]})' if flow["name"] else f"({flow['id']})"


def _node_text(node: Node) -> str:
    name = f' "{node["name"]}"' if node["name"] else ""
    return f"{_label(node)}{name} ({node['id']})"


def check_structure(
    nodes: Mapping[str, Node],
    flows: Mapping[str, Flow],
    placeholders: Mapping[str, str],
) -> tuple[list[Problem], list[Problem]]:
    """Errors and warnings about how ``nodes`` are connected.

    ``placeholders`` are elements already refused (id -> id of the activity a
    boundary event is attached to, or ""): flows pass through them so that one
    refused element does not make everything after it look unreachable.
    """
    errors: list[Problem] = []
    warnings: list[Problem] = []
    for node in nodes.values():
        errors.extend(_check_degree(node))
    errors.extend(_check_reachable(nodes, flows, placeholders))
    if not placeholders:
        contexts = _parallel_contexts(nodes, flows)
        for node in nodes.values():
            if node["kind"] == "parallel" and len(node["incoming"]) > 1:
                errors.extend(_check_join(node, nodes, flows, contexts))
            elif node["kind"] == "exclusive" and len(node["incoming"]) > 1:
                warnings.extend(_check_exclusive_merge(node, nodes, flows, contexts))
            elif node["kind"] == "inclusive" and len(node["incoming"]) > 1:
                errors.extend(_check_inclusive_join(node, nodes, flows))
    warnings.extend(_check_inline_runs(nodes, flows))
    return errors, warnings


def _check_degree(node: Node) -> Iterable[Problem]:
    from orchestration.engine.blocks import registered  # the registry imports the compiler

    kind, incoming, outgoing = node["kind"], node["incoming"], node["outgoing"]
    found = registered(kind)
    ends = found is not None and found.block.ends_path
    if kind == "start" and incoming:
        yield problem(node, "a Start cannot have incoming flows.")
    if ends and outgoing:
        yield problem(node, "an End cannot have outgoing flows.")
    if not ends and not outgoing:
        yield problem(
            node, "is a dead end: it has no outgoing flow. Connect it, or finish the path with an End."
        )
    # An Approval whose paths each say which decision takes them chooses one, as a Decision does.
    chooses = bool(node["config"].get("outcomes"))
    if kind not in _GATEWAYS and len(outgoing) > 1 and not chooses:
        # Implicit splits hide whether paths run together or one is chosen: make it explicit.
        yield problem(
            node,
            f"has {len(outgoing)} outgoing flows; use a Parallel split to run paths together "
            "or a Decision to choose one.",
        )


def _check_reachable(
    nodes: Mapping[str, Node], flows: Mapping[str, Flow], placeholders: Mapping[str, str]
) -> Iterable[Problem]:
    successors: dict[str, list[str]] = {}
    for flow in flows.values():
        successors.setdefault(flow["source"], []).append(flow["target"])
    for placeholder, attached_to in placeholders.items():
        if attached_to:
            successors.setdefault(attached_to, []).append(placeholder)
    for node_id, node in nodes.items():
        # A Group's token begins at the Start inside it; an event on a step's edge starts from that step.
        if node["kind"] == "group" and node["config"].get("start"):
            successors.setdefault(node_id, []).append(node["config"]["start"])
        successors.setdefault(node_id, []).extend(node.get("boundaries", []))
    # Walk from the starts: a loop whose nodes all have incoming flows can still be cut off.
    seen = {n for n, node in nodes.items() if node["kind"] == "start" and "parent" not in node}
    queue = deque(seen)
    while queue:
        for target in successors.get(queue.popleft(), ()):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    for node_id, node in nodes.items():
        if node_id not in seen:
            yield problem(node, "cannot be reached from any Start.")


def _check_inline_runs(nodes: Mapping[str, Node], flows: Mapping[str, Flow]) -> Iterable[Problem]:
    """Warn at the first block of the longest path of blocks that run without waiting, if the
    runtime would stop it: one run executes at most ``MAX_INLINE_STEPS`` such blocks."""
    from orchestration.engine.blocks import registered  # the registry imports the compiler
    from orchestration.engine.runtime import MAX_INLINE_STEPS

    def runs_inline(node: Node) -> bool:
        kind = registered(node["kind"])
        return kind is None or not kind.block.waits

    inline = {node_id for node_id, node in nodes.items() if runs_inline(node)}
    successors = {
        node_id: [
            flows[f]["target"]
            for f in nodes[node_id]["outgoing"]
            if f in flows and flows[f]["target"] in inline
        ]
        for node_id in inline
    }
    waiting_for = Counter(target for targets in successors.values() for target in targets)
    # Longest path in topological order (iterative: a path may be thousands of blocks long).
    # Blocks on a loop never come free; looping without waiting is the runtime's loop guard's case.
    length = dict.fromkeys(inline, 1)
    head = {node_id: node_id for node_id in inline}
    ready = deque(node_id for node_id in inline if not waiting_for[node_id])
    longest = ""
    while ready:
        node_id = ready.popleft()
        if not longest or length[node_id] > length[longest]:
            longest = node_id
        for target in successors[node_id]:
            if length[node_id] + 1 > length[target]:
                length[target], head[target] = length[node_id] + 1, head[node_id]
            waiting_for[target] -= 1
            if not waiting_for[target]:
                ready.append(target)
    if longest and length[longest] > MAX_INLINE_STEPS:
        yield problem(
            nodes[head[longest]],
            f"starts a path of {length[longest]:,} blocks that run one after another without waiting, "
            f"more than the {MAX_INLINE_STEPS:,} Baton runs in one go: a run may stop there with an "
            "incident. Add a wait (an approval, an automated step or a timer) or shorten the path.",
        )


def _parallel_contexts(nodes: Mapping[str, Node], flows: Mapping[str, Flow]) -> dict[str, set[Context]]:
    """For every flow, the parallel contexts a token on it can have (a forward fixpoint)."""
    at_flow: dict[str, set[Context]] = {f: set() for f in flows}
    max_depth = sum(1 for n in nodes.values() if n["kind"] in _SPLITTING) + 1
    # A token begins afresh at a Start (a Group's too) and at an event on a step's edge.
    beginnings = ("start", "boundary")
    queue = deque(n for n, node in nodes.items() if node["kind"] in beginnings)
    visits = 0
    while queue and visits < _MAX_VISITS:
        visits += 1
        node = nodes[queue.popleft()]
        if node["kind"] in beginnings:
            inputs: set[Context] = {()}
        else:
            inputs = set().union(*(at_flow[f] for f in node["incoming"] if f in at_flow))
        if node["kind"] == "parallel" and len(node["incoming"]) > 1:
            # Lenient here (pop whatever is innermost); _check_join says whether that was right.
            inputs = {c[:-1] for c in inputs}
        elif node["kind"] == "inclusive" and len(node["incoming"]) > 1 and inputs:
            # It waits for every branch that can still reach it: what the tokens arriving share goes on.
            inputs = {_common_prefix(inputs)}
        for flow_id in node["outgoing"]:
            if node["kind"] in _SPLITTING and len(node["outgoing"]) > 1:
                out = {(*c, (node["id"], flow_id)) for c in inputs if len(c) < max_depth}
            else:
                out = inputs
            new = out - at_flow[flow_id]
            if new and len(at_flow[flow_id]) < _MAX_CONTEXTS_PER_FLOW:
                at_flow[flow_id] |= new
                if flows[flow_id]["target"] in nodes:
                    queue.append(flows[flow_id]["target"])
    return at_flow


def _common_prefix(contexts: set[Context]) -> Context:
    first, *others = contexts
    length = len(first)
    for other in others:
        length = min(length, len(other))
        length = next((i for i in range(length) if first[i] != other[i]), length)
    return first[:length]


def _check_join(
    join: Node, nodes: Mapping[str, Node], flows: Mapping[str, Flow], contexts: Mapping[str, set[Context]]
) -> Iterable[Problem]:
    arriving = {f: contexts.get(f, set()) for f in join["incoming"]}
    if any(not c for c in arriving.values()):
        return  # a flow no token reaches: reported as unreachable
    for flow_id, ctxs in arriving.items():
        if any(not c for c in ctxs):
            yield problem(
                join,
                f"waits for a token on every incoming flow, but flow {_flow_text(flows[flow_id])} "
                "does not come from a Parallel split, so the join would wait forever. "
                "Use a Merge (exclusive gateway) to join paths of a Decision.",
            )
            return
    splits = {c[-1][0] for ctxs in arriving.values() for c in ctxs}
    inclusive = sorted(s for s in splits if nodes[s]["kind"] == "inclusive")
    if inclusive:
        yield problem(
            join,
            f"waits for a token on every incoming flow, but {_node_text(nodes[inclusive[0]])} may take only "
            "some of its paths, so the join could wait forever. Use an Any of these paths join: it waits "
            "only for the paths taken.",
        )
        return
    prefixes = {c[:-1] for ctxs in arriving.values() for c in ctxs}
    if len(splits) > 1 or len(prefixes) > 1:
        names = ", ".join(sorted(_node_text(nodes[s]) for s in splits))
        yield problem(
            join,
            f"joins branches of different Parallel splits ({names}), so it would wait forever "
            "for a token that never comes.",
        )
        return
    split = nodes[next(iter(splits))]
    owner: dict[str, str] = {}
    for flow_id, ctxs in arriving.items():
        for c in ctxs:
            branch = c[-1][1]
            if branch in owner and owner[branch] != flow_id:
                yield problem(
                    join,
                    f"flows {_flow_text(flows[owner[branch]])} and {_flow_text(flows[flow_id])} come from "
                    f"the same branch of {_node_text(split)}, so only one token arrives on them "
                    "and the join would wait forever.",
                )
                return
            owner[branch] = flow_id
    yield from _check_branch_exits(join, split, owner, nodes, flows)


def _check_branch_exits(
    join: Node,
    split: Node,
    owner: Mapping[str, str],
    nodes: Mapping[str, Node],
    flows: Mapping[str, Flow],
) -> Iterable[Problem]:
    """A Decision inside a branch must not send the token somewhere it never reaches the join from."""
    successors: dict[str, list[Flow]] = {}
    predecessors: dict[str, list[str]] = {}
    for flow in flows.values():
        successors.setdefault(flow["source"], []).append(flow)
        predecessors.setdefault(flow["target"], []).append(flow["source"])
    for branch, flow_id in owner.items():
        arrival = flows[flow_id]["source"]
        feeds = _walk(arrival, lambda n: predecessors.get(n, []), stop=join["id"])
        region = _walk(
            flows[branch]["target"], lambda n: [f["target"] for f in successors.get(n, [])], stop=join["id"]
        )
        for node_id in sorted(region):
            node = nodes.get(node_id)
            if node is None or node["kind"] != "exclusive" or node["config"].get("role") != "decision":
                continue
            for exit_flow in successors.get(node_id, []):
                if exit_flow["target"] != join["id"] and exit_flow["target"] not in feeds:
                    yield problem(
                        join,
                        f"{_node_text(node)} can send the token of a branch of {_node_text(split)} "
                        f"down flow {_flow_text(exit_flow)}, away from this join, which would then "
                        "wait forever.",
                    )


def _walk(start: str, step: Callable[[str], Iterable[str]], *, stop: str) -> set[str]:
    seen = {start} if start != stop else set()
    queue = deque(seen)
    while queue:
        for nxt in step(queue.popleft()):
            if nxt != stop and nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def _check_exclusive_merge(
    merge: Node, nodes: Mapping[str, Node], flows: Mapping[str, Flow], contexts: Mapping[str, set[Context]]
) -> Iterable[Problem]:
    incoming = merge["incoming"]
    reported: set[str] = set()
    for i, fa in enumerate(incoming):
        for fb in incoming[i + 1 :]:
            for ca in contexts.get(fa, ()):
                for cb in contexts.get(fb, ()):
                    for depth in range(min(len(ca), len(cb))):
                        (split_a, branch_a), (split_b, branch_b) = ca[depth], cb[depth]
                        if split_a != split_b:
                            break
                        if branch_a != branch_b and split_a not in reported:
                            reported.add(split_a)
                            join = (
                                "an Any of these paths join to wait for the paths taken"
                                if nodes[split_a]["kind"] == "inclusive"
                                else "a Parallel join to wait for all"
                            )
                            yield problem(
                                merge,
                                f"receives several branches of {_node_text(nodes[split_a])}, so the "
                                f"steps after it run once per branch. Use {join}.",
                            )
                            break


def _check_inclusive_join(
    join: Node, nodes: Mapping[str, Node], flows: Mapping[str, Flow]
) -> Iterable[Problem]:
    """An Any of these paths join waits while a step that can reach it is open; another join that
    both comes before it and after it (on a loop) may wait for it in turn: the two wait forever."""
    upstream = set(join["config"].get("upstream", ()))
    sources: dict[str, list[str]] = {}
    for flow in flows.values():
        sources.setdefault(flow["target"], []).append(flow["source"])
    for other_id in sorted(upstream):
        other = nodes.get(other_id)
        if other is None or other_id == join["id"] or len(other["incoming"]) < 2:
            continue
        if other["kind"] not in _SPLITTING:
            continue
        # Whether this join also reaches the other one: then each can hold a token the other waits for.
        reaching_other = set().union(
            *(_walk(s, lambda n: sources.get(n, []), stop=other_id) for s in sources[other_id])
        )
        if join["id"] in reaching_other:
            yield problem(
                join,
                f"is on a loop with {_node_text(other)}: each comes after the other, so each could wait "
                "forever for a token the other holds. Take one of the two joins off the loop.",
            )
            return
