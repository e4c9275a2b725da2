"""The compiled graph: what the compiler writes and the runtime reads.

A graph is plain JSON (stored on ``WorkflowVersion.graph``); these TypedDicts
document its shape. The runtime never re-parses XML.

Node ``kind`` is the name of a registered block kind, and its ``config`` has
that kind's typed shape: each kind module in ``orchestration/engine/blocks/``
declares it as a TypedDict next to how it is read and run (``StartConfig`` in
``start.py``, ``UserTaskConfig`` in ``user_task.py``, ``ConnectorTaskConfig`` for
``service_task``/``send_task``, ``ExclusiveConfig``, ``ParallelConfig``,
``ScriptConfig``, ``TimerCatchConfig``, ``MessageCatchConfig``,
``CallActivityConfig``, ``EndConfig``); ``orchestration/engine/blocks/__init__.py``
lists the kinds.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

# The name of a registered block kind ("user_task", "exclusive", ...): see orchestration.engine.blocks.
NodeKind = str

# Variable types as declared: the compiler maps them to CEL types.
VariableType = Literal["string", "number", "integer", "boolean", "date", "map", "list", "dyn"]


# What a message field may hold. A machine's payload has no form: no choices, bounds or defaults;
# records and lists come whole. Money needs a currency field beside it, which start forms offer.
MESSAGE_FIELD_TYPES: dict[str, VariableType] = {
    "string": "string",
    "number": "number",
    "integer": "integer",
    "boolean": "boolean",
    "date": "date",
    "map": "map",
    "list": "list",
}


class FormField(TypedDict):
    name: str
    label: str
    type: str  # string | text | number | integer | boolean | date | choice | email | money; messages: list | map
    required: bool
    choices: list[str]
    min: NotRequired[float | None]
    max: NotRequired[float | None]
    max_length: NotRequired[int]  # characters, for text kinds; absent: the kind's default
    max_length_reason: NotRequired[str]  # who set a tighter limit: "Place order accepts at most 200"
    default: NotRequired[Any]
    currency: NotRequired[str]  # money: the name of the form field holding its currency code


class LoopConfig(TypedDict):
    """A "For each" on a step: one run of the step per item of a list."""

    collection: str  # CEL giving the list
    item: str  # the variable each run sees its item as
    parallel: bool  # all at once, or one after another
    completion: (
        str  # CEL over the variables and ``progress`` (outputs, completed, total): stop early when true
    )
    output: str  # the variable collecting each run's output, in item order ("" none)
    output_item: str  # CEL giving one run's output from ``result`` ("" the step's output)


class Node(TypedDict):
    id: str
    name: str
    kind: NodeKind
    incoming: list[str]  # flow ids
    outgoing: list[str]  # flow ids
    config: dict[str, Any]  # the kind's config TypedDict, stored as plain JSON
    # The Group (embedded sub-process node id) this node is inside; absent at the process level.
    parent: NotRequired[str]
    # Boundary event node ids attached to this node (deadlines, "if it fails", messages).
    boundaries: NotRequired[list[str]]
    # Set when the node runs once per item of a list.
    loop: NotRequired[LoopConfig]


class Flow(TypedDict):
    id: str
    name: str
    source: str
    target: str
    condition: str | None  # CEL, boolean-typed at compile time
    # The decision that takes this path out of an Approval ("approved", "rejected", "changes_requested").
    outcome: NotRequired[str]


class Graph(TypedDict):
    format: int  # bump with a migration when the shape changes
    process_id: str
    name: str
    nodes: dict[str, Node]
    flows: dict[str, Flow]
    start_nodes: list[str]  # the process's own start events (a Group's start is in its config)
    variables: dict[str, VariableType]  # every variable in scope anywhere, typed
    messages: list[str]
    # Set when an expression reads the request number: a new request is then written as soon as
    # one is evaluated, to be numbered (absent in graphs compiled before the number was offered).
    reads_request_number: NotRequired[bool]
    warnings: list[str]


GRAPH_FORMAT = 1
