"""The side panel's views: who may load and apply it, what it shows, and the checks made while typing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from guardian.shortcuts import assign_perm

from orchestration.definitions import create_workflow
from orchestration.models import Workflow

pytestmark = pytest.mark.django_db

SHOWCASE = (Path(__file__).resolve().parents[2] / "orchestration/fixtures/purchase_approval.bpmn").read_text()


@pytest.fixture
def people() -> dict[str, Any]:
    users = get_user_model().objects
    owner = users.create_user("dana")
    viewer = users.create_user("victor")
    outsider = users.create_user("olga")
    workflow = create_workflow("purchase", "Purchase approval", SHOWCASE, owner=owner).workflow
    assign_perm("orchestration.view_workflow", viewer, workflow)
    return {"owner": owner, "viewer": viewer, "outsider": outsider}


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def panel(client: Client, element: str, xml: str = SHOWCASE, **extra: str) -> Any:
    return client.post(
        reverse("designer:panel", args=["purchase"]), {"xml": xml, "element": element, **extra}
    )


def html(response: Any) -> Any:
    return lxml.html.fromstring(response.content.decode())


def text(response: Any) -> str:
    return " ".join(html(response).text_content().split())


def check(client: Client, **data: str) -> Any:
    return client.post(reverse("designer:panel-check", args=["purchase"]), data)


SCOPE = json.dumps(
    [
        ["initiator", "string", []],
        ["amount", "number", []],
        ["currency", "string", ["USD", "EUR"]],
        ["approval", "map", []],
        ["approval.comment", "string", []],
    ]
)


# --- who may do what


def test_someone_who_cannot_see_the_workflow_gets_404(people: dict[str, Any]) -> None:
    outsider = client_for(people["outsider"])
    assert panel(outsider, "Task_manager_approval").status_code == 404
    assert (
        outsider.post(reverse("designer:panel-apply", args=["purchase"]), {"element": "x"}).status_code == 404
    )
    assert check(outsider, check="x", x="1").status_code == 404


def test_a_requester_sees_no_design_and_an_operator_looks_read_only(people: dict[str, Any]) -> None:
    viewer = client_for(people["viewer"])  # may view the workflow (the catalog), not its design
    assert panel(viewer, "Task_manager_approval").status_code == 403
    assert panel(viewer, "Task_manager_approval", readonly="1").status_code == 403
    assert panel(viewer, "Task_manager_approval", readonly="1", xml="").status_code == 403
    check = viewer.post(
        reverse("designer:panel-check", args=["purchase"]), {"check": "amount", "amount": "1"}
    )
    assert check.status_code == 403

    workflow = Workflow.objects.get(key="purchase")
    assign_perm("orchestration.change_workflow", people["viewer"], workflow)  # now an operator
    response = panel(viewer, "Task_manager_approval", readonly="1")
    assert response.status_code == 200
    page = html(response)
    assert page.xpath("//form[@data-baton-panel-form]/fieldset/@disabled") == ["disabled"]
    assert not page.xpath("//button[@type='submit']")
    assert "Read only" in text(response)
    applied = viewer.post(
        reverse("designer:panel-apply", args=["purchase"]), {"xml": SHOWCASE, "element": "x"}
    )
    assert applied.status_code == 403


def test_signed_out_people_are_sent_to_sign_in(people: dict[str, Any]) -> None:
    response = Client().post(reverse("designer:panel", args=["purchase"]), {"element": ""})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_panel_only_answers_posts(people: dict[str, Any]) -> None:
    assert client_for(people["owner"]).get(reverse("designer:panel", args=["purchase"])).status_code == 405


# --- what it shows


@pytest.mark.parametrize(
    ("element", "kind", "icon", "words"),
    [
        ("", "Workflow", "bi-diagram-2", "Purchase approval (purchase)"),
        ("StartEvent_request", "Start", "bi-play-circle", "People fill in a form"),
        ("Task_manager_approval", "Approval", "bi-person-check", "Up the management chain"),
        ("Task_check_authority", "Automated step", "bi-gear", "Check signature authority"),
        ("Task_notify_requester", "Notify", "bi-envelope", "Your purchase request for {{item}} was approved"),
        ("Gateway_within_authority", "Decision", "bi-signpost-split", "within_authority"),
        (
            "Gateway_merge_approval",
            "Merge",
            "bi-sign-merge-left",
            "Nothing to set: a merge has no conditions.",
        ),
        ("Task_auto_approve", "Set data", "bi-pencil-square", "Values to set"),
        ("EndEvent_rejected", "End", "bi-stop-circle", "Outcome"),
        ("Flow_approved", "Path", "bi-arrow-right", "Take this path when"),
    ],
)
def test_each_block_shows_its_business_name_icon_and_form(
    people: dict[str, Any], element: str, kind: str, icon: str, words: str
) -> None:
    response = panel(client_for(people["owner"]), element)
    assert response.status_code == 200
    page = html(response)
    assert page.xpath("string(//*[@data-testid='panel-kind'])") == kind
    assert page.xpath(f"//header//i[contains(@class, '{icon}')]")
    assert words in text(response) or page.xpath(f"//*[@value={json.dumps(words)}]")
    assert "bpmn:" not in text(response) and "userTask" not in text(response)
    assert "No condition yet" not in text(response) or kind == "Decision"


def test_form_fields_are_filled_from_the_posted_xml_not_the_saved_draft(people: dict[str, Any]) -> None:
    unsaved = SHOWCASE.replace('baton:dueIn="P2D"', 'baton:dueIn="PT6H"')
    page = html(panel(client_for(people["owner"]), "Task_manager_approval", xml=unsaved))
    assert page.xpath("//input[@name='due_count']/@value") == ["6"]
    assert page.xpath("//select[@name='due_unit']/option[@selected]/@value") == ["hours"]
    assert page.xpath("//input[@name='assignee_rule' and @checked]/@value") == ["authority_chain"]
    assert page.xpath("//select[@name='escalate_to']/option[@selected]/@value") == ["Finance"]


def test_without_xml_the_panel_reads_the_draft(people: dict[str, Any]) -> None:
    response = client_for(people["owner"]).post(
        reverse("designer:panel", args=["purchase"]), {"element": "EndEvent_approved"}
    )
    assert html(response).xpath("//input[@name='outcome']/@value") == ["approved"]


def test_pickers_offer_only_variables_in_scope_with_their_types(people: dict[str, Any]) -> None:
    page = html(panel(client_for(people["owner"]), "Flow_approved"))
    offered = page.xpath("//select[@name='field']//option/@value")
    assert "approval.outcome" in offered and "amount" in offered
    assert "order_id" not in offered  # set after this decision
    outcome = page.xpath("//select[@name='field']//option[@value='approval.outcome']")[0]
    assert (
        outcome.get("data-kind") == "choice"
        and outcome.get("data-choices") == "approved,rejected,changes_requested"
    )
    assert outcome.get("selected") is not None
    assert page.xpath("//select[@name='operator']/option[@selected]/@value") == ["eq"]
    assert page.xpath("//input[@name='value']/@value") == ["approved"]
    amount = page.xpath("//select[@name='field']//option[@value='amount']/text()")
    assert amount == ["Amount (number)"]  # its label in words; the name is the option's value


def test_a_condition_the_builder_cannot_show_opens_as_cel(people: dict[str, Any]) -> None:
    xml = SHOWCASE.replace(">within_authority<", ">within_authority &amp;&amp; amount &lt; 5000.0<")
    page = html(panel(client_for(people["owner"]), "Flow_yes", xml=xml))
    assert page.xpath("//input[@name='condition_mode']/@value") == ["cel"]
    assert (
        page.xpath("string(//textarea[@name='condition'])").strip() == "within_authority && amount < 5000.0"
    )


def test_the_compilers_problems_with_the_element_are_listed(people: dict[str, Any]) -> None:
    broken = SHOWCASE.replace(' default="Flow_no"', "", 1)
    response = panel(client_for(people["owner"]), "Gateway_within_authority", xml=broken)
    problems = html(response).xpath("string(//*[@data-testid='panel-problems'])")
    # In the palette's words, as the problems list says it (the API keeps the compiler's wording).
    assert "To fix before publishing" in problems and "Has no path taken otherwise" in problems
    assert "flow" not in problems
    assert not html(panel(client_for(people["owner"]), "Gateway_within_authority")).xpath(
        "//*[@data-testid='panel-problems']"
    )


def test_unsupported_elements_unknown_ids_and_bad_xml_get_a_sentence(people: dict[str, Any]) -> None:
    owner = client_for(people["owner"])
    task = SHOWCASE.replace(
        '<bpmn:serviceTask id="Task_place_order"', '<bpmn:task id="Task_place_order"'
    ).replace(
        '</bpmn:serviceTask>\n    <bpmn:sendTask id="Task_notify_requester"',
        '</bpmn:task>\n    <bpmn:sendTask id="Task_notify_requester"',
    )
    response = panel(owner, "Task_place_order", xml=task)
    assert "use an Automated step" in text(response)
    assert not html(response).xpath("//button[@type='submit']")
    gone = panel(owner, "Task_gone")
    assert "no longer in the diagram" in text(gone)
    bad = panel(owner, "x", xml="<bpmn:definitions")
    assert "not well-formed" in text(bad) and "line 1" in text(bad)
    doctype = panel(owner, "x", xml='<!DOCTYPE x [<!ENTITY e "e">]><x/>')
    assert "DOCTYPE" in text(doctype)


# --- applying


def test_a_valid_form_answers_with_the_payload_for_the_canvas(people: dict[str, Any]) -> None:
    response = client_for(people["owner"]).post(
        reverse("designer:panel-apply", args=["purchase"]),
        {"xml": SHOWCASE, "element": "EndEvent_rejected", "name": "Rejected", "outcome": "declined"},
    )
    assert response.status_code == 200
    payload = json.loads(response["HX-Trigger"])["baton:apply"]
    assert payload == {
        "element": "EndEvent_rejected",
        "name": "Rejected",
        "attrs": {"baton:outcome": "declined"},
    }
    assert "Applied to the diagram" in text(response)


def test_an_invalid_form_is_shown_again_with_its_errors_and_changes_nothing(people: dict[str, Any]) -> None:
    response = client_for(people["owner"]).post(
        reverse("designer:panel-apply", args=["purchase"]),
        {"xml": SHOWCASE, "element": "Flow_approved", "condition_mode": "cel", "condition": "amount > "},
    )
    assert response.status_code == 200  # htmx swaps it into the panel
    assert "HX-Trigger" not in response
    page = html(response)
    assert "(line 1, column" in page.xpath("string(//textarea[@name='condition']/following-sibling::div[1])")
    assert "is-invalid" in page.xpath("//textarea[@name='condition']/@class")[0]
    assert page.xpath("string(//textarea[@name='condition'])").strip() == "amount >"


def test_after_applying_the_panel_lists_what_the_compiler_will_say(people: dict[str, Any]) -> None:
    # Making "Yes" the default leaves "No" as a second path without a condition.
    response = client_for(people["owner"]).post(
        reverse("designer:panel-apply", args=["purchase"]),
        {"xml": SHOWCASE, "element": "Flow_yes", "name": "Yes", "is_default": "on"},
    )
    assert json.loads(response["HX-Trigger"])["baton:apply"]["isDefault"] is True
    assert "Has no path taken otherwise" not in text(response)
    response = client_for(people["owner"]).post(
        reverse("designer:panel-apply", args=["purchase"]),
        {"xml": SHOWCASE, "element": "Gateway_within_authority", "name": ""},
    )
    assert "HX-Trigger" in response and "To fix" not in text(response)


# --- checks while typing


def test_check_reports_the_type_or_the_error_with_its_position(people: dict[str, Any]) -> None:
    owner = client_for(people["owner"])
    ok = check(owner, scope=SCOPE, check="amount", amount="amount * 1.2", expect="number")
    assert "Gives number" in text(ok)
    wrong = check(owner, scope=SCOPE, check="amount", amount='amount > "1000"', expect="number")
    assert "(line 1, column" in text(wrong)
    typed = check(owner, scope=SCOPE, check="amount", amount="currency", expect="number")
    assert "it must give a number" in text(typed)
    output = check(
        owner,
        scope=SCOPE,
        check="outputs-0-expression",
        **{"outputs-0-expression": "result.id"},
        **{"with": "result"},
    )
    assert "Gives" in text(output)
    assert text(check(owner, scope=SCOPE, check="amount", amount="")) == ""


def test_check_says_an_expression_error_plainly_and_folds_cel_wording_away(people: dict[str, Any]) -> None:
    owner = client_for(people["owner"])
    page = html(
        check(owner, scope=SCOPE, check="condition", condition_mode="cel", condition="amont > 1000.0")
    )
    error = page.xpath("//span[@class='text-danger']")[0].text_content()
    assert (
        error.strip()
        == "“amont” is not a value this workflow knows: did you mean “amount”? (line 1, column 1)."
    )
    (detail,) = page.xpath("//details[@data-testid='cel-detail']")
    assert detail.get("open") is None
    assert "undeclared reference to 'amont'" in detail.text_content()
    typed = html(check(owner, scope=SCOPE, check="amount", amount="currency", expect="number"))
    assert not typed.xpath("//details")  # a plain type mismatch of our own has no CEL wording to show


def test_check_turns_a_builder_condition_into_cel_and_cel_back_into_the_builder(
    people: dict[str, Any],
) -> None:
    owner = client_for(people["owner"])
    built = html(
        check(
            owner,
            scope=SCOPE,
            check="condition",
            condition_mode="builder",
            field="currency",
            operator="in",
            value="USD, EUR",
        )
    )
    assert built.xpath("//@data-cel") == ['currency in ["USD", "EUR"]']
    parsed = html(
        check(owner, scope=SCOPE, check="condition", condition_mode="cel", condition="amount >= 10.0")
    )
    assert parsed.xpath("//*[@data-field]/@data-field") == ["amount"]
    assert parsed.xpath("//*[@data-field]/@data-operator") == ["ge"]
    assert parsed.xpath("//*[@data-field]/@data-value") == ["10"]
    complex_ = html(
        check(owner, scope=SCOPE, check="condition", condition_mode="cel", condition="amount >= 10.0 || true")
    )
    assert not complex_.xpath("//*[@data-field]") and complex_.xpath("//@data-cel")
    refused = check(
        owner,
        scope=SCOPE,
        check="condition",
        condition_mode="builder",
        field="amount",
        operator="gt",
        value="lots",
    )
    assert "is not a number" in text(refused)


def test_check_converts_notify_text_to_cel_and_back(people: dict[str, Any]) -> None:
    owner = client_for(people["owner"])
    result = html(check(owner, scope=SCOPE, check="subject", subject="Total {{amount}}", subject_mode="text"))
    assert result.xpath("//@data-cel") == ['"Total " + string(amount)']
    assert result.xpath("//@data-text") == ["Total {{amount}}"]
    cel = html(check(owner, scope=SCOPE, check="body", body="amount * 2.0", body_mode="cel"))
    assert "it must give text" in cel.text_content()
    unknown = check(owner, scope=SCOPE, check="to", to="{{boss}}", to_mode="text")
    assert "not a variable set before this step" in text(unknown)


def test_check_ignores_a_forged_scope(people: dict[str, Any]) -> None:
    forged = json.dumps([["__import__('os')", "string", []], ["x", "python", []], "junk"])
    response = check(client_for(people["owner"]), scope=forged, check="e", e="x")
    assert response.status_code == 200 and "“x” is not a value this workflow knows" in text(response)


# --- the rendered form is usable in a narrow panel


def test_rows_come_with_a_template_for_new_rows_and_live_checks(people: dict[str, Any]) -> None:
    # An HTTP request's values to send are rows (a connector's declared inputs are fields instead).
    xml = SHOWCASE.replace('baton:connector="approvals.check_authority"', 'baton:connector="http.request"')
    page = html(panel(client_for(people["owner"]), "Task_check_authority", xml))
    (section,) = page.xpath("//*[@data-baton-rows='inputs']")
    assert section.xpath(".//input[@name='inputs-TOTAL_FORMS']/@value") == [
        "4"
    ]  # amount, currency, requester, requested_on
    template = section.xpath(".//template[@data-baton-row-template]")[0]
    assert lxml.html.tostring(template).decode().count("__prefix__") > 2
    expression = section.xpath(".//input[@name='inputs-0-expression']")[0]
    assert expression.get("hx-post") == reverse("designer:panel-check", args=["purchase"])
    assert json.loads(expression.get("hx-vals")) == {"check": "inputs-0-expression"}
    assert section.xpath(".//*[@id='check-inputs-0-expression']")
    outputs = page.xpath("//input[@name='outputs-0-expression']")[0]
    assert json.loads(outputs.get("hx-vals")) == {"check": "outputs-0-expression", "with": "result"}
