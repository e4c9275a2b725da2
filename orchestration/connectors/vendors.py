"""Vendor lookup connector: find a vendor in the procurement system (ERP) by its name.

Read-only, so an AI step may offer it as a tool ("look up the vendor in the ERP") without
risk; the demo procurement service answers it offline (``GET …/vendors/?name=``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.conf import settings

from orchestration import connections
from orchestration.connectors.base import BusinessError, Connector, ConnectorError, ConnectorField
from orchestration.connectors.http import HttpStatusError, send_json
from orchestration.connectors.registry import register

NOT_FOUND = "vendor_not_found"


class VendorLookupConfigForm(forms.Form):
    connection = forms.SlugField(
        label="System",
        required=False,
        max_length=100,
        help_text="The procurement system's connection; its address ends before /vendors/. "
        "Leave empty for the address your administrator set up.",
    )


@register
class VendorLookupConnector(Connector):
    """Look a vendor up by name; a vendor the ERP does not know is a business error with a code."""

    name = "procurement.look_up_vendor"
    label = "Look up vendor in the ERP"
    description = "Finds a vendor in the procurement system by name: its number, status and payment terms."
    config_form = VendorLookupConfigForm
    input_limits: ClassVar[dict[str, int]] = {"vendor": 200}
    inputs = (
        ConnectorField(
            "vendor", "Vendor name", required=True, help="The vendor's name, e.g. as on the invoice."
        ),
    )
    outputs = (
        ConnectorField("vendor_id", "Vendor number", help="How the procurement system knows the vendor."),
        ConnectorField("name", "Vendor name in the ERP"),
        ConnectorField("status", "Vendor status", help="approved, or blocked when no order may go to it."),
        ConnectorField("payment_terms", "Payment terms"),
    )
    example_output: ClassVar[dict[str, Any]] = {
        "vendor_id": "V-1001",
        "name": "Northwind Computers Ltd",
        "status": "approved",
        "payment_terms": "30 days",
    }
    error_codes: ClassVar[dict[str, str]] = {
        NOT_FOUND: "The procurement system knows no vendor of that name."
    }

    def run(self, config: dict[str, Any], data: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """``GET <vendors>?name=…``; return the vendor's number, name, status and payment terms."""
        name = str(data.get("vendor") or "").strip()
        if not name:
            raise ConnectorError("No vendor name to look up.", retryable=False)
        url, headers = settings.BATON_VENDORS_URL, {}
        if config.get("connection"):
            try:
                connection = connections.find(str(config["connection"]))
                headers = connections.secret_headers(connection)
            except connections.ConnectionUnavailable as exc:
                raise ConnectorError(str(exc), retryable=False) from None
            if not connection.base_url:
                raise ConnectorError(f"Connection {connection.name!r} has no base URL.", retryable=False)
            url = connection.base_url.rstrip("/") + "/vendors/"
        try:
            reply = send_json(
                "GET", url, data={"name": name}, idempotency_key=idempotency_key, headers=headers
            )
        except HttpStatusError as exc:
            if exc.http_status == 404:
                raise BusinessError(
                    NOT_FOUND, f"The procurement system knows no vendor named {name!r}."
                ) from None
            raise
        body = reply.body
        if not isinstance(body, dict) or not body.get("vendor_id"):
            raise ConnectorError(
                f"The procurement system answered {reply.status} without a vendor.", retryable=False
            )
        return {key: str(body.get(key) or "") for key in ("vendor_id", "name", "status", "payment_terms")}
