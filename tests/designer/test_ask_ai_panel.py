"""The Ask AI block: its palette entry, its panel, and its answer fields as typed values for later blocks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from designer import panels
from designer.panels.ask_ai import AskAIForm
from designer.panels.automated_step import AutomatedStepForm
from orchestration.bpmn.compiler import compile_bpmn
from orchestration.engine import blocks
from orchestration.models import Connection
from tests import bpmn
from tests.designer.test_forms import bound, context, errors_of, rows
from tests.designer.test_scope import scope

TRIAGE = (Path(__file__).resolve().parents[2] / "orchestration/fixtures/invoice_triage.bpmn").read_text()


def test_the_palette_offers_ask_ai_as_an_automated_step_running_the_ai_connector() -> None:
    entry = next(b for b in blocks.palette()["blocks"] if b["key"] == "ask_ai")
    assert entry["label"] == "Ask AI"
    assert entry["type"] == "bpmn:ServiceTask"
    assert entry["attrs"] == {"baton:connector": "ai.ask"}


def test_a_step_running_the_ai_connector_gets_the_ask_ai_panel() -> None:
    triage = context(TRIAGE, "Task_read_invoice").element
    assert panels.form_class(triage) is AskAIForm
    plain = context(bpmn.definitions(bpmn.service("s", "http.request")), "s").element
    assert panels.form_class(plain) is AutomatedStepForm


def test_answer_fields_are_typed_values_with_their_allowed_values_for_later_blocks() -> None:
    at = scope(TRIAGE, "Task_approve_invoice")
    category, amount = at.get("category"), at.get("amount")
    assert category is not None and category.type == "string"
    assert category.choices == ("IT hardware", "Office supplies", "Travel", "Services", "Other")
    assert category.label == "What was bought" and category.origin == "Read the invoice"
    assert amount is not None and amount.type == "number"
    # A Decision after it can test them, checked when the workflow is published.
    ok = TRIAGE.replace(
        'invoice_approval.outcome == "approved"', 'category == "IT hardware" &amp;&amp; amount > 100.0'
    )
    assert compile_bpmn(ok).ok
    wrong = TRIAGE.replace('invoice_approval.outcome == "approved"', 'amount > "100"')
    assert not compile_bpmn(wrong).ok


@pytest.mark.django_db
def test_the_panel_writes_the_instruction_its_values_and_the_answer_fields() -> None:
    Connection.objects.create(name="demo-ai", label="Demo AI", base_url="http://x/v1")
    data = {
        "name": "Read the invoice",
        "connection": "demo-ai",
        "instruction": "Read {{invoice_text}} and say who sent it.",
        "instruction_mode": "text",
        "max_tokens": "300",
        "token_budget": "5000",
        **rows(
            "answers",
            {"name": "vendor", "type": "string", "description": "Who sent it"},
            {"name": "category", "type": "string", "choices": "IT hardware, Travel"},
        ),
        **rows("tools"),
    }
    form = bound(TRIAGE, "Task_read_invoice", data)
    assert form.is_valid(), errors_of(form)
    payload = form.payload()
    assert payload["attrs"]["baton:connector"] == "ai.ask"
    ext = payload["extensions"]
    assert {"name": "instruction", "value": "Read {{invoice_text}} and say who sent it."} in ext["property"]
    assert {"name": "max_tokens", "value": "300"} in ext["property"]
    assert {"name": "token_budget", "value": "5000"} in ext["property"]
    assert ext["input"] == [{"name": "invoice_text", "expression": "invoice_text"}]
    assert ext["answerField"] == [
        {"name": "vendor", "type": "string", "description": "Who sent it"},
        {"name": "category", "type": "string", "choices": "IT hardware,Travel"},
    ]


@pytest.mark.django_db
def test_the_panel_refuses_unknown_values_no_answer_fields_and_allowed_values_on_numbers() -> None:
    Connection.objects.create(name="demo-ai", base_url="http://x/v1")
    data = {"connection": "demo-ai", "instruction": "Read {{invoice}}.", **rows("answers"), **rows("tools")}
    form = bound(TRIAGE, "Task_read_invoice", data)
    assert not form.is_valid()
    assert "{{invoice}} is not a value of the request" in errors_of(form)
    assert "Add at least one answer field" in errors_of(form)
    data = {
        "connection": "demo-ai",
        "instruction": "Read {{invoice_text}}.",
        **rows("answers", {"name": "total", "type": "number", "choices": "1,2"}),
        **rows("tools"),
    }
    form = bound(TRIAGE, "Task_read_invoice", data)
    assert not form.is_valid() and "Only text answers" in errors_of(form)


@pytest.mark.django_db
def test_the_panel_reads_back_what_the_diagram_holds() -> None:
    form = AskAIForm.for_element(context(TRIAGE, "Task_read_invoice"))
    assert form.initial["connection"] == "demo-ai"
    assert form.initial["instruction"].endswith("{{invoice_text}}")
    assert form.initial["max_tokens"] == "400"
    names = [row.initial["name"] for row in form.rows["answers"].forms]
    assert names == ["vendor", "amount", "category", "recommendation", "reason"]


def test_publishing_refuses_an_ask_ai_step_without_server_instruction_or_answer_fields() -> None:
    xml = bpmn.definitions(
        bpmn.start("start"),
        bpmn.service("ask", "ai.ask", name="Ask"),
        bpmn.end(),
        *bpmn.chain("start", "ask", "end"),
    )
    messages = " | ".join(p.message for p in compile_bpmn(xml).errors)
    assert "has no model server" in messages
    assert "has no instruction" in messages
    assert "has no answer fields" in messages
    assert compile_bpmn(TRIAGE).ok


@pytest.mark.django_db
def test_the_panel_offers_tools_in_plain_words_and_writes_them_with_the_limit() -> None:
    Connection.objects.create(name="demo-ai", base_url="http://x/v1")
    Connection.objects.create(name="erp", label="Our ERP", base_url="http://erp")
    form = AskAIForm.for_element(context(TRIAGE, "Task_read_invoice"))
    (row,) = form.rows["tools"].forms
    assert row.initial == {"action": "procurement.look_up_vendor", "connection": "demo-erp"}
    offered = dict(row.fields["action"].choices)  # type: ignore[attr-defined]
    assert offered["procurement.look_up_vendor"] == "Look up vendor in the ERP"
    assert offered["preset:erp.create_order"] == "Create order in ERP"
    assert "ai.ask" not in offered  # asking an AI is not a tool of an AI
    data = {
        "connection": "demo-ai",
        "instruction": "Read {{invoice_text}}.",
        "max_tool_calls": "3",
        **rows("answers", {"name": "vendor", "type": "string"}),
        **rows("tools", {"action": "procurement.look_up_vendor", "connection": "erp"}),
    }
    form = bound(TRIAGE, "Task_read_invoice", data)
    assert form.is_valid(), errors_of(form)
    ext = form.payload()["extensions"]
    assert ext["tool"] == [{"action": "procurement.look_up_vendor", "connection": "erp"}]
    assert {"name": "max_tool_calls", "value": "3"} in ext["property"]

    twice = {**data, **rows("tools", *[{"action": "procurement.look_up_vendor", "connection": "erp"}] * 2)}
    refused = bound(TRIAGE, "Task_read_invoice", twice)
    assert not refused.is_valid() and "A tool is chosen twice" in errors_of(refused)
    unknown = {**data, **rows("tools", {"action": "erp.delete_everything"})}
    assert not bound(TRIAGE, "Task_read_invoice", unknown).is_valid()
    too_many = {**data, "max_tool_calls": "500"}
    assert not bound(TRIAGE, "Task_read_invoice", too_many).is_valid()


def test_publishing_refuses_a_tool_that_does_not_exist_naming_it() -> None:
    unknown = TRIAGE.replace('action="procurement.look_up_vendor"', 'action="erp.delete_everything"')
    messages = " | ".join(p.message for p in compile_bpmn(unknown).errors)
    assert "lets the AI use a tool that does not exist: “erp.delete_everything”." in messages
    graph = compile_bpmn(TRIAGE).graph
    assert graph is not None
    tools = graph["nodes"]["Task_read_invoice"]["config"]["properties"]["tools"]
    assert json.loads(tools) == [{"action": "procurement.look_up_vendor", "connection": "demo-erp"}]


@pytest.mark.django_db
def test_showing_the_answer_to_the_requester_is_off_unless_the_designer_turns_it_on() -> None:
    Connection.objects.create(name="demo-ai", base_url="http://x/v1")
    assert AskAIForm.for_element(context(TRIAGE, "Task_read_invoice")).initial["answer_to_requester"] is False
    assert "answer_to_requester" not in compile_bpmn(TRIAGE).graph["nodes"]["Task_read_invoice"]["config"]
    data = {
        "connection": "demo-ai",
        "instruction": "Read {{invoice_text}}.",
        **rows("answers", {"name": "vendor", "type": "string"}),
        **rows("tools"),
    }
    off = bound(TRIAGE, "Task_read_invoice", data)
    assert off.is_valid(), errors_of(off)
    assert off.payload()["attrs"]["baton:answerToRequester"] is None  # the attribute is removed
    on = bound(TRIAGE, "Task_read_invoice", {**data, "answer_to_requester": "on"})
    assert on.is_valid(), errors_of(on)
    assert on.payload()["attrs"]["baton:answerToRequester"] is True

    shown = TRIAGE.replace(
        'baton:connector="ai.ask"', 'baton:connector="ai.ask" baton:answerToRequester="true"'
    )
    assert AskAIForm.for_element(context(shown, "Task_read_invoice")).initial["answer_to_requester"] is True
    assert compile_bpmn(shown).graph["nodes"]["Task_read_invoice"]["config"]["answer_to_requester"] is True


@pytest.mark.django_db
def test_model_servers_come_before_connections_that_name_no_model() -> None:
    Connection.objects.create(name="a-erp", label="Our ERP", base_url="http://erp")
    Connection.objects.create(
        name="demo-ai", label="Demo AI", base_url="http://x/v1", settings={"model": "m"}
    )

    form = AskAIForm.for_element(context(TRIAGE, "Task_read_invoice"))

    offered = list(form.fields["connection"].choices)  # type: ignore[attr-defined]
    assert offered[:3] == [("", "Choose…"), ("demo-ai", "Demo AI"), ("a-erp", "Our ERP (names no model)")]
