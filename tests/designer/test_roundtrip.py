"""The panel writes exactly what the compiler reads.

Each test goes the way a person does: the panel is loaded for an element (the view
renders the form from the XML), the form is posted back as a browser would post it,
and the payload the view answers with is applied to the XML the way panel.js applies
it to the canvas (``designer.diagram.apply_payload``). The result is compiled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from lxml import etree

from designer.diagram import Diagram, apply_payload, timer
from orchestration.bpmn.compiler import compile_bpmn
from orchestration.definitions import create_workflow
from tests import bpmn

pytestmark = pytest.mark.django_db

SHOWCASE = (Path(__file__).resolve().parents[2] / "orchestration/fixtures/purchase_approval.bpmn").read_text()
CONTRACT_REVIEW = (
    Path(__file__).resolve().parents[2] / "orchestration/fixtures/contract_review.bpmn"
).read_text()


@pytest.fixture
def designer() -> Client:
    owner = get_user_model().objects.create_user("dana")
    for name in ("Employees", "Finance", "Procurement"):
        Group.objects.create(name=name)
    create_workflow("purchase", "Purchase approval", SHOWCASE, owner=owner)
    client = Client()
    client.force_login(owner)
    return client


def browser_values(html: str) -> list[tuple[str, str]]:
    """What a browser posts for the panel's form: enabled fields only, row templates left out."""
    document = lxml.html.fromstring(html)
    for template in document.xpath("//template"):
        template.getparent().remove(template)
    (form,) = document.xpath("//form[@data-baton-panel-form]")
    return list(form.form_values())


def load(client: Client, xml: str, element: str) -> list[tuple[str, str]]:
    response = client.post(reverse("designer:panel", args=["purchase"]), {"xml": xml, "element": element})
    assert response.status_code == 200
    return browser_values(response.content.decode())


def submit(client: Client, xml: str, values: list[tuple[str, str]]) -> dict[str, Any]:
    """Post the panel's form; return the payload of a valid answer (fail on an invalid one)."""
    data: dict[str, list[str]] = {"xml": [xml]}
    for name, value in values:
        data.setdefault(name, []).append(value)
    response = client.post(reverse("designer:panel-apply", args=["purchase"]), data)
    assert response.status_code == 200
    trigger = response.headers.get("HX-Trigger")
    assert trigger, f"the form was refused: {response.content.decode()[:3000]}"
    payload: dict[str, Any] = json.loads(trigger)["baton:apply"]
    return payload


def applied(xml: str, payload: dict[str, Any]) -> str:
    diagram = Diagram.parse(xml)
    apply_payload(diagram, payload)  # type: ignore[arg-type]
    return diagram.to_xml()


def canonical(xml: str) -> bytes:
    """The document's meaning: C14N sorts attributes and drops formatting differences in tags."""
    root = etree.fromstring(xml.encode())
    for el in root.iter():
        if el.text is not None and not el.text.strip():
            el.text = None
        if el.tail is not None and not el.tail.strip():
            el.tail = None
    return etree.tostring(root, method="c14n")


def change(client: Client, xml: str, element: str, **changes: str | list[str]) -> tuple[dict[str, Any], str]:
    """Load the element's panel, change some fields, apply; the payload and the new XML."""
    values = [(k, v) for k, v in load(client, xml, element) if k not in changes]
    for name, value in changes.items():
        values += [(name, v) for v in ([value] if isinstance(value, str) else value)]
    payload = submit(client, xml, values)
    return payload, applied(xml, payload)


def test_every_showcase_element_reapplied_unchanged_keeps_the_file_byte_for_meaning(designer: Client) -> None:
    original = compile_bpmn(SHOWCASE)
    assert original.ok
    ids = ["", *original.graph["nodes"], *original.graph["flows"]]  # type: ignore[index]
    xml = SHOWCASE
    for element in ids:
        payload = submit(designer, xml, load(designer, xml, element))
        xml = applied(xml, payload)
        assert canonical(xml) == canonical(SHOWCASE), (
            f"re-applying {element or 'the process'} changed the file"
        )
    assert compile_bpmn(xml).graph == original.graph


def test_payloads_of_unchanged_forms_state_every_setting_they_own(designer: Client) -> None:
    approval = submit(designer, SHOWCASE, load(designer, SHOWCASE, "Task_manager_approval"))
    assert approval == {
        "element": "Task_manager_approval",
        "name": "Manager approval",
        "attrs": {
            "baton:assigneeRule": "authority_chain",
            "baton:assignee": None,
            "baton:assigneeExpression": None,
            "baton:candidateGroups": None,
            "baton:quorum": None,
            "baton:amount": "amount",
            "baton:dueIn": "P2D",
            "baton:reminderIn": "P1D",
            "baton:escalateTo": "Finance",
            "baton:resultVariable": "approval",
        },
        "extensions": {"formField": []},  # the approver fills in nothing
        "loop": None,  # runs once (For each is off)
    }
    notify = submit(designer, SHOWCASE, load(designer, SHOWCASE, "Task_notify_rejection"))
    assert notify["extensions"] == {
        "property": [],
        "input": [
            {"name": "to", "expression": "initiator"},
            {"name": "subject", "expression": '"Your purchase request for " + item + " was rejected"'},
            {"name": "body", "expression": '"Reason given: " + approval.comment'},
        ],
    }
    flow = submit(designer, SHOWCASE, load(designer, SHOWCASE, "Flow_no"))
    assert flow == {"element": "Flow_no", "name": "No", "isDefault": True, "condition": ""}


def test_contract_review_approvals_reapplied_unchanged_keep_their_approvers_from_data(
    designer: Client,
) -> None:
    xml = CONTRACT_REVIEW
    for element in ("Task_centre_approval", "Task_legal_approval", "Task_sign_on_paper"):
        payload = submit(designer, xml, load(designer, xml, element))
        xml = applied(xml, payload)
        assert canonical(xml) == canonical(CONTRACT_REVIEW), f"re-applying {element} changed the file"
    centre = submit(designer, xml, load(designer, xml, "Task_centre_approval"))["attrs"]
    assert (centre["baton:assigneeRule"], centre["baton:assigneeExpression"]) == (
        "group_from_data",
        '"Cost centre " + centre',
    )


def test_approval_changed_to_the_person_named_in_the_data_compiles_to_that_rule(designer: Client) -> None:
    payload, xml = change(
        designer,
        CONTRACT_REVIEW,
        "Task_centre_approval",
        assignee_rule="from_data",
        assignee_expression='"manager"',
    )

    assert payload["attrs"]["baton:assigneeRule"] == "from_data"
    config = compile_bpmn(xml).graph["nodes"]["Task_centre_approval"]["config"]  # type: ignore[index]
    assert (config["assignee_rule"], config["assignee_expression"]) == ("from_data", '"manager"')


def test_approval_changed_to_a_group_queue_compiles_to_that_group(designer: Client) -> None:
    payload, xml = change(
        designer,
        SHOWCASE,
        "Task_manager_approval",
        assignee_rule="group",
        candidate_groups=["Finance", "Procurement"],
        quorum="all",
        due_count="3",
        due_unit="hours",
        reminder_count="",
        escalate_to="",
    )
    assert payload["attrs"]["baton:candidateGroups"] == "Finance,Procurement"
    config = compile_bpmn(xml).graph["nodes"]["Task_manager_approval"]["config"]  # type: ignore[index]
    assert config["assignee_rule"] == "group"
    assert config["groups"] == ["Finance", "Procurement"]
    assert config["quorum"] == "all"
    assert config["due_in"] == "PT3H"
    assert config["reminder_in"] == "" and config["escalate_to"] == ""


def test_builder_condition_and_default_path_compile_as_a_decision(designer: Client) -> None:
    # "Yes" becomes the default, "No" gets a condition written with the builder.
    _, xml = change(designer, SHOWCASE, "Flow_yes", is_default="on")
    payload, xml = change(
        designer,
        xml,
        "Flow_no",
        is_default=[],
        condition_mode="builder",
        field="amount",
        operator="gt",
        value="1000",
    )
    assert payload["condition"] == "amount > 1000.0" and payload["isDefault"] is False
    result = compile_bpmn(xml)
    assert result.ok, result.errors
    graph = result.graph
    assert graph["nodes"]["Gateway_within_authority"]["config"]["default"] == "Flow_yes"  # type: ignore[index]
    assert graph["flows"]["Flow_no"]["condition"] == "amount > 1000.0"  # type: ignore[index]
    assert graph["flows"]["Flow_yes"]["condition"] is None  # type: ignore[index]


def test_automated_step_settings_and_mappings_compile_to_the_connector_config(designer: Client) -> None:
    payload, xml = change(
        designer,
        SHOWCASE,
        "Task_place_order",
        **{
            "config-procurement-create-order-url": "https://erp.example.com/orders",
            "retries": "5",
            "retry_backoff": "1.5",
            "outputs-1-name": "order_status",
            "outputs-1-expression": "result.status",
            "outputs-1-type": "string",
            "outputs-TOTAL_FORMS": "2",
        },
    )
    assert payload["extensions"]["property"] == [{"name": "url", "value": "https://erp.example.com/orders"}]
    result = compile_bpmn(xml)
    assert result.ok, result.errors
    config = result.graph["nodes"]["Task_place_order"]["config"]  # type: ignore[index]
    assert config["properties"] == {"url": "https://erp.example.com/orders"}
    assert config["retries"] == 5 and config["retry_backoff"] == 1.5
    assert config["outputs"] == {"order_id": "result.order_id", "order_status": "result.status"}
    assert result.graph["variables"]["order_status"] == "string"  # type: ignore[index]


def test_notify_text_with_variables_compiles_to_a_cel_string(designer: Client) -> None:
    _, xml = change(
        designer,
        SHOWCASE,
        "Task_notify_requester",
        to="{{initiator}}, finance@example.com",
        subject="Order {{order_id}} for {{amount}} {{currency}}",
    )
    inputs = compile_bpmn(xml).graph["nodes"]["Task_notify_requester"]["config"]["inputs"]  # type: ignore[index]
    assert inputs["to"] == '[initiator, "finance@example.com"]'
    assert inputs["subject"] == '"Order " + order_id + " for " + string(amount) + " " + currency'


def test_set_data_rows_compile_to_the_script_map(designer: Client) -> None:
    _, xml = change(
        designer,
        SHOWCASE,
        "Task_auto_approve",
        **{"data-1-name": "total", "data-1-expression": "amount * 1.2", "data-TOTAL_FORMS": "2"},
    )
    result = compile_bpmn(xml)
    assert result.ok, result.errors
    assignments = result.graph["nodes"]["Task_auto_approve"]["config"]["assignments"]  # type: ignore[index]
    assert list(assignments) == ["approval", "total"] and assignments["total"] == "amount * 1.2"
    assert result.graph["variables"]["total"] == "number"  # type: ignore[index]


def _schedule(xml: str) -> tuple[str, str]:
    start = Diagram.parse(xml).find("StartEvent_request")
    assert start is not None
    found = timer(start)
    assert found is not None
    return found["kind"], found["value"]


@pytest.mark.parametrize(
    ("choices", "written", "words"),
    [
        (
            {"schedule_kind": "weekly", "schedule_days": ["1", "3", "5"], "schedule_time": "07:30"},
            ("timeCycle", "30 7 * * 1,3,5"),
            "Starts every Monday, Wednesday and Friday at 07:30 UTC.",
        ),
        (
            {"schedule_kind": "every", "every_count": "2", "every_unit": "hours"},
            ("timeCycle", "R/PT2H"),
            "Starts every 2 hours.",
        ),
        (
            {"schedule_kind": "once", "once_at": "2999-03-01T10:15"},
            ("timeDate", "2999-03-01T10:15:00Z"),
            "Starts once, on 1 Mar 2999, 10:15 UTC.",
        ),
        (
            {"schedule_kind": "advanced", "advanced": "R3/2999-01-01T09:00:00Z/P1D"},
            ("timeCycle", "R3/2999-01-01T09:00:00Z/P1D"),
            "Starts 3 times, every day from 1 Jan 2999, 09:00 UTC.",
        ),
    ],
)
def test_a_schedule_chosen_in_plain_words_is_written_compiled_and_read_back(
    designer: Client, choices: dict[str, str | list[str]], written: tuple[str, str], words: str
) -> None:
    _, xml = change(designer, SHOWCASE, "StartEvent_request", start_kind="schedule", **choices)
    assert _schedule(xml) == written
    config = compile_bpmn(xml).graph["nodes"]["StartEvent_request"]["config"]  # type: ignore[index]
    assert config["timer"]["text"] == written[1]

    shown = load(designer, xml, "StartEvent_request")
    assert [v for k, v in shown if k == "schedule_kind"] == [choices["schedule_kind"]]
    for name, value in choices.items():
        assert [v for k, v in shown if k == name] == (value if isinstance(value, list) else [value])
    response = designer.post(
        reverse("designer:panel", args=["purchase"]), {"xml": xml, "element": "StartEvent_request"}
    )
    preview = lxml.html.fromstring(response.content).xpath("//*[@data-testid='schedule-preview']")[0]
    assert preview.text_content().strip().startswith(f"{words} Next, if published now: ")
    # Applied again unchanged, the schedule stays as it is.
    assert _schedule(applied(xml, submit(designer, xml, shown))) == written


def _with_timer(cycle: str) -> str:
    """The showcase with its Start scheduled the way Camunda Modeler writes a timer."""
    return SHOWCASE.replace(
        '<bpmn:startEvent id="StartEvent_request" name="Purchase request">',
        '<bpmn:startEvent id="StartEvent_request" name="Purchase request"><bpmn:timerEventDefinition>'
        f'<bpmn:timeCycle xsi:type="bpmn:tFormalExpression">{cycle}</bpmn:timeCycle>'
        "</bpmn:timerEventDefinition>",
    )


@pytest.mark.parametrize(
    ("cycle", "shown"),
    [
        ("R/PT1H", {"schedule_kind": "every", "every_count": "1", "every_unit": "hours"}),
        ("0 9 * * *", {"schedule_kind": "weekly", "schedule_time": "09:00"}),
        ("0 9 1 * *", {"schedule_kind": "advanced", "advanced": "0 9 1 * *"}),
        ("R2/PT1H", {"schedule_kind": "advanced", "advanced": "R2/PT1H"}),
    ],
)
def test_a_camunda_cycle_shows_as_its_plain_choice_or_in_the_advanced_box(
    designer: Client, cycle: str, shown: dict[str, str]
) -> None:
    values = dict(load(designer, _with_timer(cycle), "StartEvent_request"))
    assert values["start_kind"] == "schedule"
    assert {name: values.get(name) for name in shown} == shown


def test_a_schedule_that_cannot_run_is_refused_in_the_panel(designer: Client) -> None:
    for choices, why in (
        ({"schedule_kind": "advanced", "advanced": "R/PT0S"}, "repeats every 0 seconds"),
        ({"schedule_kind": "once", "once_at": "2020-01-01T09:00"}, "That moment has passed"),
        ({"schedule_kind": "weekly", "schedule_time": "09:00"}, "Choose at least one day"),
        ({"schedule_kind": "every", "every_count": ""}, "Say how often"),
    ):
        values = [
            (k, v)
            for k, v in load(designer, SHOWCASE, "StartEvent_request")
            if k not in {"start_kind", "schedule_days", *choices}
        ]
        values += [("start_kind", "schedule"), *choices.items()]
        data: dict[str, list[str]] = {"xml": [SHOWCASE]}
        for name, value in values:
            data.setdefault(name, []).append(value)
        response = designer.post(reverse("designer:panel-apply", args=["purchase"]), data)
        assert response.status_code == 200 and "HX-Trigger" not in response.headers
        assert why in response.content.decode(), why


def test_the_schedule_preview_follows_what_is_typed(designer: Client) -> None:
    def says(**posted: str) -> str:
        answer = designer.post(
            reverse("designer:panel-check", args=["purchase"]), {"check": "schedule", **posted}
        )
        assert answer.status_code == 200
        return str(lxml.html.fromstring(f"<div>{answer.content.decode()}</div>").text_content())

    assert says(schedule_kind="advanced", advanced="*/15 * * * *").startswith(
        "Starts every 15 minutes. Next, if published now:"
    )
    assert "repeats by months or years" in says(schedule_kind="advanced", advanced="R/P1M")
    assert says(schedule_kind="every", every_count="100000", every_unit="weeks") == (
        '"P100000W" is longer than 100 years.'
    )
    assert says(schedule_kind="once", once_at="31 Feb") == "Enter a valid date/time."


def test_start_switches_between_form_schedule_event_and_webhook(designer: Client) -> None:
    _, scheduled = change(designer, SHOWCASE, "StartEvent_request", start_kind="schedule")
    node = compile_bpmn(scheduled).graph["nodes"]["StartEvent_request"]  # type: ignore[index]
    # The schedule's first choice as offered: weekdays at 9:00.
    assert node["config"]["trigger"] == "timer" and node["config"]["cron"] == "0 9 * * 1-5"
    assert [f["name"] for f in node["config"]["fields"]] == ["item", "amount", "currency", "justification"]

    payload, on_event = change(
        designer, scheduled, "StartEvent_request", start_kind="event", message_name="po-created"
    )
    assert payload["message"] == {"name": "po-created"}
    result = compile_bpmn(on_event)
    assert result.graph["nodes"]["StartEvent_request"]["config"]["trigger"] == "message"  # type: ignore[index]
    assert result.graph["messages"] == ["po-created"]  # type: ignore[index]

    _, webhook = change(
        designer,
        on_event,
        "StartEvent_request",
        **{
            "start_kind": "webhook",
            "payload-0-name": "item",
            "payload-0-expression": "payload.item",
            "payload-TOTAL_FORMS": "1",
        },
    )
    config = compile_bpmn(webhook).graph["nodes"]["StartEvent_request"]["config"]  # type: ignore[index]
    assert config["trigger"] == "none" and config["inputs"] == {"item": "payload.item"}

    _, form = change(designer, webhook, "StartEvent_request", start_kind="form")
    config = compile_bpmn(form).graph["nodes"]["StartEvent_request"]["config"]  # type: ignore[index]
    assert config["trigger"] == "none" and config["inputs"] == {}


def test_form_fields_edited_in_rows_compile_to_typed_variables(designer: Client) -> None:
    values = [
        (k, v) for k, v in load(designer, SHOWCASE, "StartEvent_request") if not k.startswith("fields-3-")
    ]
    values = [(k, "4" if k == "fields-TOTAL_FORMS" else v) for k, v in values]  # row 3 removed: a gap
    values += [
        ("fields-4-name", "needed_by"),
        ("fields-4-label", "Needed by"),
        ("fields-4-type", "date"),
        ("fields-4-required", "on"),
        ("fields-TOTAL_FORMS", "5"),
    ]
    xml = applied(SHOWCASE, submit(designer, SHOWCASE, values))
    result = compile_bpmn(xml)
    assert result.ok, result.errors
    fields = result.graph["nodes"]["StartEvent_request"]["config"]["fields"]  # type: ignore[index]
    assert [(f["name"], f["type"], f["required"]) for f in fields] == [
        ("item", "string", True),
        ("amount", "money", True),
        ("currency", "choice", True),
        ("needed_by", "date", True),
    ]
    assert "justification" not in result.graph["variables"]  # type: ignore[index]


WAITS = bpmn.definitions(
    bpmn.start("start", bpmn.field("order_id")),
    bpmn.wait_timer("wait", "PT1H", name="Cool down"),
    bpmn.end("end"),
    *bpmn.chain("start", "wait", "end"),
)


def test_wait_switches_between_duration_date_and_message(designer: Client) -> None:
    _, later = change(designer, WAITS, "wait", wait_kind="duration", wait_count="2", wait_unit="days")
    assert compile_bpmn(later).graph["nodes"]["wait"]["config"] == {"duration": "P2D"}  # type: ignore[index]

    _, dated = change(designer, later, "wait", wait_kind="date", wait_date="2026-12-24T09:00:00+00:00")
    assert compile_bpmn(dated).graph["nodes"]["wait"]["config"] == {"date": "2026-12-24T09:00:00+00:00"}  # type: ignore[index]

    _, on_message = change(
        designer,
        dated,
        "wait",
        wait_kind="message",
        message_name="payment-received",
        correlation_key="order_id",
    )
    node = compile_bpmn(on_message).graph["nodes"]["wait"]  # type: ignore[index]
    assert node["kind"] == "message_catch"
    assert node["config"] == {
        "message": "payment-received",
        "correlation_key": "order_id",
        "message_fields": [],
    }

    _, back = change(designer, on_message, "wait", wait_kind="duration", wait_count="30", wait_unit="minutes")
    node = compile_bpmn(back).graph["nodes"]["wait"]  # type: ignore[index]
    assert node == {**node, "kind": "timer_catch", "config": {"duration": "PT30M"}}
    assert "correlationKey" not in back


def test_what_a_wait_for_a_message_carries_compiles_to_typed_variables(designer: Client) -> None:
    _, on_message = change(
        designer,
        WAITS,
        "wait",
        **{
            "wait_kind": "message",
            "message_name": "payment-received",
            "correlation_key": "order_id",
            "carries-0-name": "paid_amount",
            "carries-0-type": "number",
            "carries-0-required": "on",
            "carries-1-name": "lines",
            "carries-1-type": "list",
            "carries-TOTAL_FORMS": "2",
        },
    )
    result = compile_bpmn(on_message)
    assert result.ok, result.errors
    carried = result.graph["nodes"]["wait"]["config"]["message_fields"]  # type: ignore[index]
    assert [(f["name"], f["type"], f["required"]) for f in carried] == [
        ("paid_amount", "number", True),
        ("lines", "list", False),
    ]
    assert result.graph["variables"]["paid_amount"] == "number"  # type: ignore[index]
    # The panel reads the rows back as they were written.
    assert ("carries-0-name", "paid_amount") in load(designer, on_message, "wait")

    _, back = change(designer, on_message, "wait", wait_kind="duration", wait_count="30", wait_unit="minutes")
    assert "messageField" not in back


def _start_panel(client: Client, xml: str) -> lxml.html.HtmlElement:
    response = client.post(
        reverse("designer:panel", args=["purchase"]), {"xml": xml, "element": "StartEvent_request"}
    )
    assert response.status_code == 200
    return lxml.html.fromstring(response.content.decode())


def _form_fields_shown_for(page: lxml.html.HtmlElement) -> str:
    """The start kinds the "Form fields" rows show for ("" when shown for every kind)."""
    (section,) = page.xpath("//section[@data-baton-rows='fields']/..")
    return str(section.get("data-baton-show", ""))


def test_what_a_message_start_carries_compiles_and_a_message_start_shows_no_form(designer: Client) -> None:
    plain = re_start_without_fields(SHOWCASE)
    assert _form_fields_shown_for(_start_panel(designer, plain)) == "start_kind=form|schedule|webhook"
    _, on_event = change(
        designer,
        plain,
        "StartEvent_request",
        **{
            "start_kind": "event",
            "message_name": "po-created",
            "carries-0-name": "item",
            "carries-0-type": "string",
            "carries-0-required": "on",
            "carries-1-name": "amount",
            "carries-1-type": "number",
            "carries-2-name": "currency",
            "carries-2-type": "string",
            "carries-TOTAL_FORMS": "3",
        },
    )
    result = compile_bpmn(on_event)
    assert result.ok, result.errors
    config = result.graph["nodes"]["StartEvent_request"]["config"]  # type: ignore[index]
    assert [(f["name"], f["type"]) for f in config["message_fields"]] == [
        ("item", "string"),
        ("amount", "number"),
        ("currency", "string"),
    ]
    assert config["fields"] == []
    page = _start_panel(designer, on_event)
    assert "What the message carries" in page.text_content()

    _, to_form = change(designer, on_event, "StartEvent_request", start_kind="form")
    assert "messageField" not in to_form


def test_a_message_start_saved_with_form_fields_still_shows_them(designer: Client) -> None:
    _, on_event = change(
        designer, SHOWCASE, "StartEvent_request", start_kind="event", message_name="po-created"
    )
    assert _form_fields_shown_for(_start_panel(designer, on_event)) == ""


def re_start_without_fields(xml: str) -> str:
    """The showcase with a Start that has no form fields (its later blocks then read undeclared names)."""
    diagram = Diagram.parse(xml)
    start = diagram.find("StartEvent_request")
    assert start is not None
    for ext in start.findall("{http://www.omg.org/spec/BPMN/20100524/MODEL}extensionElements"):
        start.remove(ext)
    return diagram.to_xml()


def test_end_outcome_and_names_are_written_where_the_compiler_reads_them(designer: Client) -> None:
    _, xml = change(designer, SHOWCASE, "EndEvent_rejected", name="Turned down", outcome="declined")
    node = compile_bpmn(xml).graph["nodes"]["EndEvent_rejected"]  # type: ignore[index]
    assert node["name"] == "Turned down" and node["config"] == {"outcome": "declined"}
    _, renamed = change(designer, SHOWCASE, "", name="Purchase request approval")
    assert compile_bpmn(renamed).graph["name"] == "Purchase request approval"  # type: ignore[index]


def test_a_name_broken_over_lines_by_the_label_editor_is_kept_when_unchanged(designer: Client) -> None:
    xml = SHOWCASE.replace(
        'name="Within requester\'s authority?"', 'name="Within requester\'s&#10;authority?"'
    )
    payload = submit(designer, xml, load(designer, xml, "Gateway_within_authority"))
    assert payload["name"] == "Within requester's authority?"
    kept = Diagram.parse(applied(xml, payload)).find("Gateway_within_authority")
    assert kept is not None and kept.get("name") == "Within requester's\nauthority?"
    renamed = Diagram.parse(applied(xml, {**payload, "name": "Covered?"})).find("Gateway_within_authority")
    assert renamed is not None and renamed.get("name") == "Covered?"
