"""What changed between two versions of a workflow, block by block, in plain words.

Compares compiled graphs (what runs), not drawings: moving a block on the canvas is no change.
The versions page lists the changes and the compare page colours them on both diagrams.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from orchestration.bpmn.graph import Flow, Graph, Node
from orchestration.bpmn.names import sentence
from orchestration.bpmn.problems import node_label

ChangeKind = Literal["added", "removed", "changed"]

# A block's settings as a business user names them; anything else is "other settings".
_SETTING_WORDS = {
    "fields": "the form's fields",
    "title_field": "the request title",
    "amount_field": "the amount to approve",
    "trigger": "how it starts",
    "timer": "the schedule",
    "cron": "the schedule",
    "message": "the message it waits for",
    "message_fields": "what the message carries",
    "inputs": "the values it uses",
    "outputs": "the results it keeps",
    "connector": "what it does",
    "properties": "its settings",
    "retries": "how often it tries again",
    "retry_backoff": "how long it waits between tries",
    "assignee_rule": "who approves",
    "assignee": "who approves",
    "assignee_expression": "who approves",
    "groups": "who approves",
    "quorum": "how many must approve",
    "amount_expression": "the amount compared with signing limits",
    "due_in": "the deadline",
    "reminder_in": "the reminder",
    "escalate_to": "where it goes when late",
    "result_variable": "where the decision is kept",
    "assignments": "the data it sets",
    "outcome": "the outcome",
    "default": "the path taken otherwise",
    "duration": "how long it waits",
}


@dataclass
class Change:
    """One block or path that is new, gone or different; ``element_id`` marks it on the diagram."""

    element_id: str
    kind: ChangeKind
    what: str  # 'Approval "Director approval"'
    details: list[str] = field(default_factory=list)
    # For people who read expressions: shown under "Details" (the block's id, conditions before and after).
    technical: list[str] = field(default_factory=list)


@dataclass
class Comparison:
    changes: list[Change]

    def of(self, kind: ChangeKind) -> list[Change]:
        return [c for c in self.changes if c.kind == kind]

    def markers(self) -> dict[str, list[str]]:
        """Element ids to colour, by change kind, for the compare page's script."""
        return {kind: [c.element_id for c in self.of(kind)] for kind in ("added", "removed", "changed")}

    def summary(self) -> str:
        """ "2 blocks added, 1 changed, 1 path removed" or "No changes to what runs." """
        if not self.changes:
            return "No changes to what runs; only the drawing may differ."
        parts = []
        for kind in ("added", "changed", "removed"):
            found = self.of(kind)
            if found:
                parts.append(f"{len(found)} {kind}")
        return sentence(", ".join(parts)) + "."


def _named(node: Node) -> str:
    label = node_label(node)
    name = " ".join((node.get("name") or "").split())
    return f"{label} “{name}”" if name else f"a {label} without a name"


def _flow_words(flow: Flow, nodes: dict[str, Node]) -> str:
    def end(node_id: str) -> str:
        node = nodes.get(node_id)
        return _named(node) if node is not None else "a removed block"

    label = f" “{flow['name']}”" if flow.get("name") else ""
    return f"the path{label} from {end(flow['source'])} to {end(flow['target'])}"


def _node_details(old: Node, new: Node) -> list[str]:
    details: list[str] = []
    if (old.get("name") or "") != (new.get("name") or ""):
        details.append(f"renamed from “{old.get('name') or '(no name)'}”")
    keys = sorted(set(old["config"]) | set(new["config"]))
    said: list[str] = []
    for key in keys:
        if key == "role" or old["config"].get(key) == new["config"].get(key):
            continue
        words = _SETTING_WORDS.get(key, "other settings")
        if words not in said:
            said.append(words)
    if said:
        details.append("changed: " + ", ".join(said))
    if old.get("loop") != new.get("loop"):
        details.append(
            "now runs once per item" if new.get("loop") and not old.get("loop") else "changed: for each"
        )
    if sorted(old.get("boundaries", [])) != sorted(new.get("boundaries", [])):
        details.append("changed: its deadlines, reminders or failure paths")
    return details


def compare(old: Graph, new: Graph) -> Comparison:
    """The blocks and paths ``new`` adds, removes or changes compared with ``old``, matched by id."""
    changes: list[Change] = []
    old_nodes, new_nodes = old["nodes"], new["nodes"]
    for node_id, node in new_nodes.items():
        before = old_nodes.get(node_id)
        if before is None:
            changes.append(Change(node_id, "added", _named(node)))
        elif before["kind"] != node["kind"]:
            changes.append(Change(node_id, "changed", _named(node), [f"was {_named(before)}"]))
        else:
            details = _node_details(before, node)
            if details:
                changes.append(Change(node_id, "changed", _named(node), details))
    for node_id, node in old_nodes.items():
        if node_id not in new_nodes:
            changes.append(Change(node_id, "removed", _named(node)))
    old_flows, new_flows = old["flows"], new["flows"]
    for flow_id, flow in new_flows.items():
        before_flow = old_flows.get(flow_id)
        if before_flow is None:
            changes.append(Change(flow_id, "added", sentence(_flow_words(flow, new_nodes))))
            continue
        details = []
        if (before_flow["source"], before_flow["target"]) != (flow["source"], flow["target"]):
            details.append(f"was {_flow_words(before_flow, old_nodes)}")
        technical = []
        if before_flow.get("condition") != flow.get("condition"):
            details.append("changed: when it is taken")
            technical.append(
                f"{before_flow.get('condition') or '(always)'} → {flow.get('condition') or '(always)'}"
            )
        if details:
            what = sentence(_flow_words(flow, new_nodes))
            changes.append(Change(flow_id, "changed", what, details, technical))
    for flow_id, flow in old_flows.items():
        if flow_id not in new_flows:
            changes.append(Change(flow_id, "removed", sentence(_flow_words(flow, old_nodes))))
    return Comparison(changes)
