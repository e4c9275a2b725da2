"""The demo AI's one endpoint: a chat completion answered by rules (see the package docstring)."""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

MODEL: Final = "baton-demo"
# Keywords per category, first match wins, and the amount up to which such an invoice is usual.
CATEGORIES: Final[tuple[tuple[str, tuple[str, ...], Decimal], ...]] = (
    (
        "IT hardware",
        ("laptop", "notebook", "monitor", "keyboard", "server", "printer", "computer", "dock"),
        Decimal(10000),
    ),
    ("Office supplies", ("paper", "toner", "pens", "stationery", "folders", "envelopes"), Decimal(1000)),
    ("Travel", ("flight", "hotel", "train", "taxi", "airfare"), Decimal(5000)),
    ("Services", ("consulting", "cleaning", "support", "maintenance", "licence", "license"), Decimal(20000)),
)
OTHER_LIMIT: Final = Decimal(2000)
_VENDOR = re.compile(
    r"^\s*(?:from|vendor|supplier|seller|billed by)\s*[:\-]\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE
)
_COMPANY = re.compile(
    r"^\s*(.*\b(?:ltd|gmbh|inc|llc|plc|s\.?a\.?|ag|bv|co\.?)\b.*?)\s*$", re.IGNORECASE | re.MULTILINE
)
# "Invoice 4471 from Northwind Traders, …": the capitalised words after "from" (or "by") in a sentence.
_SENT_BY = re.compile(r"\b(?:from|by)\s+([A-Z][\w&'.-]*(?:\s+(?:[A-Z][\w&'.-]*|&))*)")
_TOTAL = re.compile(r"total[^0-9\n]{0,40}?([0-9][0-9,. ]*[0-9]|[0-9])", re.IGNORECASE)
_NUMBER = re.compile(r"[0-9][0-9,]*\.[0-9]{2}\b")
# Words of a choice that holds a request back: a Decision's path or an advice the analyst named.
_CAUTIOUS = re.compile(
    r"\b(?:reject\w*|review\w*|check\w*|hold|manual\w*|no|declin\w*|escalat\w*|refus\w*)\b", re.IGNORECASE
)


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": {"message": message, "type": "invalid_request_error"}}, status=status)


@csrf_exempt  # a machine API: callers authenticate with their bearer key
@require_POST
def chat_completions(request: HttpRequest) -> JsonResponse:
    """Answer the last user message with a JSON object holding the fields the request asks for."""
    if not request.headers.get("Authorization", "").startswith("Bearer "):
        return _error(401, "Send the key as 'Authorization: Bearer …'.")
    try:
        payload: Any = json.loads(request.body)
    except (ValueError, RecursionError):  # nesting deep enough to exhaust the stack
        return _error(400, "The body must be JSON.")
    messages = payload.get("messages") if isinstance(payload, dict) else None
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        return _error(400, "'messages' must be a non-empty list of messages.")
    text = "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "user")
    prompt = sum(len(str(m.get("content", ""))) for m in messages) // 4
    looked_up = [m for m in messages if m.get("role") == "tool"]
    call = None if looked_up else _vendor_call(payload.get("tools"), text)
    if call is not None:
        # First turn with a vendor tool offered: look the vendor up before answering.
        return _completion(
            request, payload, {"role": "assistant", "content": None, "tool_calls": [call]}, prompt
        )
    fields = _asked_fields(payload.get("response_format"), messages)
    vendor = _vendor_record(looked_up)
    answer = {name: _value(name, schema, text, vendor) for name, schema in fields.items()}
    content = json.dumps(answer)
    return _completion(request, payload, {"role": "assistant", "content": content}, prompt)


def _completion(
    request: HttpRequest, payload: dict[str, Any], message: dict[str, Any], prompt: int
) -> JsonResponse:
    calls = message.get("tool_calls")
    content = str(message.get("content") or "") + (json.dumps(calls) if calls else "")
    return JsonResponse(
        {
            "id": "chatcmpl-demo-" + hashlib.sha256(request.body).hexdigest()[:16],
            "object": "chat.completion",
            "created": 0,
            "model": str(payload.get("model") or MODEL),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": len(content) // 4,
                "total_tokens": prompt + len(content) // 4,
            },
        }
    )


def _asked_fields(response_format: Any, messages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The answer's fields: the JSON schema's properties, or in JSON mode the names the system message lists."""
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        wrapper = response_format.get("json_schema")
        schema = wrapper.get("schema") if isinstance(wrapper, dict) else None
        properties = schema.get("properties") if isinstance(schema, dict) else None
        if isinstance(properties, dict):
            return {str(k): v if isinstance(v, dict) else {} for k, v in properties.items()}
    system = "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "system")
    return {name: {} for name in re.findall(r'^- "([A-Za-z_][A-Za-z0-9_]*)"', system, re.MULTILINE)}


def _vendor_call(tools: Any, text: str) -> dict[str, Any] | None:
    """A call of the first offered tool taking a ``vendor`` (the name read from the invoice), if any."""
    for tool in tools if isinstance(tools, list) else []:
        function = tool.get("function") if isinstance(tool, dict) else None
        parameters = function.get("parameters") if isinstance(function, dict) else None
        properties = parameters.get("properties") if isinstance(parameters, dict) else None
        if isinstance(properties, dict) and "vendor" in properties and isinstance(function, dict):
            return {
                "id": "call_demo_1",
                "type": "function",
                "function": {
                    "name": str(function.get("name")),
                    "arguments": json.dumps({"vendor": _vendor(text)}),
                },
            }
    return None


def _vendor_record(tool_messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    """What the vendor lookup answered: the vendor's record, ``{}`` when it failed, None when not asked."""
    if not tool_messages:
        return None
    try:
        found = json.loads(str(tool_messages[-1].get("content", "")))
    except (ValueError, RecursionError):
        return {}  # "Error: …": the ERP does not know the vendor
    return found if isinstance(found, dict) and found.get("name") else {}


def _value(name: str, schema: dict[str, Any], text: str, vendor: dict[str, Any] | None = None) -> Any:
    kind = schema.get("type", "string")
    enum = schema.get("enum")
    choices = [str(c) for c in enum] if isinstance(enum, list) else []
    amount = _amount(text)
    category = _category(text)
    if name == "vendor":
        return str(vendor["name"]) if vendor else _vendor(text)
    if name in ("amount", "total"):
        return float(amount) if kind != "integer" else int(amount)
    if name == "category":
        return _choose(category[0], choices)
    # A blocked vendor, or one the ERP does not know (looked up, not found), is not paid unchecked.
    blocked = vendor == {} or bool(vendor and vendor.get("status") == "blocked")
    usual = amount <= category[1] and not blocked
    if name in ("recommendation", "path") and choices:
        return _advise(usual, choices)
    if name == "recommendation":
        return "approve" if usual else "reject"
    if name == "reason":
        if amount <= category[1]:
            reason = f"The amount of {amount:,.2f} is typical for {category[0]}."
        else:
            reason = f"The amount of {amount:,.2f} is unusually high for {category[0]} (usually up to {category[1]:,.0f})."
        return reason + _vendor_words(vendor)
    empty: dict[str, Any] = {"number": 0, "integer": 0, "boolean": False, "array": [], "object": {}}
    return empty.get(kind, choices[0] if choices else "") if isinstance(kind, str) else ""


def _vendor_words(vendor: dict[str, Any] | None) -> str:
    if vendor is None:
        return ""
    if not vendor:
        return " The vendor is not in the ERP: check who they are before paying."
    return f" The ERP lists {vendor['name']} as {vendor.get('status') or 'known'} ({vendor.get('payment_terms') or 'no terms'})."


def _advise(usual: bool, choices: list[str]) -> str:
    """The first choice that goes ahead when ``usual``, else the first cautious one ("Needs review", "reject")."""
    cautious = [c for c in choices if _CAUTIOUS.search(c)]
    ahead = [c for c in choices if c not in cautious]
    return ((ahead if usual else cautious) or choices)[0]


def _choose(value: str, choices: list[str]) -> str:
    if not choices or value in choices:
        return value
    return "Other" if "Other" in choices else choices[0]


def _vendor(text: str) -> str:
    found = _VENDOR.search(text) or _COMPANY.search(text) or _SENT_BY.search(text)
    return found.group(1).strip()[:200] if found else "Unknown vendor"


def _amount(text: str) -> Decimal:
    found = _TOTAL.search(text)
    candidates = [found.group(1)] if found else _NUMBER.findall(text)
    amounts = []
    for raw in candidates:
        try:
            amounts.append(Decimal(raw.replace(",", "").replace(" ", "")))
        except InvalidOperation:
            continue
    return max(amounts, default=Decimal(0))


def _category(text: str) -> tuple[str, Decimal]:
    lowered = text.lower()
    for name, words, usual in CATEGORIES:
        if any(word in lowered for word in words):
            return name, usual
    return "Other", OTHER_LIMIT
