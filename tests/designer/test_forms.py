"""The panel's forms and the plain-language CEL they write: conditions, text with {{variables}}, durations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from designer import panels
from designer.cel_builder import (
    NotRepresentable,
    build_condition,
    cel_double,
    cel_string,
    cel_to_recipients,
    cel_to_text,
    parse_condition,
    recipients_to_cel,
    text_to_cel,
)
from designer.diagram import Diagram, apply_payload
from designer.panels.base import PanelContext
from designer.panels.rows import FIELD_TYPES
from designer.scope import Scope, Variable, scope_at
from orchestration import expressions
from orchestration.bpmn.compiler import compile_bpmn
from orchestration.durations import duration_to_iso, iso_to_duration
from orchestration.models import Workflow
from tests import bpmn

SHOWCASE = (Path(__file__).resolve().parents[2] / "orchestration/fixtures/purchase_approval.bpmn").read_text()

SCOPE = Scope(
    (
        Variable("initiator", "string", "Built in"),
        Variable("amount", "number", "Start"),
        Variable("count", "integer", "Start"),
        Variable("item", "string", "Start"),
        Variable("currency", "string", "Start", choices=("USD", "EUR")),
        Variable("urgent", "boolean", "Start"),
        Variable("needed_by", "date", "Start"),
        Variable("approval", "map", "Approve"),
        Variable("approval.outcome", "string", "Approve", choices=("approved", "rejected")),
        Variable("approval.comment", "string", "Approve"),
        Variable("extra", "dyn", "Check"),
    )
)


# --- strings, numbers, conditions


@pytest.mark.parametrize("text", ['say "hi"', "back\\slash", "two\nlines\tand tab", "", "{{not a variable}}"])
def test_cel_strings_read_back_as_the_same_text(text: str) -> None:
    assert expressions.evaluate(cel_string(text), {}, {}) == text


def test_numbers_are_written_as_doubles() -> None:
    assert cel_double(1000) == "1000.0"
    assert cel_double(0.1) == "0.1"
    assert expressions.type_of(cel_double(1e20), {}) == "number"
    with pytest.raises(ValueError):
        cel_double(float("inf"))


@pytest.mark.parametrize(
    ("name", "op", "value", "cel"),
    [
        ("amount", "gt", "1,000", "amount > 1000.0"),
        ("amount", "le", "99.5", "amount <= 99.5"),
        ("count", "ge", "3", "count >= 3"),
        ("item", "eq", 'a "quoted" word', 'item == "a \\"quoted\\" word"'),
        ("item", "contains", "laptop", 'item.contains("laptop")'),
        ("item", "starts", "IT-", 'item.startsWith("IT-")'),
        ("currency", "in", "USD, EUR", 'currency in ["USD", "EUR"]'),
        ("currency", "ne", "EUR", 'currency != "EUR"'),
        ("urgent", "true", "", "urgent"),
        ("urgent", "false", "", "!urgent"),
        ("needed_by", "before", "2026-12-31", 'needed_by < "2026-12-31"'),
        ("approval.outcome", "eq", "approved", 'approval.outcome == "approved"'),
    ],
)
def test_the_builder_writes_cel_that_checks_and_reads_back(name: str, op: str, value: str, cel: str) -> None:
    variable = SCOPE.get(name)
    assert variable is not None
    assert build_condition(variable, op, value) == cel
    expressions.check(cel, SCOPE.types(), expect="bool")
    parsed = parse_condition(cel, SCOPE)
    assert parsed is not None and parsed[:2] == (name, op)
    assert build_condition(variable, *parsed[1:]) == cel


@pytest.mark.parametrize(
    ("name", "op", "value", "message"),
    [
        ("amount", "gt", "lots", "is not a number"),
        ("count", "gt", "1.5", "is not a whole number"),
        ("currency", "eq", "JPY", "Choose one of: USD, EUR"),
        ("needed_by", "after", "next week", "is not a date"),
        ("urgent", "gt", "1", "Choose how to compare"),
        ("amount", "contains", "1", "Choose how to compare"),
        ("item", "eq", "  ", "Give a value"),
    ],
)
def test_the_builder_refuses_values_that_do_not_fit(name: str, op: str, value: str, message: str) -> None:
    variable = SCOPE.get(name)
    assert variable is not None
    with pytest.raises(ValidationError, match=message):
        build_condition(variable, op, value)


@pytest.mark.parametrize(
    "cel",
    [
        "amount > 1000",  # an int literal: the builder would write 1000.0
        "amount>1000.0",  # spaced differently from what the builder writes
        "amount > 1000.0 && urgent",
        "unknown > 1.0",
        'item.contains("a") || urgent',
        'currency in ["USD", "a,b"]',
    ],
)
def test_conditions_the_builder_did_not_write_stay_in_cel(cel: str) -> None:
    assert parse_condition(cel, SCOPE) is None


# --- text with {{variables}}


def test_text_with_variables_becomes_a_cel_string_and_back() -> None:
    text = "Order {{item}} for {{ amount }} is {{approval.outcome}}: {{approval.comment}}"
    cel = text_to_cel(text, SCOPE)
    assert (
        cel
        == '"Order " + item + " for " + string(amount) + " is " + approval.outcome + ": " + approval.comment'
    )
    assert expressions.type_of(cel, SCOPE.types()) in ("string", "dyn")
    assert (
        cel_to_text(cel, SCOPE)
        == "Order {{item}} for {{amount}} is {{approval.outcome}}: {{approval.comment}}"
    )
    assert text_to_cel("", SCOPE) == '""' and text_to_cel("{{item}}", SCOPE) == "item"


def test_text_refuses_unknown_variables_and_records() -> None:
    with pytest.raises(ValidationError, match="not a variable set before this step"):
        text_to_cel("Hi {{nobody}}", SCOPE)
    with pytest.raises(ValidationError, match="record"):
        text_to_cel("All: {{approval}}", SCOPE)


@pytest.mark.parametrize(
    "cel",
    ['"a" + amount', "amount * 2.0", '"{{x}}" + item', 'item + "b"+ "c"', "'single'", 'string(item) + "x"'],
)
def test_expressions_text_cannot_write_back_exactly_stay_expressions(cel: str) -> None:
    with pytest.raises(NotRepresentable):
        cel_to_text(cel, SCOPE)


def test_recipients_are_usernames_addresses_or_variables() -> None:
    assert recipients_to_cel("{{initiator}}", SCOPE) == "initiator"
    assert (
        recipients_to_cel("{{initiator}}, finance@example.com", SCOPE) == '[initiator, "finance@example.com"]'
    )
    assert (
        cel_to_recipients('[initiator, "finance@example.com"]', SCOPE) == "{{initiator}}, finance@example.com"
    )
    assert cel_to_recipients('"bob"', SCOPE) == "bob"
    with pytest.raises(ValidationError, match="at least one recipient"):
        recipients_to_cel(" , ", SCOPE)
    with pytest.raises(NotRepresentable):
        cel_to_recipients('initiator + "@example.com"', SCOPE)


# --- durations and field types


@pytest.mark.parametrize(
    ("iso", "pair"),
    [
        ("P2D", (2, "days")),
        ("PT36H", (36, "hours")),
        ("P1DT4H", (28, "hours")),
        ("P2W", (2, "weeks")),
        ("PT90M", (90, "minutes")),
        ("", (None, "days")),
        ("P1M", (None, "days")),
    ],
)
def test_durations_show_as_a_number_and_the_largest_exact_unit(iso: str, pair: tuple[Any, str]) -> None:
    assert iso_to_duration(iso) == pair
    if pair[0] is not None:
        from orchestration.durations import parse_duration

        assert parse_duration(duration_to_iso(*pair)) == parse_duration(iso)  # type: ignore[arg-type]


def test_every_field_type_offered_is_one_the_compiler_accepts() -> None:
    for kind, _ in FIELD_TYPES:
        extra = {"choices": "a,b"} if kind == "choice" else {}
        # A money amount is in the currency another field holds.
        currency = [bpmn.field("currency", "choice", choices="USD,EUR")] if kind == "money" else []
        xml = bpmn.definitions(
            bpmn.start("start", bpmn.field("x", kind, **extra), *currency),
            bpmn.end("end"),
            *bpmn.chain("start", "end"),
        )
        assert compile_bpmn(xml).ok, kind


# --- the forms, bound to what a person posts


def context(xml: str, element: str, user: Any = None) -> PanelContext:
    diagram = Diagram.parse(xml)
    el = diagram.find(element) if element else diagram.process
    assert el is not None
    workflow = Workflow(key="purchase", name="Purchase")
    scope = scope_at(diagram, compile_bpmn(xml).declared, el.get("id", ""))
    return PanelContext(workflow, diagram, el, el.get("id", ""), scope, user)


def bound(xml: str, element: str, data: dict[str, Any], user: Any = None) -> panels.BlockForm:
    ctx = context(xml, element, user)
    form = panels.form_class(ctx.element)({"element": element, **data}, ctx=ctx)  # type: ignore[arg-type]
    return form


def rows(prefix: str, *items: dict[str, str]) -> dict[str, str]:
    data = {f"{prefix}-TOTAL_FORMS": str(len(items)), f"{prefix}-INITIAL_FORMS": "0"}
    for i, item in enumerate(items):
        data.update({f"{prefix}-{i}-{k}": v for k, v in item.items()})
    return data


def errors_of(form: panels.BlockForm) -> str:
    """Every error message the panel would show, unescaped, in one text."""
    found = [form.errors, *(row.errors for rows in form.rows.values() for row in rows.forms)]
    found += [sub.errors for sub in form.subforms()]
    messages = [m for errors in found for field_errors in errors.values() for m in field_errors]
    messages += [m for rows in form.rows.values() for m in rows.non_form_errors()]
    return " | ".join(messages)


@pytest.fixture
def groups(db: Any) -> None:
    for name in ("Finance", "Procurement"):
        Group.objects.create(name=name)
    get_user_model().objects.create_user("bob", first_name="Bob")


@pytest.mark.django_db
def test_approval_asks_for_what_its_rule_needs(groups: None) -> None:
    form = bound(
        SHOWCASE,
        "Task_manager_approval",
        {"assignee_rule": "user", "due_unit": "days", "reminder_unit": "days", **rows("fields")},
    )
    assert not form.is_valid() and "Choose the person who decides" in errors_of(form)
    form = bound(
        SHOWCASE,
        "Task_manager_approval",
        {"assignee_rule": "group", "due_unit": "days", "reminder_unit": "days", **rows("fields")},
    )
    assert not form.is_valid() and "Choose at least one group" in errors_of(form)
    form = bound(
        SHOWCASE,
        "Task_manager_approval",
        {
            "assignee_rule": "manager",
            "escalate_to": "Finance",
            "due_unit": "days",
            "reminder_unit": "days",
            **rows("fields"),
        },
    )
    assert not form.is_valid() and "the task is handed over when it is overdue" in errors_of(form)
    form = bound(
        SHOWCASE,
        "Task_manager_approval",
        {
            "assignee_rule": "user",
            "assignee": "bob",
            "due_count": "4",
            "due_unit": "hours",
            "reminder_unit": "days",
            **rows("fields"),
        },
    )
    assert form.is_valid(), errors_of(form)
    attrs = form.payload()["attrs"]
    assert attrs["baton:assignee"] == "bob" and attrs["baton:dueIn"] == "PT4H"
    assert attrs["baton:candidateGroups"] is None and attrs["baton:quorum"] is None


@pytest.mark.django_db
def test_approval_amount_must_be_a_number_in_scope(groups: None) -> None:
    base = {"assignee_rule": "authority_chain", "due_unit": "days", "reminder_unit": "days", **rows("fields")}
    form = bound(SHOWCASE, "Task_manager_approval", {**base, "amount": "item"})
    assert not form.is_valid() and "This gives text; it must give a number" in errors_of(form)
    form = bound(SHOWCASE, "Task_manager_approval", {**base, "amount": "order_id"})  # set later, not in scope
    assert not form.is_valid() and "order_id" in errors_of(form)
    assert bound(SHOWCASE, "Task_manager_approval", {**base, "amount": "amount * 1.2"}).is_valid()
    # Without an amount field the chain has nothing to compare with signature limits.
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("total", "number")),
        bpmn.user_task("approve", rule="authority_chain"),
        bpmn.end("end"),
        *bpmn.chain("start", "approve", "end"),
    )
    form = bound(xml, "approve", base)
    assert not form.is_valid() and "Say which amount" in errors_of(form)


@pytest.mark.django_db
def test_approval_takes_its_approver_from_the_item_of_its_for_each(groups: None) -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.script("list", '{"centres": ["IT", "HR"]}'),
        bpmn.for_each(bpmn.user_task("approve", rule="group_from_data"), "centres", item="centre"),
        bpmn.end("end"),
        *bpmn.chain("start", "list", "approve", "end"),
    )
    base = {"assignee_rule": "group_from_data", "due_unit": "days", "reminder_unit": "days", **rows("fields")}
    form = bound(xml, "approve", base)
    assert not form.is_valid() and "Say where in the request's data the group is named" in errors_of(form)
    form = bound(xml, "approve", {**base, "assignee_expression": "size(centres)"})
    assert not form.is_valid() and "it must give text" in errors_of(form)

    form = bound(xml, "approve", {**base, "assignee_expression": '"cc-" + centre'})

    assert form.is_valid(), errors_of(form)
    attrs = form.payload()["attrs"]
    assert attrs["baton:assigneeRule"] == "group_from_data"
    assert attrs["baton:assigneeExpression"] == '"cc-" + centre'
    assert attrs["baton:assignee"] is None and attrs["baton:candidateGroups"] is None
    assert form.ctx.scope.get("centre") is not None  # the panel lists the item and posts it to live checks


@pytest.mark.django_db
def test_automated_step_validates_the_connectors_own_settings_form() -> None:
    data = {
        "connector": "http.request",
        "config-http-request-url": "ftp://example.com",
        **rows("inputs"),
        **rows("outputs"),
    }
    form = bound(SHOWCASE, "Task_place_order", data)
    assert not form.is_valid()
    assert "Check the settings below" in errors_of(form) and "http:// or https://" in errors_of(form)
    data["config-http-request-url"] = "https://api.example.com/orders"
    form = bound(SHOWCASE, "Task_place_order", data)
    assert form.is_valid(), errors_of(form)
    # Defaults (method POST, timeout 10) are shown, not written.
    assert form.payload()["extensions"]["property"] == [
        {"name": "url", "value": "https://api.example.com/orders"}
    ]


@pytest.mark.django_db
def test_only_the_chosen_connectors_settings_are_checked_and_the_others_keep_what_was_typed() -> None:
    data = {
        "connector": "procurement.create_order",
        "config-http-request-method": "GET",  # typed before switching connector; url left empty
        **rows("inputs", {"name": "total", "expression": "amount >"}),
        **rows("outputs"),
    }
    form = bound(SHOWCASE, "Task_place_order", data)

    assert not form.is_valid()  # the broken input mapping
    http = form.settings.config_for("http.request")
    assert http is not None and not http.is_bound and not http.errors
    assert http["method"].value() == "GET"


@pytest.mark.django_db
def test_mapping_rows_check_their_expressions_and_names() -> None:
    data = {
        "connector": "procurement.create_order",
        **rows(
            "inputs", {"name": "total", "expression": "amount >"}, {"name": "total", "expression": "amount"}
        ),
        **rows(
            "outputs",
            {"name": "initiator", "expression": "result.x"},
            {"name": "when", "expression": "amount", "type": "string"},
        ),
    }
    form = bound(SHOWCASE, "Task_place_order", data)
    assert not form.is_valid()
    text = errors_of(form)
    assert "(line 1, column" in text
    assert "Another input is already named total" in text
    assert "initiator is a name Baton keeps for itself" in text
    assert "The value gives number, not text" in text


@pytest.mark.django_db
def test_notify_checks_text_and_expressions_against_the_scope() -> None:
    base = {"to": "{{initiator}}", "to_mode": "text", "subject_mode": "text", "body_mode": "text"}
    form = bound(SHOWCASE, "Task_notify_requester", {**base, "subject": "Hi {{nobody}}"})
    assert not form.is_valid() and "{{nobody}} is not a variable set before this step" in errors_of(form)
    form = bound(SHOWCASE, "Task_notify_requester", {**base, "subject": "amount", "subject_mode": "cel"})
    assert not form.is_valid() and "it must give text" in errors_of(form)
    form = bound(SHOWCASE, "Task_notify_requester", {**base, "subject": "Order {{order_id}}", "body": ""})
    assert form.is_valid(), errors_of(form)
    inputs = form.payload()["extensions"]["input"]
    assert inputs == [
        {"name": "to", "expression": "initiator"},
        {"name": "subject", "expression": '"Order " + order_id'},
    ]


@pytest.mark.django_db
def test_a_new_notify_is_addressed_to_the_requester_and_a_saved_one_keeps_its_own() -> None:
    xml = SHOWCASE.replace(
        '<bpmn:sendTask id="Task_notify_rejection" name="Notify rejection" baton:connector="email">',
        '<bpmn:sendTask id="Task_new" name="" baton:connector="email" />'
        '<bpmn:sendTask id="Task_notify_rejection" name="Notify rejection" baton:connector="email">',
    )
    ctx = context(xml, "Task_new")
    assert panels.form_class(ctx.element).for_element(ctx).initial["to"] == "{{initiator}}"
    saved = SHOWCASE.replace('name="to" expression="initiator"', 'name="to" expression="item"')
    ctx = context(saved, "Task_notify_requester")
    assert panels.form_class(ctx.element).for_element(ctx).initial["to"] == "{{item}}"


@pytest.mark.django_db
def test_an_end_named_for_a_known_outcome_gets_that_outcome_unless_one_is_given() -> None:
    xml = bpmn.definitions(bpmn.start("start"), bpmn.end("end", name=""), *bpmn.chain("start", "end"))
    outcome = {"means": "finished"}
    for name, given, written in (
        ("Approved", "", "approved"),
        (" rejected ", "", "rejected"),
        ("Approved", "ordered", "ordered"),
        ("Done", "", None),
    ):
        form = bound(xml, "end", {**outcome, "name": name, "outcome": given})
        assert form.is_valid(), errors_of(form)
        assert form.payload()["attrs"]["baton:outcome"] == written, name


@pytest.mark.django_db
def test_set_data_needs_valid_new_variables() -> None:
    form = bound(SHOWCASE, "Task_auto_approve", rows("data"))
    assert not form.is_valid() and "Set at least one variable" in errors_of(form)
    form = bound(
        SHOWCASE,
        "Task_auto_approve",
        rows("data", {"name": "1x", "expression": "1"}, {"name": "initiator", "expression": '"me"'}),
    )
    assert not form.is_valid()
    assert "not starting with a digit" in errors_of(form) and "keeps for itself" in errors_of(form)
    form = bound(
        SHOWCASE,
        "Task_auto_approve",
        rows(
            "data", {"name": "total", "expression": "amount * 2.0"}, {"name": "note", "expression": '"a, b"'}
        ),
    )
    assert form.is_valid(), errors_of(form)
    assert form.payload()["script"] == '{"total": amount * 2.0, "note": "a, b"}'


WAIT = bpmn.definitions(
    bpmn.start("start", bpmn.field("order_id"), bpmn.field("amount", "number")),
    bpmn.wait_timer("wait", "PT1H"),
    bpmn.end("end"),
    *bpmn.chain("start", "wait", "end"),
)


@pytest.mark.django_db
def test_wait_asks_for_what_its_kind_needs() -> None:
    form = bound(WAIT, "wait", {"wait_kind": "duration", "wait_unit": "days"})
    assert not form.is_valid() and "Say how long to wait" in errors_of(form)
    form = bound(WAIT, "wait", {"wait_kind": "date", "wait_date": "amount", "wait_unit": "days"})
    assert not form.is_valid() and "it must give a date" in errors_of(form)
    form = bound(WAIT, "wait", {"wait_kind": "message", "message_name": "paid", "wait_unit": "days"})
    assert not form.is_valid() and "Say which value a message must carry" in errors_of(form)
    form = bound(
        WAIT, "wait", {"wait_kind": "date", "wait_date": "order_id", "wait_unit": "days", **rows("carries")}
    )
    assert form.is_valid(), errors_of(form)
    assert form.payload()["timer"] == {"kind": "timeDate", "value": "order_id"}


@pytest.mark.django_db
def test_what_a_message_carries_is_checked_row_by_row() -> None:
    carries = rows(
        "carries",
        {"name": "paid_amount", "type": "number"},
        {"name": "paid_amount", "type": "date"},
        {"name": "2nd", "type": "string"},
        {"name": "initiator", "type": "string"},
        {"name": "lines", "type": "decimal"},
    )
    message = {"wait_kind": "message", "message_name": "paid", "correlation_key": "order_id"}
    form = bound(WAIT, "wait", {**message, "wait_unit": "days", **carries})
    assert not form.is_valid()
    text = errors_of(form)
    assert "Another value is already named paid_amount" in text
    assert "Select a valid choice. decimal is not one of the available choices." in text
    assert "Use letters, digits and _, not starting with a digit." in text  # 2nd
    assert "initiator is a name Baton keeps for itself." in text


@pytest.mark.django_db
def test_what_a_message_carries_is_written_only_while_the_wait_is_for_a_message() -> None:
    carries = rows(
        "carries",
        {"name": "paid_amount", "type": "number", "required": "on"},
        {"name": "lines", "type": "list"},
    )
    message = {"wait_kind": "message", "message_name": "paid", "correlation_key": "order_id"}
    form = bound(WAIT, "wait", {**message, "wait_unit": "days", **carries})
    assert form.is_valid(), errors_of(form)
    assert form.payload()["extensions"] == {
        "messageField": [
            {"name": "paid_amount", "type": "number", "required": True},
            {"name": "lines", "type": "list"},
        ]
    }
    form = bound(WAIT, "wait", {"wait_kind": "duration", "wait_count": "2", "wait_unit": "days", **carries})
    assert form.is_valid(), errors_of(form)
    assert form.payload()["extensions"] == {"messageField": []}


@pytest.mark.django_db
def test_start_checks_schedule_and_form_fields() -> None:
    field = {"type": "string"}
    form = bound(
        SHOWCASE,
        "StartEvent_request",
        {
            "start_kind": "schedule",
            "schedule_kind": "advanced",
            "advanced": "every day",
            **rows("fields"),
            **rows("payload"),
            **rows("carries"),
        },
    )
    assert not form.is_valid() and '"every day" is not a repeating cycle such as R/PT1H' in errors_of(form)
    form = bound(
        SHOWCASE,
        "StartEvent_request",
        {
            "start_kind": "form",
            **rows(
                "fields",
                {**field, "name": "a"},
                {**field, "name": "a"},
                {"name": "c", "type": "choice"},
                {"name": "n", "type": "number", "min": "5", "max": "1", "default": "many"},
            ),
            **rows("payload"),
            **rows("carries"),
        },
    )
    assert not form.is_valid()
    text = errors_of(form)
    assert "Another field is already named a" in text
    assert (
        "List the choices" in text and "Max is below min" in text and "'many' is not a valid number" in text
    )


@pytest.mark.django_db
def test_a_field_named_in_words_gets_the_name_later_blocks_use() -> None:
    form = bound(
        SHOWCASE,
        "StartEvent_request",
        {
            "start_kind": "form",
            **rows(
                "fields",
                {"name": "Invoice text", "label": "Invoice text", "type": "text"},
                {"name": " Cost-centre code ", "type": "string"},
                {"name": "2 items", "type": "string"},
            ),
            **rows("payload"),
            **rows("carries"),
        },
    )
    assert not form.is_valid()
    # Words become a name; what cannot be one is still refused, saying why.
    assert "Use letters, digits and _, not starting with a digit." in errors_of(form)
    names = [row.cleaned_data.get("name") for row in form.rows["fields"]]
    assert names[:2] == ["invoice_text", "cost_centre_code"]


@pytest.mark.django_db
def test_a_form_fields_limits_are_numbers_as_the_compiler_reads_them() -> None:
    form = bound(
        SHOWCASE,
        "StartEvent_request",
        {
            "start_kind": "form",
            **rows("fields", {"name": "n", "type": "number", "min": "nan", "max": "inf"}),
            **rows("payload"),
            **rows("carries"),
        },
    )
    assert not form.is_valid()
    assert "'nan' is not a number" in errors_of(form) and "'inf' is not a number" in errors_of(form)
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("n", "number", max="inf")),
        bpmn.end("end"),
        *bpmn.chain("start", "end"),
    )
    assert not compile_bpmn(xml).ok


@pytest.mark.django_db
def test_a_path_condition_is_checked_as_a_boolean_with_its_position() -> None:
    form = bound(
        SHOWCASE, "Flow_approved", {"condition_mode": "cel", "condition": "approval.outcome == 1.0 &&"}
    )
    assert not form.is_valid() and "(line 1, column" in errors_of(form)
    form = bound(SHOWCASE, "Flow_approved", {"condition_mode": "cel", "condition": "amount"})
    assert not form.is_valid() and "not true or false" in errors_of(form)
    form = bound(SHOWCASE, "Flow_approved", {"condition_mode": "builder", "field": "", "value": ""})
    assert not form.is_valid() and "Choose what the condition looks at" in errors_of(form)
    form = bound(
        SHOWCASE,
        "Flow_approved",
        {"condition_mode": "builder", "field": "order_id", "operator": "eq", "value": "x"},
    )
    assert not form.is_valid(), "order_id is set after this decision"
    form = bound(
        SHOWCASE, "Flow_approved", {"is_default": "on", "condition_mode": "cel", "condition": "not checked"}
    )
    assert form.is_valid(), errors_of(form)
    assert form.payload() == {"element": "Flow_approved", "name": "", "isDefault": True, "condition": ""}


@pytest.mark.django_db
def test_a_condition_on_one_of_two_new_paths_makes_the_other_the_default() -> None:
    xml = bpmn.definitions(
        bpmn.start("start", bpmn.field("urgent", "boolean")),
        bpmn.gateway("check"),
        bpmn.end("fast"),
        bpmn.end("slow"),
        *bpmn.chain("start", "check"),
        bpmn.flow("check", "fast", id="f_fast"),
        bpmn.flow("check", "slow", id="f_slow"),
    )
    picked = {"condition_mode": "builder", "field": "urgent", "operator": "true"}
    form = bound(xml, "f_fast", picked)
    assert form.is_valid(), errors_of(form)
    payload = form.payload()
    assert payload["condition"] == "urgent" and payload["otherDefault"] == "f_slow"
    diagram = Diagram.parse(xml)
    apply_payload(diagram, payload)
    assert diagram.find("check").get("default") == "f_slow"  # type: ignore[union-attr]
    assert compile_bpmn(diagram.to_xml()).ok
    # Already a default, or a third path: nothing is chosen for the person.
    form = bound(diagram.to_xml(), "f_fast", picked)
    assert form.is_valid() and "otherDefault" not in form.payload()
    third = xml.replace("</bpmn:process>", f"{bpmn.flow('check', 'slow', id='f_more')}</bpmn:process>")
    form = bound(third, "f_fast", picked)
    assert form.is_valid() and "otherDefault" not in form.payload()


@pytest.mark.django_db
def test_a_path_not_leaving_a_decision_has_only_a_name() -> None:
    form = bound(
        SHOWCASE,
        "Flow_to_check_authority",
        {"name": "Check", "condition_mode": "cel", "condition": "nonsense ("},
    )
    assert form.is_valid(), errors_of(form)
    assert form.payload() == {"element": "Flow_to_check_authority", "name": "Check"}


@pytest.mark.django_db
def test_end_call_and_process_forms_write_their_one_setting() -> None:
    form = bound(SHOWCASE, "EndEvent_approved", {"name": "Done", "outcome": "  approved  "})
    assert form.is_valid() and form.payload()["attrs"] == {"baton:outcome": "approved"}
    assert bound(SHOWCASE, "EndEvent_approved", {"outcome": ""}).is_valid()
    process = bound(SHOWCASE, "purchase_approval", {"name": "Buying"})
    assert process.is_valid() and process.payload() == {"element": "purchase_approval", "name": "Buying"}
    xml = bpmn.definitions(
        bpmn.start("start"), bpmn.call("sub", "other"), bpmn.end("end"), *bpmn.chain("start", "sub", "end")
    )
    call = bound(
        xml,
        "sub",
        {"called": "other", **rows("inputs", {"name": "who", "expression": "initiator"}), **rows("outputs")},
    )
    assert call.is_valid(), errors_of(call)
    assert call.payload()["attrs"] == {"calledElement": "other"}
    assert call.payload()["extensions"] == {
        "input": [{"name": "who", "expression": "initiator"}],
        "output": [],
    }


def test_elements_baton_does_not_run_get_an_explanation_not_a_form() -> None:
    xml = bpmn.definitions(
        '<bpmn:task id="t"/><bpmn:startEvent id="s"><bpmn:signalEventDefinition/></bpmn:startEvent>',
        '<bpmn:textAnnotation id="note"><bpmn:text>Hi</bpmn:text></bpmn:textAnnotation>',
    )
    diagram = Diagram.parse(xml)
    assert panels.form_class(diagram.find("t")) is panels.UnsupportedForm  # type: ignore[arg-type]
    assert panels.form_class(diagram.find("s")) is panels.UnsupportedForm  # type: ignore[arg-type]
    assert panels.form_class(diagram.find("note")) is panels.NoteForm  # type: ignore[arg-type]


def test_numbers_no_field_can_hold_fall_back_to_cel_instead_of_crashing() -> None:
    assert parse_condition("amount == 1e999", SCOPE) is None
    with pytest.raises(ValidationError, match="is not a whole number"):
        build_condition(SCOPE.get("count"), "eq", "9" * 5000)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="is not a whole number"):
        build_condition(SCOPE.get("count"), "eq", str(2**63))  # type: ignore[arg-type]
    assert build_condition(SCOPE.get("count"), "eq", str(2**63 - 1)) == f"count == {2**63 - 1}"  # type: ignore[arg-type]


@pytest.mark.django_db
def test_the_author_sets_a_text_fields_maximum_length_which_the_compiler_reads() -> None:
    fields = rows(
        "fields",
        {"name": "why", "type": "text", "max_length": "500"},
        {"name": "n", "type": "number", "max_length": "5"},
    )
    form = bound(
        SHOWCASE, "StartEvent_request", {"start_kind": "form", **fields, **rows("payload"), **rows("carries")}
    )
    assert not form.is_valid() and "Only text fields have a length" in errors_of(form)

    fields = rows("fields", {"name": "why", "type": "text", "max_length": "500"})
    form = bound(
        SHOWCASE, "StartEvent_request", {"start_kind": "form", **fields, **rows("payload"), **rows("carries")}
    )
    assert form.is_valid(), errors_of(form)
    [item] = form.payload()["extensions"]["formField"]
    assert item == {"name": "why", "type": "text", "maxLength": "500"}


@pytest.mark.django_db
def test_start_offers_the_forms_fields_as_the_requests_title_and_amount() -> None:
    showcase = SHOWCASE.replace(
        'name="Purchase request">', 'name="Purchase request" baton:titleField="item">', 1
    )
    ctx = context(showcase, "StartEvent_request")
    unbound = panels.form_class(ctx.element).for_element(ctx)
    assert unbound["title_field"].value() == "item" and unbound["amount_field"].value() == ""
    assert [c[0] for c in unbound.fields["title_field"].choices] == ["", "item", "currency", "justification"]
    assert [c[0] for c in unbound.fields["amount_field"].choices] == ["", "amount"]

    fields = [
        {"name": "item", "type": "string"},
        {"name": "total", "type": "money"},
        {"name": "currency", "type": "choice", "choices": "USD"},
    ]
    form = bound(
        showcase,
        "StartEvent_request",
        {
            "start_kind": "form",
            "title_field": "item",
            "amount_field": "total",
            **rows("fields", *fields),
            **rows("payload"),
            **rows("carries"),
        },
    )
    assert form.is_valid(), errors_of(form)
    assert form.payload()["attrs"] == {"baton:titleField": "item", "baton:amountField": "total"}
    cleared = bound(
        showcase,
        "StartEvent_request",
        {
            "start_kind": "form",
            "title_field": "",
            "amount_field": "",
            **rows("fields", *fields),
            **rows("payload"),
            **rows("carries"),
        },
    )
    assert cleared.is_valid() and cleared.payload()["attrs"] == {
        "baton:titleField": None,
        "baton:amountField": None,
    }
