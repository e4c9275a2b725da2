"""Procurement connector: place a purchase order in the procurement system (ERP)."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.conf import settings

from orchestration.connectors.base import Connector, ConnectorError, ConnectorField
from orchestration.connectors.http import send_json
from orchestration.connectors.registry import register


class ProcurementOrderConfigForm(forms.Form):
    url = forms.URLField(
        label="Orders URL",
        required=False,
        assume_scheme="https",
        max_length=2000,
        help_text="Leave empty to use the address your administrator set up "
        "(<code data-technical>BATON_PROCUREMENT_URL</code>).",
    )


@register
class ProcurementOrderConnector(Connector):
    """Create a purchase order; the step's idempotency key makes a repeated step place it once."""

    name = "procurement.create_order"
    label = "Place procurement order"
    description = "Places a purchase order in the procurement system and gives back its number and status."
    config_form = ProcurementOrderConfigForm
    input_limits: ClassVar[dict[str, int]] = {"item": 200, "currency": 3, "requester": 150}
    inputs = (
        ConnectorField(
            "item", "What to buy", required=True, help="The item or service, as the supplier names it."
        ),
        ConnectorField("amount", "Amount", "number", required=True, help="The total price of the order."),
        ConnectorField("currency", "Currency", required=True, help="Three letters, e.g. EUR or USD."),
        ConnectorField(
            "requester",
            "Ordered for",
            required=True,
            help="The person the order is placed for.",
            suggested="initiator",
        ),
        ConnectorField("justification", "Reason", help="Why it is needed; kept with the order."),
    )
    outputs = (
        ConnectorField("order_id", "Order number", help="The number the procurement system gave the order."),
        ConnectorField(
            "status", "Order status", help="What the procurement system says about it, e.g. placed."
        ),
    )
    example_output: ClassVar[dict[str, Any]] = {"order_id": "PO-10042", "status": "placed"}

    def run(self, config: dict[str, Any], data: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """Post ``data`` as the order; return ``{"order_id": str, "status": str}``."""
        url = config.get("url") or settings.BATON_PROCUREMENT_URL
        # The procurement system is the one that validates the order: its 400 is non-retryable.
        reply = send_json("POST", url, data=data, idempotency_key=idempotency_key)
        body = reply.body
        if not isinstance(body, dict) or not body.get("order_id") or not body.get("status"):
            raise ConnectorError(
                f"The procurement system answered {reply.status} without an order id and status.",
                retryable=False,
            )
        return {"order_id": str(body["order_id"]), "status": str(body["status"])}
