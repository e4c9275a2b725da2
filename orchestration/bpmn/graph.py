"""The compiled graph: what the compiler writes and the runtime reads.

A graph is plain JSON (stored on ``WorkflowVersion.graph``); these TypedDicts
document its shape. The runtime never re-parses XML.

Node ``kind`` values and their ``config`` keys:

- ``start``: ``trigger`` ("none" | "timer" | "message"), ``cron`` (timer start),
  ``message`` (message start), ``fields`` (list of :class:`FormField`),
  ``inputs`` (webhook payload mapping: variable -> CEL over ``payload``).
- ``end``: ``outcome`` (str, may be "").
- ``user_task``: ``assignee_rule`` ("user" | "group" | "manager" | "authority_chain"),
  ``assignee`` (username), ``groups`` (list of group names), ``due_in`` (ISO 8601
  duration or ""), ``reminder_in``, ``escalate_to``, ``quorum`` ("any" | "all"),
  ``amount_expression`` (CEL), ``result_variable`` (str).
- ``service_task`` / ``send_task``: ``connector`` (registry name), ``properties``
  (dict of literal strings), ``inputs`` (variable -> CEL), ``outputs``
  (variable -> CEL over ``result`` and the instance variables), ``retries`` (int,
  attempts after the first), ``retry_backoff`` (seconds, float).
- ``exclusive``: ``default`` (flow id or None); ``role`` ("decision" | "merge").
- ``parallel``: ``role`` ("split" | "join" | "both" | "pass").
- ``script``: ``assignments`` (variable -> CEL).
- ``timer_catch``: ``duration`` (ISO 8601) or ``date`` (ISO 8601 timestamp) or
  ``date_expression`` (CEL giving a timestamp or ISO string).
- ``message_catch``: ``message`` (name), ``correlation_key`` (CEL).
- ``call_activity``: ``called_element`` (workflow key), ``inputs``, ``outputs``.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

NodeKind = Literal[
    "start",
    "end",
    "user_task",
    "service_task",
    "send_task",
    "exclusive",
    "parallel",
    "script",
    "timer_catch",
    "message_catch",
    "call_activity",
]

# Variable types as declared: the compiler maps them to CEL types.
VariableType = Literal["string", "number", "integer", "boolean", "date", "map", "list", "dyn"]


class FormField(TypedDict):
    name: str
    label: str
    type: str  # string | text | number | integer | boolean | date | choice | email
    required: bool
    choices: list[str]
    min: NotRequired[float | None]
    max: NotRequired[float | None]
    default: NotRequired[Any]


class Node(TypedDict):
    id: str
    name: str
    kind: NodeKind
    incoming: list[str]  # flow ids
    outgoing: list[str]  # flow ids
    config: dict[str, Any]


class Flow(TypedDict):
    id: str
    name: str
    source: str
    target: str
    condition: str | None  # CEL, boolean-typed at compile time


class Graph(TypedDict):
    format: int  # bump with a migration when the shape changes
    process_id: str
    name: str
    nodes: dict[str, Node]
    flows: dict[str, Flow]
    start_nodes: list[str]
    variables: dict[str, VariableType]  # every variable in scope anywhere, typed
    messages: list[str]
    warnings: list[str]


GRAPH_FORMAT = 1
