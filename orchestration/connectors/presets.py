"""Presets: a connector with a business face for one kind of system ("Create order in ERP").

A preset is data, not code: the connector it runs, the settings it fixes, its own
declared inputs and outputs (with where each output comes from in the connector's
answer), and the words the designer shows. A new integration of a known kind is one
:class:`Preset` in :data:`PRESETS` (or passed to :func:`register_preset` by an app).

The designer writes a preset's fixed settings and output mappings into the diagram,
so the engine runs it as the connector it names; ``baton:preset`` tells the designer
and the compiler which face to show and check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestration.connectors import registry
from orchestration.connectors.base import ConnectorField


@dataclass(frozen=True)
class Preset:
    """One business action: ``connector`` run with ``config``; ``results`` maps each output to the answer."""

    name: str
    label: str
    description: str
    category: str
    connector: str
    config: dict[str, str] = field(default_factory=dict)
    inputs: tuple[ConnectorField, ...] = ()
    outputs: tuple[ConnectorField, ...] = ()
    # output name -> expression over ``result`` (the connector's answer); default ``result.<name>``
    results: dict[str, str] = field(default_factory=dict)
    example_output: dict[str, Any] = field(default_factory=dict)
    error_codes: dict[str, str] = field(default_factory=dict)
    # Whether the person choosing it picks the system (a Connection) the connector calls.
    asks_connection: bool = False


@dataclass(frozen=True)
class Action:
    """What an Automated step does as the designer and the compiler see it: a preset or a bare connector."""

    key: str  # the value the panel stores: "preset:<name>" or the connector name
    label: str
    description: str
    category: str
    connector: str
    preset: str
    config: dict[str, str]
    inputs: tuple[ConnectorField, ...]
    outputs: tuple[ConnectorField, ...]
    results: dict[str, str]
    error_codes: dict[str, str]
    example_output: dict[str, Any]
    asks_connection: bool

    def input(self, name: str) -> ConnectorField | None:
        return next((f for f in self.inputs if f.name == name), None)

    def output(self, name: str) -> ConnectorField | None:
        return next((f for f in self.outputs if f.name == name), None)

    def result_of(self, name: str) -> str:
        """The expression over ``result`` that gives output ``name``."""
        return self.results.get(name, f"result.{name}")


PRESET_PREFIX = "preset:"

PRESETS: dict[str, Preset] = {}


def register_preset(preset: Preset) -> Preset:
    """Make ``preset`` available under its name (a name is taken once)."""
    existing = PRESETS.get(preset.name)
    if existing is not None and existing != preset:
        raise ValueError(f"Preset name {preset.name!r} is already taken.")
    PRESETS[preset.name] = preset
    return preset


register_preset(
    Preset(
        name="erp.create_order",
        label="Create order in ERP",
        description="Places a purchase order in the procurement system and gives back its order number.",
        category="Buying",
        connector="procurement.create_order",
        inputs=(
            ConnectorField("item", "What to buy", required=True, help="The item or service to order."),
            ConnectorField("amount", "Amount", "number", required=True, help="The total price of the order."),
            ConnectorField("currency", "Currency", required=True, help="Three letters, e.g. EUR or USD."),
            ConnectorField(
                "requester", "Ordered for", required=True, help="Who the order is for.", suggested="initiator"
            ),
            ConnectorField("justification", "Reason", help="Why it is needed; kept with the order."),
        ),
        outputs=(
            ConnectorField("order_id", "Order number", help="The number the ERP gave the order."),
            ConnectorField("order_status", "Order status", help="What the ERP says about it, e.g. placed."),
        ),
        results={"order_status": "result.status"},
        example_output={"order_id": "PO-10042", "status": "placed"},
    )
)

register_preset(
    Preset(
        name="chat.post_message",
        label="Post to Slack or Teams",
        description="Posts a message to a chat channel through its incoming webhook.",
        category="Tell people",
        connector="http.request",
        config={"method": "POST"},
        inputs=(ConnectorField("text", "Message", required=True, help="What to post in the channel."),),
        example_output={"status": 200, "body": "ok"},
        asks_connection=True,
    )
)

register_preset(
    Preset(
        name="tickets.create",
        label="Create ticket",
        description="Opens a ticket in the service desk and gives back its number.",
        category="Service desk",
        connector="http.request",
        config={"method": "POST", "url": "tickets", "response_path": "number"},
        inputs=(
            ConnectorField("title", "Title", required=True, help="A short summary of the problem."),
            ConnectorField("description", "Description", "string", help="What happened, in detail."),
            ConnectorField("priority", "Priority", help="low, normal or high."),
        ),
        outputs=(
            ConnectorField("ticket_number", "Ticket number", help="How the service desk knows the ticket."),
        ),
        results={"ticket_number": "string(result.body)"},
        example_output={"status": 201, "body": "T-1001"},
        asks_connection=True,
    )
)


def actions() -> list[Action]:
    """Every action an Automated step can take: the presets, then the connectors themselves."""
    found = [_preset_action(p) for p in PRESETS.values() if registry.is_registered(p.connector)]
    found.sort(key=lambda a: (a.category, a.label))
    found += [_connector_action(c.name) for c in registry.all_connectors()]
    return found


def action(connector: str, preset: str = "") -> Action | None:
    """The action a block names with its connector and (optional) preset; None when either is unknown."""
    if preset:
        found = PRESETS.get(preset)
        if found is None or found.connector != connector or not registry.is_registered(connector):
            return None
        return _preset_action(found)
    return _connector_action(connector) if registry.is_registered(connector) else None


def action_by_key(key: str) -> Action | None:
    """The action the panel's choice ``key`` stands for."""
    if key.startswith(PRESET_PREFIX):
        found = PRESETS.get(key.removeprefix(PRESET_PREFIX))
        return action(found.connector, found.name) if found is not None else None
    return action(key)


def _preset_action(preset: Preset) -> Action:
    connector = registry.get(preset.connector)
    return Action(
        key=PRESET_PREFIX + preset.name,
        label=preset.label,
        description=preset.description,
        category=preset.category,
        connector=preset.connector,
        preset=preset.name,
        config=dict(preset.config),
        inputs=preset.inputs,
        outputs=preset.outputs,
        results=dict(preset.results),
        error_codes={**connector.error_codes, **preset.error_codes},
        example_output=dict(preset.example_output or connector.example_output),
        asks_connection=preset.asks_connection,
    )


def _connector_action(name: str) -> Action:
    connector = registry.get(name)
    return Action(
        key=name,
        label=connector.label,
        description=connector.description,
        category="Other",
        connector=name,
        preset="",
        config={},
        inputs=connector.inputs,
        outputs=connector.outputs,
        results={},
        error_codes=dict(connector.error_codes),
        example_output=dict(connector.example_output),
        asks_connection=False,
    )
