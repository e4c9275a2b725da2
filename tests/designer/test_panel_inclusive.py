"""The side panel of Any of these paths: its paths with their conditions and default, and each path's condition."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from designer import panels
from designer.panels.inclusive import InclusiveForm
from orchestration.definitions import create_workflow
from tests import bpmn
from tests.designer.test_forms import bound, errors_of
from tests.designer.test_panel import client_for, html, text

pytestmark = pytest.mark.django_db

XML = bpmn.definitions(
    bpmn.start("start", bpmn.field("amount", "number"), bpmn.field("foreign", "boolean")),
    bpmn.gateway("reviews", "inclusive", default="f_none", name="Which reviews?"),
    bpmn.user_task("legal", assignee="bob", name="Legal review"),
    bpmn.user_task("finance", assignee="bob", name="Finance review"),
    bpmn.user_task("sales", assignee="bob", name="Sales review"),
    bpmn.gateway("done", "inclusive", name="Reviews done"),
    bpmn.end(),
    bpmn.flow("start", "reviews"),
    bpmn.flow("reviews", "legal", id="f_legal", condition="foreign", name="Foreign law"),
    bpmn.flow("reviews", "finance", id="f_finance", condition="amount > 1000.0"),
    bpmn.flow("reviews", "sales", id="f_sales"),
    bpmn.flow("reviews", "done", id="f_none", name="No review"),
    *bpmn.chain("legal", "done"),
    *bpmn.chain("finance", "done"),
    *bpmn.chain("sales", "done"),
    bpmn.flow("done", "end"),
)


@pytest.fixture
def owner() -> Any:
    user = get_user_model().objects.create_user("dana")
    create_workflow("purchase", "Reviews", XML, owner=user)
    return user


def _panel(user: Any, element: str) -> Any:
    return client_for(user).post(
        reverse("designer:panel", args=["purchase"]), {"xml": XML, "element": element}
    )


def test_the_split_lists_each_path_with_its_condition_and_the_default(owner: Any) -> None:
    response = _panel(owner, "reviews")
    page = html(response)
    assert page.xpath("string(//*[@data-testid='panel-kind'])") == "Any of these paths"
    assert page.xpath("//header//i[contains(@class, 'bi-diagram-3')]")
    paths = [
        " ".join(" ".join(li.itertext()).split())
        for li in page.xpath("//*[@data-testid='inclusive-paths']/li")
    ]
    assert paths == [
        "Foreign law foreign",
        "to Finance review amount > 1000.0",
        "to Sales review Always taken",
        "No review Default",
    ]
    assert "takes every path whose condition holds" in text(response)
    assert "inclusiveGateway" not in text(response)


def test_the_join_has_nothing_to_set(owner: Any) -> None:
    page = html(_panel(owner, "done"))
    assert page.xpath("string(//*[@data-testid='panel-kind'])") == "Join of the paths taken"
    assert page.xpath("//*[@data-testid='join-note']")


def test_a_path_leaving_it_gets_the_condition_builder_and_may_be_the_default(owner: Any) -> None:
    page = html(_panel(owner, "f_finance"))
    assert page.xpath("//input[@name='is_default']")
    assert page.xpath("//select[@name='field']//option[@value='amount' and @selected]")
    assert page.xpath("//select[@name='operator']/option[@selected]/@value") == ["gt"]

    response = client_for(owner).post(
        reverse("designer:panel-apply", args=["purchase"]),
        {
            "xml": XML,
            "element": "f_sales",
            "condition_mode": "builder",
            "field": "foreign",
            "operator": "false",
        },
    )
    payload = json.loads(response["HX-Trigger"])["baton:apply"]
    assert payload == {"element": "f_sales", "name": "", "isDefault": False, "condition": "!foreign"}


def test_a_paths_condition_is_checked_as_a_boolean() -> None:
    form = bound(XML, "f_finance", {"condition_mode": "cel", "condition": "amount + 1.0"})
    assert not form.is_valid() and "not true or false" in errors_of(form)
    form = bound(XML, "f_finance", {"condition_mode": "builder", "field": ""})
    assert not form.is_valid() and "Choose what the condition looks at" in errors_of(form)


def test_the_element_maps_to_its_panel() -> None:
    assert panels.PANELS["inclusiveGateway"] is InclusiveForm
