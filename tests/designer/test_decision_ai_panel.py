"""The Decision panel's "Who chooses the path": conditions, or the AI among the paths' names."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string

from designer import panels
from designer.panels.decision import DecisionForm
from designer.panels.path import PathForm
from orchestration.models import Connection
from tests import bpmn
from tests.designer.test_forms import bound, context, errors_of

pytestmark = pytest.mark.django_db

AI = {"connection": "models", "instruction": "Route this expense: {{item}} for {{amount}}."}


def _flow(*, by_ai: bool, names: bool = True) -> str:
    gateway = (
        bpmn.ai_gateway("route", "to_fast", name="Route", properties=AI, inputs={"item": "item"})
        if by_ai
        else bpmn.gateway("route", default="to_fast", name="Route")
    )
    return bpmn.definitions(
        bpmn.start("start", bpmn.field("item"), bpmn.field("amount", "number")),
        gateway,
        bpmn.end("reviewed", name="Reviewed"),
        bpmn.end("fast", name="Fast"),
        bpmn.flow("start", "route"),
        bpmn.flow(
            "route",
            "reviewed",
            id="to_review",
            name="Needs review" if names else "",
            condition="" if by_ai else "amount > 100.0",
        ),
        bpmn.flow("route", "fast", id="to_fast", name="Fast track"),
    )


@pytest.fixture(autouse=True)
def server() -> None:
    Connection.objects.create(name="models", label="Model server", base_url="http://x/v1")


def test_choosing_the_ai_writes_the_question_on_the_decision() -> None:
    form = bound(
        _flow(by_ai=False),
        "route",
        {
            "name": "Route",
            "chooser": "ai",
            "connection": "models",
            "instruction": "Is {{item}} for {{amount}} unusual?",
            "instruction_mode": "text",
            "retries": "2",
        },
    )

    assert isinstance(form, DecisionForm)
    assert form.is_valid(), errors_of(form)
    payload = form.payload()
    assert payload["attrs"] == {"baton:connector": "ai.ask", "baton:retries": 2}
    assert {"name": "instruction", "value": "Is {{item}} for {{amount}} unusual?"} in payload["extensions"][
        "property"
    ]
    assert payload["extensions"]["input"] == [
        {"name": "item", "expression": "item"},
        {"name": "amount", "expression": "amount"},
    ]


def test_the_ai_needs_its_model_server_and_instruction_with_known_values() -> None:
    form = bound(
        _flow(by_ai=False),
        "route",
        {
            "name": "Route",
            "chooser": "ai",
            "instruction": "Look at {{nothing_here}}",
            "instruction_mode": "text",
        },
    )

    assert not form.is_valid()
    assert "connection" in form.errors
    assert "{{nothing_here}} is not a value of the request at this point." in errors_of(form)


def test_choosing_conditions_again_removes_the_question_and_needs_no_server() -> None:
    form = bound(_flow(by_ai=True), "route", {"name": "Route", "chooser": "conditions"})

    assert form.is_valid(), errors_of(form)
    payload = form.payload()
    assert payload["attrs"] == {"baton:connector": None, "baton:retries": None}
    assert payload["extensions"] == {"property": [], "input": []}


def test_the_panel_reads_the_ai_choice_back_and_lists_the_paths_by_name() -> None:
    ctx = context(_flow(by_ai=True, names=False), "route")
    form = panels.form_class(ctx.element).for_element(ctx)

    assert form.initial["chooser"] == "ai"
    assert form.initial["connection"] == "models"
    html = render_to_string("designer/panel.html#decision", {"form": form})
    assert "“Fast track”" in html
    assert "to Reviewed: needs a name, the AI chooses by it" in html
    assert "Most tokens for the step" in html  # the question's details, as Ask AI's
    assert "Most tool calls" not in html  # a Decision's AI uses no tools


def test_a_path_of_an_ai_decision_has_no_condition_to_set() -> None:
    form = bound(_flow(by_ai=True), "to_review", {"name": "Needs review"})

    assert isinstance(form, PathForm) and form.ai_chooses
    assert form.is_valid(), errors_of(form)
    assert form.payload()["condition"] == ""
    assert form.fields["is_default"].help_text == "Taken when the AI cannot choose."
