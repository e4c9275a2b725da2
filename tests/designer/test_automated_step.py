"""The Automated step panel: what the step does, one field per declared input, what it gives back."""

from __future__ import annotations

import json
from typing import Any

import lxml.html
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from orchestration import connections
from orchestration.bpmn.compiler import compile_bpmn
from orchestration.definitions import create_workflow
from orchestration.models import Connection
from tests import bpmn

pytestmark = pytest.mark.django_db

ORDER = bpmn.definitions(
    bpmn.start(
        "start",
        bpmn.field("item", required=True),
        bpmn.field("cost", "number", required=True),
        bpmn.field("currency", required=True),
        bpmn.field("urgent", "boolean"),
    ),
    bpmn.service("order", "procurement.create_order", name="", preset="erp.create_order"),
    bpmn.gateway("check", default="f_small"),
    bpmn.end("big"),
    bpmn.end("small"),
    *bpmn.chain("start", "order", "check"),
    bpmn.flow("check", "big", id="f_big", condition="cost > 1000.0"),
    bpmn.flow("check", "small", id="f_small"),
)


@pytest.fixture
def owner() -> Any:
    user = get_user_model().objects.create_user("dana")
    create_workflow("buy", "Buying", ORDER, owner=user)
    return user


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _panel(user: Any, element: str, xml: str = ORDER) -> Any:
    return _client(user).post(reverse("designer:panel", args=["buy"]), {"xml": xml, "element": element})


def _apply(user: Any, data: dict[str, str], xml: str = ORDER) -> Any:
    posted = {"xml": xml, "element": "order", "name": "Place order", **_no_rows(), **data}
    return _client(user).post(reverse("designer:panel-apply", args=["buy"]), posted)


def _no_rows() -> dict[str, str]:
    return {f"{p}-{k}": "0" for p in ("inputs", "outputs") for k in ("TOTAL_FORMS", "INITIAL_FORMS")}


def _page(response: Any) -> Any:
    assert response.status_code == 200, response.content[:500]
    return lxml.html.fromstring(response.content.decode())


ERP = "action-preset-erp-create-order"


def test_the_first_question_lists_presets_and_connectors_in_plain_words_grouped(owner: Any) -> None:
    page = _page(_panel(owner, "order"))
    (select,) = page.xpath("//select[@name='connector']")
    assert page.xpath(f"//label[@for='{select.get('id')}']")[0].text_content() == "What should this step do?"
    groups = {g.get("label"): [o.text_content() for o in g.xpath("option")] for g in select.xpath("optgroup")}
    assert groups["Buying"] == ["Create order in ERP"]
    assert groups["Tell people"] == ["Post to Slack or Teams"]
    assert groups["Service desk"] == ["Create ticket"]
    assert "HTTP request" in groups["Something else"]
    assert select.xpath("option[@selected]/@value") == [] and select.value == "preset:erp.create_order"


def test_one_field_per_declared_input_with_a_typed_picker_and_required_marked(owner: Any) -> None:
    page = _page(_panel(owner, "order"))
    (erp,) = page.xpath(f"//*[@data-testid='{ERP}']")
    inputs = erp.xpath(".//*[@data-testid='step-input']")
    assert [i.get("data-input") for i in inputs] == [
        "item",
        "amount",
        "currency",
        "requester",
        "justification",
    ]
    labels = [" ".join(i.xpath("./label")[0].text_content().split()) for i in inputs]
    assert labels[0] == "What to buy * (required) · text"
    assert labels[1] == "Amount * (required) · number"
    assert labels[4] == "Reason · text"
    amount = erp.xpath(".//select[@name='in-preset-erp-create-order-amount']")[0]
    offered = {o.text_content() for o in amount.xpath(".//optgroup/option")}
    assert offered == {"Cost (number)"}  # only numbers fit an amount
    assert amount.xpath(".//optgroup/@label") == ["Start"]
    options = [o.text_content() for o in amount.xpath("./option")]
    assert options == ["Choose…", "Type a value…", "Something else (advanced)"]
    item = erp.xpath(".//select[@name='in-preset-erp-create-order-item']")[0]
    assert {o.text_content() for o in item.xpath(".//optgroup/option")} >= {
        "Item (text)",
        "Currency (text)",
        "Who started it (username) (text)",
    }
    outputs = [" ".join(o.text_content().split()) for o in erp.xpath(".//*[@data-testid='step-output']")]
    assert outputs[0].startswith("Order number (text)") and outputs[1].startswith("Order status (text)")


def test_picking_values_writes_the_mapping_and_the_results_for_later_steps(owner: Any) -> None:
    response = _apply(
        owner,
        {
            "connector": "preset:erp.create_order",
            "in-preset-erp-create-order-item": "item",
            "in-preset-erp-create-order-amount": "cost",
            "in-preset-erp-create-order-currency": "=value",
            "in-preset-erp-create-order-currency-value": "EUR",
            "in-preset-erp-create-order-requester": "initiator",
            "out-preset-erp-create-order-order_id": "on",
        },
    )
    payload = json.loads(response["HX-Trigger"])["baton:apply"]
    assert payload["attrs"]["baton:connector"] == "procurement.create_order"
    assert payload["attrs"]["baton:preset"] == "erp.create_order"
    assert payload["extensions"]["input"] == [
        {"name": "item", "expression": "item"},
        {"name": "amount", "expression": "cost"},
        {"name": "currency", "expression": '"EUR"'},
        {"name": "requester", "expression": "initiator"},
    ]
    assert payload["extensions"]["output"] == [
        {"name": "order_id", "expression": "result.order_id", "type": "string"}
    ]
    # Opened again, the panel shows the same picks (nothing to re-type).
    applied = _applied_xml(payload)
    page = _page(_panel(owner, "order", applied))
    assert page.xpath("//select[@name='in-preset-erp-create-order-amount']")[0].value == "cost"
    assert page.xpath("//select[@name='in-preset-erp-create-order-currency']")[0].value == "=value"
    assert page.xpath("//input[@name='in-preset-erp-create-order-currency-value']/@value") == ["EUR"]
    assert compile_bpmn(applied).ok


def _applied_xml(payload: dict[str, Any]) -> str:
    from designer.diagram import Diagram, apply_payload

    diagram = Diagram.parse(ORDER)
    apply_payload(diagram, payload)
    return diagram.to_xml()


def test_a_missing_required_input_or_a_wrong_typed_value_is_refused_in_plain_words(owner: Any) -> None:
    page = _page(
        _apply(
            owner,
            {
                "connector": "preset:erp.create_order",
                "in-preset-erp-create-order-item": "item",
                "in-preset-erp-create-order-amount": "=value",
                "in-preset-erp-create-order-amount-value": "a lot",
            },
        )
    )
    shown = " ".join(page.text_content().split())
    assert "Amount is a number, e.g. 1200." in shown
    assert "Currency is needed: choose where it comes from." in shown
    assert "Ordered for is needed: choose where it comes from." in shown


def test_later_pickers_offer_the_steps_results_typed_under_their_labels(owner: Any) -> None:
    xml = ORDER.replace(
        "<bpmn:serviceTask",
        "<bpmn:serviceTask",
    ).replace(
        'baton:preset="erp.create_order">',
        'baton:preset="erp.create_order"><bpmn:extensionElements>'
        '<baton:output name="order_id" expression="result.order_id" type="string"/>'
        "</bpmn:extensionElements>",
    )
    page = _page(_panel(owner, "f_big", xml))
    names = {o.text_content() for o in page.xpath("//option")}
    assert "Order number (text)" in names, names


def test_the_http_request_asks_for_a_system_a_path_and_what_to_do_with_the_rest_under_advanced(
    owner: Any,
) -> None:
    connection = Connection(name="erp", label="Our ERP", base_url="https://erp.example.com/api")
    connections.store_headers(connection, {"Authorization": "Bearer s3cret-token"})
    connection.save()
    xml = ORDER.replace('baton:preset="erp.create_order"', "").replace(
        "procurement.create_order", "http.request"
    )
    response = _panel(owner, "order", xml)
    assert b"s3cret-token" not in response.content and b"erp.example.com" not in response.content
    page = _page(response)
    (http,) = page.xpath("//*[@data-testid='action-http-request']")
    system = http.xpath(".//select[@name='config-http-request-connection']")[0]
    assert [o.text_content() for o in system.xpath("option")] == ["None: use a full address", "Our ERP"]
    method = http.xpath(".//select[@name='config-http-request-method']")[0]
    assert "Send new information (create)" in [o.text_content() for o in method.xpath("option")]
    (advanced,) = http.xpath(".//details")
    assert advanced.xpath("summary")[0].text_content() == "Advanced"
    assert {e.get("name") for e in advanced.xpath(".//textarea|.//input")} == {
        "config-http-request-headers",
        "config-http-request-timeout",
        "config-http-request-response_path",
    }


def test_a_chat_preset_needs_a_system_and_writes_its_fixed_settings(owner: Any) -> None:
    Connection.objects.create(name="team-chat", label="Team chat", base_url="https://hooks.example.com/T1")
    base = {"connector": "preset:chat.post_message", "in-preset-chat-post-message-text": "=value"}
    page = _page(_apply(owner, {**base, "in-preset-chat-post-message-text-value": "New order"}))
    assert "Choose the system." in " ".join(page.text_content().split())
    response = _apply(
        owner,
        {
            **base,
            "in-preset-chat-post-message-text-value": "New order",
            "system-preset-chat-post-message": "team-chat",
        },
    )
    payload = json.loads(response["HX-Trigger"])["baton:apply"]
    assert payload["attrs"]["baton:connector"] == "http.request"
    assert payload["extensions"]["property"] == [
        {"name": "method", "value": "POST"},
        {"name": "connection", "value": "team-chat"},
    ]
    assert payload["extensions"]["input"] == [{"name": "text", "expression": '"New order"'}]
    assert compile_bpmn(_applied_xml(payload)).ok


SIGN = bpmn.definitions(
    bpmn.start("start", bpmn.field("title"), bpmn.field("party")),
    bpmn.service(
        "sign",
        "esign.send_for_signature",
        name="Send for signature",
        inputs={"document": "title", "counterparty": "party", "signer": "initiator"},
    ),
    bpmn.end("end"),
    bpmn.boundary_error("failed", "sign", code="DECLINED"),
    bpmn.end("declined"),
    *bpmn.chain("start", "sign", "end"),
    bpmn.flow("failed", "declined"),
    errors=("DECLINED",),
)


def test_if_it_fails_offers_the_steps_declared_failures_and_keeps_a_code_under_advanced(owner: Any) -> None:
    page = _page(_panel(owner, "failed", SIGN))
    (choices,) = page.xpath("//fieldset[@data-testid='declared-errors']")
    plain = [" ".join(label.text_content().split()) for label in choices.xpath("./div/label")]
    assert plain == ["Any failure", "The other party declined to sign"]
    assert choices.xpath(".//input[@value='known:DECLINED']/@checked") == ["checked"]
    (advanced,) = choices.xpath("./details")
    assert advanced.xpath("summary")[0].text_content() == "Advanced"
    assert advanced.xpath(".//input[@name='error_code']")

    data = {"xml": SIGN, "element": "failed", "name": "", "role": "error", "error_variable": ""}
    client = _client(owner)
    url = reverse("designer:panel-apply", args=["buy"])
    payload = json.loads(client.post(url, {**data, "error_which": "known:DECLINED"})["HX-Trigger"])
    assert payload["baton:apply"]["error"] == {"code": "DECLINED"}
    typed = {**data, "error_which": "code", "error_code": "EXPIRED"}
    assert json.loads(client.post(url, typed)["HX-Trigger"])["baton:apply"]["error"] == {"code": "EXPIRED"}
    # The step's own panel offers the same choices when adding an "If it fails".
    step = _page(_panel(owner, "sign", SIGN))
    assert step.xpath("//input[@name='events-error_which' and @value='known:DECLINED']")


@pytest.mark.parametrize(
    "posted",
    [
        {"connector": "preset:nope"},
        {"connector": "preset:erp.create_order", "in-preset-erp-create-order-amount": "not_in_scope"},
        {"connector": "preset:erp.create_order", "in-preset-erp-create-order-amount": "=expression"},
        {
            "connector": "preset:erp.create_order",
            "in-preset-erp-create-order-amount": "=expression",
            "in-preset-erp-create-order-amount-expression": 'item + "x"',
        },
        {"connector": "preset:tickets.create", "system-preset-tickets-create": "../../etc"},
    ],
)
def test_malformed_choices_are_refused_in_the_panel_never_a_server_error(
    owner: Any, posted: dict[str, str]
) -> None:
    response = _apply(owner, posted)
    assert response.status_code == 200 and "HX-Trigger" not in response
    assert _page(response).xpath("//*[contains(@class, 'invalid-feedback') or @role='alert']")


def test_a_new_step_picks_the_form_fields_named_like_its_inputs_and_the_requester(owner: Any) -> None:
    xml = bpmn.definitions(
        bpmn.start(
            "start",
            bpmn.field("item", required=True),
            bpmn.field("amount", "money", required=True),
            bpmn.field("currency", "choice", required=True, choices="USD,EUR"),
            bpmn.field("justification", "number"),  # named like an input, but not text
        ),
        '<bpmn:serviceTask id="order" name="" />',
        *bpmn.chain("start", "order"),
    )
    erp = _page(_panel(owner, "order", xml)).xpath(f"//*[@data-testid='{ERP}']")[0]

    def picked(name: str) -> str:
        select = erp.xpath(f".//select[@name='in-preset-erp-create-order-{name}']")[0]
        return "".join(select.xpath(".//option[@selected]/@value"))

    assert [picked(n) for n in ("item", "amount", "currency", "requester", "justification")] == [
        "item",
        "amount",
        "currency",
        "initiator",
        "",
    ]


def test_a_step_that_already_runs_an_action_keeps_its_inputs_as_they_are(owner: Any) -> None:
    erp = _page(_panel(owner, "order")).xpath(f"//*[@data-testid='{ERP}']")[0]
    item = erp.xpath(".//select[@name='in-preset-erp-create-order-item']")[0]
    assert (
        "".join(item.xpath(".//option[@selected]/@value")) == ""
    )  # saved without one: not guessed afterwards
