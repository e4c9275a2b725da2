"""The demo e-signature API: send a document for signature; the demo counterparty signs or declines at once."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
# The demo's rules for a decline, so a demo can show the "If it fails" path on purpose.
DECLINING_COUNTERPARTY: Final = "decline ltd"
LARGEST_VALUE: Final = Decimal("1000000")


def _errors(field: str, message: str) -> JsonResponse:
    return JsonResponse({"errors": {field: [message]}}, status=400)


def _text(payload: dict[str, Any], name: str, limit: int) -> str | None:
    value = payload.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        return None
    return value.strip()


@csrf_exempt  # a machine API: callers authenticate by network position, not by a browser session
@require_POST
def send_envelope(request: HttpRequest) -> JsonResponse:
    """Send ``document`` to ``counterparty`` for signature: 201 signed, or 200 with status ``declined``.

    The envelope id comes from the Idempotency-Key, so a step sent twice gets the same
    envelope and the same answer. Declines: a counterparty named "Decline Ltd", or a
    value above 1,000,000 (the demo service signs nothing that large electronically).
    """
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not key or len(key) > 255:
        return _errors(IDEMPOTENCY_HEADER, "This header is required (at most 255 characters).")
    try:
        payload: Any = json.loads(request.body, parse_float=Decimal)
    except ValueError:
        return _errors("__all__", "The body must be JSON.")
    if not isinstance(payload, dict):
        return _errors("__all__", "The body must be a JSON object.")
    fields = {"document": 200, "counterparty": 200, "signer": 150}
    texts = {name: _text(payload, name, limit) for name, limit in fields.items()}
    for name, text in texts.items():
        if text is None:
            return _errors(name, f"Required: text of at most {fields[name]} characters.")
    try:
        value: Decimal = Decimal(str(payload.get("value")))
    except (InvalidOperation, ValueError):
        return _errors("value", "Required: the contract's value as a number.")
    if not value.is_finite() or value < 0:
        return _errors("value", "Required: the contract's value as a number.")
    currency = str(payload.get("currency") or "").upper()
    envelope = {
        "envelope_id": "ENV-" + hashlib.sha256(key.encode()).hexdigest()[:12].upper(),
        "document": texts["document"],
        "counterparty": texts["counterparty"],
    }
    counterparty = str(texts["counterparty"])
    if counterparty.casefold() == DECLINING_COUNTERPARTY:
        reason = f"{counterparty} declined to sign electronically."
    elif value > LARGEST_VALUE:
        reason = f"Contracts above {LARGEST_VALUE:,} {currency} are not signed electronically."
    else:
        return JsonResponse({**envelope, "status": "signed"}, status=201)
    return JsonResponse({**envelope, "status": "declined", "reason": reason}, status=200)
