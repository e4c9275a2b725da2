"""E-signature connector: send a contract for signature; a signer's decline is a business error."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.conf import settings

from orchestration.connectors.base import BusinessError, Connector, ConnectorError, ConnectorField
from orchestration.connectors.http import send_json
from orchestration.connectors.registry import register

DECLINED = "DECLINED"


class SignatureConfigForm(forms.Form):
    url = forms.URLField(
        label="Envelopes URL",
        required=False,
        assume_scheme="https",
        max_length=2000,
        help_text="Leave empty to use the address your administrator set up "
        "(<code data-technical>BATON_ESIGNATURE_URL</code>).",
    )


@register
class SendForSignatureConnector(Connector):
    """Send a document for signature; the step's idempotency key makes a repeated step send it once."""

    name = "esign.send_for_signature"
    label = "Send for e-signature"
    description = (
        "Sends the contract to the e-signature service and gives back its signature request number. "
        'If the other party declines, an "If it fails" path can take the request on.'
    )
    config_form = SignatureConfigForm
    input_limits: ClassVar[dict[str, int]] = {"document": 200, "counterparty": 200, "signer": 150}
    inputs = (
        ConnectorField("document", "Document title", required=True, help="The name of the contract to sign."),
        ConnectorField("counterparty", "Other party", required=True, help="Who signs on the other side."),
        ConnectorField("value", "Contract value", "number", help="What the contract is worth."),
        ConnectorField("currency", "Currency", help="Three letters, e.g. EUR or USD."),
        ConnectorField("signer", "Signs for us", required=True, help="The person who signs for the company."),
    )
    outputs = (
        ConnectorField("envelope_id", "Signature request number", help="How the signing service knows it."),
        ConnectorField("status", "Signature status", help="signed once everyone has signed."),
    )
    example_output: ClassVar[dict[str, Any]] = {"envelope_id": "ENV-2024-0001", "status": "signed"}
    error_codes: ClassVar[dict[str, str]] = {DECLINED: "The other party declined to sign"}

    def run(self, config: dict[str, Any], data: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """Post ``data`` as an envelope; return ``{"envelope_id": str, "status": "signed"}``.

        Raises :class:`BusinessError` ``DECLINED`` with the service's reason when it declines.
        """
        url = config.get("url") or settings.BATON_ESIGNATURE_URL
        reply = send_json("POST", url, data=data, idempotency_key=idempotency_key)
        body = reply.body
        if not isinstance(body, dict) or not body.get("envelope_id") or not body.get("status"):
            raise ConnectorError(
                f"The e-signature service answered {reply.status} without an envelope id and status.",
                retryable=False,
            )
        if body["status"] == "declined":
            reason = str(body.get("reason") or "The document was declined.")
            raise BusinessError(DECLINED, f"Signature declined: {reason}")
        return {"envelope_id": str(body["envelope_id"]), "status": str(body["status"])}
