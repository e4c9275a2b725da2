"""The demo AI service: the chat-completions protocol on the wire, rule-based answers, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

URL = "/demo/ai/v1/chat/completions"
INVOICE = "From: Northwind Computers Ltd\n3 x Laptop @ 1,400.00\nTotal due: USD 4,200.00"
SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "answer",
        "schema": {
            "type": "object",
            "properties": {
                "vendor": {"type": "string"},
                "amount": {"type": "number"},
                "category": {"type": "string", "enum": ["IT hardware", "Travel", "Other"]},
                "recommendation": {"type": "string", "enum": ["approve", "reject"]},
                "reason": {"type": "string"},
                "urgent": {"type": "boolean"},
            },
        },
    },
}


def post(body: Any, key: str | None = "Bearer demo") -> Any:
    headers = {"HTTP_AUTHORIZATION": key} if key else {}
    raw = body if isinstance(body, str) else json.dumps(body)
    return Client().post(URL, raw, content_type="application/json", **headers)


def ask(text: str, response_format: Any = SCHEMA, system: str = "") -> dict[str, Any]:
    messages = [{"role": "system", "content": system}, {"role": "user", "content": text}]
    reply = post({"model": "m", "messages": messages, "response_format": response_format})
    assert reply.status_code == 200
    body = reply.json()
    assert body["object"] == "chat.completion" and body["model"] == "m"
    assert (
        body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    )
    return dict(json.loads(body["choices"][0]["message"]["content"]))


def test_reads_an_invoice_by_rules_the_same_way_every_time() -> None:
    answer = ask(f"Read this:\n{INVOICE}")
    assert answer == {
        "vendor": "Northwind Computers Ltd",
        "amount": 4200.0,
        "category": "IT hardware",
        "recommendation": "approve",
        "reason": "The amount of 4,200.00 is typical for IT hardware.",
        "urgent": False,
    }
    assert ask(f"Read this:\n{INVOICE}") == answer


def test_an_unusual_amount_for_its_category_is_advised_against_and_unknown_categories_are_other() -> None:
    travel = ask("Vendor: SkyHigh Air\nflight to Lisbon\nTotal: 9,800.00")
    assert travel["category"] == "Travel" and travel["recommendation"] == "reject"
    assert "unusually high for Travel (usually up to 5,000)" in travel["reason"]
    cakes = ask("Vendor: Corner Bakery\nCakes for the team\nTotal: 50.00")
    assert (cakes["category"], cakes["recommendation"]) == ("Other", "approve")
    # A category the schema does not offer is answered as "Other".
    paper = ask("Vendor: Paper World\nCopy paper\nTotal: 80.00")
    assert paper["category"] == "Other"


def test_json_mode_answers_the_fields_the_system_message_lists() -> None:
    system = 'Answer with:\n- "vendor": text\n- "category": text'
    answer = ask(INVOICE, {"type": "json_object"}, system)
    assert answer == {"vendor": "Northwind Computers Ltd", "category": "IT hardware"}


@pytest.mark.parametrize(
    ("body", "key", "status"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, None, 401),
        ("not json", "Bearer k", 400),
        ([1, 2], "Bearer k", 400),
        ({"messages": []}, "Bearer k", 400),
        ({"messages": ["text"]}, "Bearer k", 400),
        (
            {
                "messages": [{"role": "user", "content": "x"}],
                "response_format": {"type": "json_schema", "json_schema": "x"},
            },
            "Bearer k",
            200,
        ),
        (
            {
                "messages": [{"role": "user", "content": "x"}],
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"schema": {"properties": {"a": {"type": 3, "enum": 5}}}},
                },
            },
            "Bearer k",
            200,
        ),
        ({"messages": [{"role": "user", "content": None}], "response_format": "json"}, "Bearer k", 200),
    ],
)
def test_malformed_requests_get_a_4xx_or_an_answer_never_a_500(
    body: Any, key: str | None, status: int
) -> None:
    assert post(body, key).status_code == status


LOOKUP_TOOL = {
    "type": "function",
    "function": {
        "name": "procurement_look_up_vendor",
        "parameters": {
            "type": "object",
            "properties": {"vendor": {"type": "string"}},
            "required": ["vendor"],
        },
    },
}


def test_offered_a_vendor_tool_it_calls_it_first_then_answers_with_what_came_back() -> None:
    messages: list[dict[str, Any]] = [{"role": "system", "content": ""}, {"role": "user", "content": INVOICE}]
    first = post(
        {"model": "m", "messages": messages, "response_format": SCHEMA, "tools": [LOOKUP_TOOL]}
    ).json()
    choice = first["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert call["function"]["name"] == "procurement_look_up_vendor"
    assert json.loads(call["function"]["arguments"]) == {"vendor": "Northwind Computers Ltd"}

    record = {
        "vendor_id": "V-1003",
        "name": "Northwind Computers",
        "status": "blocked",
        "payment_terms": "on hold",
    }
    messages += [
        choice["message"],
        {"role": "tool", "tool_call_id": call["id"], "content": json.dumps(record)},
    ]
    second = post(
        {"model": "m", "messages": messages, "response_format": SCHEMA, "tools": [LOOKUP_TOOL]}
    ).json()
    answer = json.loads(second["choices"][0]["message"]["content"])
    assert answer["vendor"] == "Northwind Computers"  # as the ERP spells it
    assert answer["recommendation"] == "reject"  # a blocked vendor is not paid
    assert answer["reason"].endswith("The ERP lists Northwind Computers as blocked (on hold).")

    messages[-1] = {"role": "tool", "tool_call_id": call["id"], "content": "Error: no such vendor"}
    third = post(
        {"model": "m", "messages": messages, "response_format": SCHEMA, "tools": [LOOKUP_TOOL]}
    ).json()
    unknown = json.loads(third["choices"][0]["message"]["content"])
    assert unknown["reason"].endswith("The vendor is not in the ERP: check who they are before paying.")
    assert unknown["recommendation"] == "reject"  # an unknown vendor is not paid unchecked


def test_a_vendor_named_in_a_sentence_is_read() -> None:
    answer = ask("Invoice 4471 from Northwind Traders, 3 USB-C docks, total USD 540.00")
    assert answer["vendor"] == "Northwind Traders"
    assert answer["amount"] == 540.0


DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(
    "body",
    [
        DEEP,
        '{"messages": ' + DEEP + "}",
        {"messages": [{"role": "user", "content": "x"}, {"role": "tool", "content": DEEP}]},
        {"messages": [{"role": "user", "content": "x"}, {"role": "tool", "content": {"name": 5}}]},
        {"messages": [{"role": "user", "content": "x"}], "tools": [1, None, {"function": 3}]},
        {"messages": [{"role": "user", "content": "x"}], "tools": [{"function": {"name": None}}]},
    ],
)
def test_deep_or_odd_bodies_and_tool_messages_get_an_answer_never_a_500(body: Any) -> None:
    reply = post(body)

    assert reply.status_code in (200, 400)


def test_the_path_and_the_advice_follow_the_words_of_the_choices_offered() -> None:
    properties = {
        "path": {"type": "string", "enum": ["Pay now", "Needs review"]},
        "recommendation": {"type": "string", "enum": ["approve", "review"]},
    }
    schema = {"type": "json_schema", "json_schema": {"name": "a", "schema": {"properties": properties}}}
    usual = ask(f"Pay it or review it?\n{INVOICE}", schema)
    assert (usual["path"], usual["recommendation"]) == ("Pay now", "approve")
    # Unusual: the cautious choice, whatever the analyst named it (not the first one offered).
    odd = ask("Pay it or review it?\nVendor: SkyHigh Air\nflight to Lisbon\nTotal: 9,800.00", schema)
    assert (odd["path"], odd["recommendation"]) == ("Needs review", "review")
