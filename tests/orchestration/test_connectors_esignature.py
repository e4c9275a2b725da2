"""The e-signature connector against the demo e-signature service over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from orchestration.connectors import registry
from orchestration.connectors.base import BusinessError, ConnectorError

CONTRACT = {
    "document": "Cleaning services 2027",
    "counterparty": "Sparkle GmbH",
    "value": "48000.00",
    "currency": "EUR",
    "signer": "employee",
}


@pytest.fixture
def signature_url(live_server: Any, settings: Any) -> str:
    settings.BATON_ESIGNATURE_URL = live_server.url + "/demo/signature/envelopes/"
    return str(settings.BATON_ESIGNATURE_URL)


def send(data: dict[str, Any], key: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
    return registry.get("esign.send_for_signature").run(config or {}, data, key)


def test_registered_under_its_name() -> None:
    assert registry.get("esign.send_for_signature").label == "Send for e-signature"


def test_a_contract_is_signed_and_the_same_key_gives_the_same_envelope(signature_url: str) -> None:
    first = send(CONTRACT, "step-1")

    assert first["status"] == "signed" and first["envelope_id"].startswith("ENV-")
    assert send(CONTRACT, "step-1") == first
    assert send(CONTRACT, "step-2")["envelope_id"] != first["envelope_id"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"counterparty": "Decline Ltd"}, "Signature declined: Decline Ltd declined to sign electronically."),
        (
            {"value": "1000000.01"},
            "Signature declined: Contracts above 1,000,000 EUR are not signed electronically.",
        ),
    ],
)
def test_a_decline_is_a_business_error_with_its_code(
    signature_url: str, change: dict[str, str], reason: str
) -> None:
    with pytest.raises(BusinessError) as declined:
        send({**CONTRACT, **change}, "step-3")

    assert declined.value.code == "DECLINED"
    assert str(declined.value) == reason
    assert not declined.value.retryable


def test_a_malformed_envelope_is_refused_and_not_retried(signature_url: str) -> None:
    with pytest.raises(ConnectorError) as refused:
        send({**CONTRACT, "counterparty": ""}, "step-4")

    assert not isinstance(refused.value, BusinessError)
    assert not refused.value.retryable
    assert "400" in str(refused.value) and "counterparty" in str(refused.value)


def test_config_url_overrides_the_setting(live_server: Any, settings: Any) -> None:
    settings.BATON_ESIGNATURE_URL = "http://127.0.0.1:9/nowhere/"

    result = send(CONTRACT, "step-5", {"url": live_server.url + "/demo/signature/envelopes/"})

    assert result["status"] == "signed"
