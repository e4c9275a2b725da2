"""The side panels of First event wins and Stop everything: plain words, and the outcome a stop writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from designer.diagram import Diagram
from designer.panels import form_class
from designer.panels.first_event import FirstEventForm
from designer.panels.stop import StopForm
from tests import bpmn
from tests.designer.test_panel import client_for, html, panel, people, text

pytestmark = pytest.mark.django_db

__all__ = ["people"]  # the fixture, shared with the panel's own tests

FILES = Path(__file__).resolve().parents[1] / "orchestration" / "bpmn_files"
CHASE = (FILES / "bpmnio_first_event_wins.bpmn").read_text()


def test_each_element_gets_its_kinds_form() -> None:
    diagram = Diagram.parse(CHASE)
    assert form_class(diagram.find("Gateway_paid_in_time")) is FirstEventForm  # type: ignore[arg-type]
    assert form_class(diagram.find("Event_written_off")) is StopForm  # type: ignore[arg-type]
    assert form_class(diagram.find("Event_paid")).__name__ == "EndForm"  # type: ignore[arg-type]


def test_first_event_wins_lists_what_each_wait_waits_for_in_plain_words(people: dict[str, Any]) -> None:
    response = panel(client_for(people["owner"]), "Gateway_paid_in_time", xml=CHASE)
    page = html(response)
    assert page.xpath("string(//*[@data-testid='panel-kind'])") == "First event wins"
    paths = " ".join(page.xpath("string(//*[@data-testid='first-event-paths'])").split())
    assert "Payment received A message “payment” arrives" in paths
    assert "2 weeks 2 weeks pass" in paths
    assert "bpmn:" not in text(response) and "eventBased" not in text(response)


def test_first_event_wins_flags_a_path_to_a_block_that_is_not_a_wait(people: dict[str, Any]) -> None:
    xml = bpmn.definitions(
        bpmn.start(),
        bpmn.gateway("race", kind="eventBased", name="Race"),
        bpmn.wait_timer("late", "PT4H", name="Later"),
        bpmn.user_task("approve", name="Approve", assignee="dana"),
        bpmn.end(),
        *bpmn.chain("start", "race", "late", "end"),
        *bpmn.chain("race", "approve", "end"),
    )
    page = html(panel(client_for(people["owner"]), "race", xml=xml))
    paths = " ".join(page.xpath("string(//*[@data-testid='first-event-paths'])").split())
    assert "Later 4 hours pass" in paths
    assert "Approve Not a Wait: only Waits can follow “First event wins”" in paths
    problems = page.xpath("string(//*[@data-testid='panel-problems'])")
    assert "only Waits (for a message or for time) can follow" in problems


def test_stop_everything_says_what_it_does_and_writes_its_outcome(people: dict[str, Any]) -> None:
    owner = client_for(people["owner"])
    page = html(panel(owner, "Event_written_off", xml=CHASE))
    assert page.xpath("string(//*[@data-testid='panel-kind'])") == "Stop everything"
    assert "every other step still open" in text(panel(owner, "Event_written_off", xml=CHASE))
    assert page.xpath("//input[@name='outcome']/@value") == ["written_off"]

    response = owner.post(
        reverse("designer:panel-apply", args=["purchase"]),
        {"xml": CHASE, "element": "Event_written_off", "name": "Write off", "outcome": "lost"},
    )
    payload = json.loads(response["HX-Trigger"])["baton:apply"]
    assert payload == {
        "element": "Event_written_off",
        "name": "Write off",
        "attrs": {"baton:outcome": "lost"},
        "terminate": True,
    }
