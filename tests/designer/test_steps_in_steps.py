"""The panel for Groups, events on a step, For each and End with error writes what the compiler reads.

Each test loads the panel for an element as the browser does, changes fields, applies, and
applies the answer to the XML the way panel.js applies it to the canvas; the result compiles
into the graph the engine runs. Bad input is refused with a sentence naming what is wrong.
"""

from __future__ import annotations

from typing import Any

import lxml.html
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from designer import panels
from designer.diagram import Diagram
from designer.panels.base import PanelContext
from designer.scope import scope_at
from orchestration.bpmn.compiler import compile_bpmn
from orchestration.definitions import create_workflow
from orchestration.models import Workflow
from tests import bpmn
from tests.designer.test_roundtrip import applied, load, submit

pytestmark = pytest.mark.django_db

REVIEWERS = bpmn.script("people", '{"reviewers": ["ann", "bob"]}', name="Who reviews")


def _flow(*elements: str, errors: tuple[str, ...] = (), messages: tuple[str, ...] = ()) -> str:
    return bpmn.definitions(*elements, errors=errors, messages=messages)


APPROVAL = _flow(
    bpmn.start(),
    REVIEWERS,
    bpmn.user_task("review", name="Review", groups="Finance", rule="group"),
    bpmn.end(),
    *bpmn.chain("start", "people", "review", "end"),
)
ORDER = _flow(
    bpmn.start(),
    bpmn.service(
        "order", "http.request", name="Place order", properties={"url": "https://erp.example/orders"}
    ),
    bpmn.end(),
    *bpmn.chain("start", "order", "end"),
    errors=("DECLINED",),
)


@pytest.fixture
def designer() -> Client:
    owner = get_user_model().objects.create_user("dana")
    for name in ("Employees", "Finance", "Procurement"):
        Group.objects.create(name=name)
    create_workflow("purchase", "Purchase approval", APPROVAL, owner=owner)
    client = Client()
    client.force_login(owner)
    return client


def change(client: Client, xml: str, element: str, **changes: str) -> tuple[dict[str, Any], str]:
    values = [(k, v) for k, v in load(client, xml, element) if k not in changes]
    values += list(changes.items())
    payload = submit(client, xml, values)
    return payload, applied(xml, payload)


def refused(client: Client, xml: str, element: str, **changes: str) -> str:
    """Apply with ``changes``; the form must be refused: its text (with the error messages)."""
    values = [(k, v) for k, v in load(client, xml, element) if k not in changes]
    values += list(changes.items())
    data: dict[str, list[str]] = {"xml": [xml]}
    for name, value in values:
        data.setdefault(name, []).append(value)
    response = client.post(reverse("designer:panel-apply", args=["purchase"]), data)
    assert response.status_code == 200
    assert "HX-Trigger" not in response.headers, "the form was accepted"
    return " ".join(lxml.html.fromstring(response.content.decode()).text_content().split())


def panel_text(client: Client, xml: str, element: str) -> str:
    response = client.post(reverse("designer:panel", args=["purchase"]), {"xml": xml, "element": element})
    assert response.status_code == 200
    return " ".join(lxml.html.fromstring(response.content.decode()).text_content().split())


def graph(xml: str) -> dict[str, Any]:
    result = compile_bpmn(xml)
    assert result.ok, [str(p) for p in result.errors]
    assert result.graph is not None
    return dict(result.graph)


# --- For each


def test_for_each_writes_the_loop_the_compiler_reads_and_unticking_removes_it(designer: Client) -> None:
    payload, xml = change(
        designer,
        APPROVAL,
        "review",
        **{
            "foreach-enabled": "on",
            "foreach-collection": "reviewers",
            "foreach-item": "reviewer",
            "foreach-order": "sequential",
            "foreach-stop": "cel",
            "foreach-completion": 'progress.outputs.exists(o, o.outcome == "rejected")',
            "foreach-output": "decisions",
            "foreach-output_item": "result",
        },
    )
    assert payload["loop"] == {
        "collection": "reviewers",
        "elementVariable": "reviewer",
        "isSequential": True,
        "completion": 'progress.outputs.exists(o, o.outcome == "rejected")',
        "outputCollection": "decisions",
        "outputElement": "result",
    }
    node = graph(xml)["nodes"]["review"]
    assert node["loop"] == {
        "collection": "reviewers",
        "item": "reviewer",
        "parallel": False,
        "completion": 'progress.outputs.exists(o, o.outcome == "rejected")',
        "output": "decisions",
        "output_item": "result",
    }
    # Loaded again, the panel shows what it wrote; applied unchanged, the file keeps its meaning.
    again, same = change(designer, xml, "review")
    assert again["loop"] == payload["loop"] and graph(same) == graph(xml)
    _, xml = change(designer, xml, "review", **{"foreach-stop": "count", "foreach-stop_count": "2"})
    assert graph(xml)["nodes"]["review"]["loop"]["completion"] == "progress.completed >= 2"
    assert ("foreach-stop", "count") in load(designer, xml, "review")
    off, xml = change(designer, xml, "review", **{"foreach-enabled": ""})
    assert off["loop"] is None and "loop" not in graph(xml)["nodes"]["review"]
    assert "multiInstanceLoopCharacteristics" not in xml


def test_for_each_refuses_a_missing_or_non_list_collection_and_bad_names(designer: Client) -> None:
    base = {"foreach-enabled": "on"}
    assert "Choose the list to go through." in refused(designer, APPROVAL, "review", **base)
    text = refused(designer, APPROVAL, "review", **base, **{"foreach-collection": "initiator"})
    assert "it must give a list" in text
    text = refused(
        designer, APPROVAL, "review", **base, **{"foreach-collection": "reviewers", "foreach-item": "2nd"}
    )
    assert "Use letters, digits and _" in text
    text = refused(
        designer,
        APPROVAL,
        "review",
        **base,
        **{"foreach-collection": "reviewers", "foreach-stop": "cel", "foreach-completion": '"done"'},
    )
    assert "Condition gives a string, not true or false" in text
    text = refused(
        designer, APPROVAL, "review", **base, **{"foreach-collection": "reviewers", "foreach-stop": "count"}
    )
    assert "Say after how many items to stop." in text
    text = refused(
        designer,
        APPROVAL,
        "review",
        **base,
        **{"foreach-collection": "reviewers", "foreach-output_item": "result.outcome"},
    )
    assert "Name the list the results go into." in text


def test_for_each_is_offered_only_where_the_kind_loops() -> None:
    xml = _flow(bpmn.start(), bpmn.gateway("gw"), bpmn.end(), *bpmn.chain("start", "gw", "end"))
    assert "For each" not in _sections(xml, "gw")
    assert _sections(APPROVAL, "review") == ["ForEachSection", "EventsSection"]
    assert _sections(APPROVAL, "people") == []  # Set data neither loops nor has events


def _sections(xml: str, element: str) -> list[str]:
    diagram = Diagram.parse(xml)
    el = diagram.find(element)
    assert el is not None
    scope = scope_at(diagram, compile_bpmn(xml).declared, element)
    ctx = PanelContext(Workflow(key="purchase", name="Purchase"), diagram, el, element, scope)
    return [type(s).__name__ for s in panels.form_class(el).for_element(ctx).sections]


# --- events on a step


def test_a_deadline_added_in_the_approvals_panel_becomes_a_timer_on_its_edge_with_a_path(
    designer: Client,
) -> None:
    payload, xml = change(
        designer,
        APPROVAL,
        "review",
        **{"events-role": "deadline", "events-after_count": "3", "events-after_unit": "days"},
    )
    attach = payload["attach"]
    assert attach["host"] == "review" and attach["definition"] == "timer" and attach["interrupting"]
    assert attach["settings"]["name"] == "After 3 days" and attach["end"]["name"] == "Out of time"
    nodes = graph(xml)["nodes"]
    event = nodes[attach["id"]]
    assert event["config"]["role"] == "timer" and event["config"]["timer"] == {
        "kind": "duration",
        "text": "P3D",
    }
    assert nodes["review"]["boundaries"] == [attach["id"]]
    assert nodes[attach["end"]["id"]]["kind"] == "end"
    # The panel now lists it in words, and offers nothing to add twice.
    text = panel_text(designer, xml, "review")
    assert "Deadline After 3 days, stop waiting" in text
    assert ("events-role", "") in load(designer, xml, "review")

    # Removing it takes its End along, and the diagram is as before.
    removed, xml = change(designer, xml, "review", **{"events-remove": attach["id"]})
    assert removed["remove"] == [attach["id"], attach["end"]["id"]]
    assert graph(xml)["nodes"].keys() == graph(APPROVAL)["nodes"].keys()


def test_a_repeating_reminder_is_a_non_interrupting_cycle(designer: Client) -> None:
    payload, xml = change(
        designer,
        APPROVAL,
        "review",
        **{
            "events-role": "reminder",
            "events-after_count": "2",
            "events-after_unit": "hours",
            "events-repeat": "on",
            "events-times": "3",
        },
    )
    event = graph(xml)["nodes"][payload["attach"]["id"]]
    assert event["config"]["role"] == "reminder" and not event["config"]["interrupting"]
    assert event["config"]["timer"] == {"kind": "cycle", "text": "R3/PT2H"}
    assert 'cancelActivity="false"' in xml
    assert "Reminder Every 2 hours, up to 3 times" in panel_text(designer, xml, "review")


def test_if_it_fails_on_a_named_error_reuses_the_files_error_and_keeps_it_in_a_variable(
    designer: Client,
) -> None:
    payload, xml = change(
        designer,
        ORDER,
        "order",
        **{
            "events-role": "error",
            "events-error_which": "code",
            "events-error_code": "DECLINED",
            "events-error_variable": "failure",
        },
    )
    event = graph(xml)["nodes"][payload["attach"]["id"]]["config"]
    assert event["error_code"] == "DECLINED" and event["error_variable"] == "failure"
    assert xml.count("<bpmn:error ") == 1  # the file's own error, reused
    _, xml = change(designer, xml, payload["attach"]["id"], error_code="OUT_OF_STOCK")
    assert 'errorCode="OUT_OF_STOCK"' in xml
    assert graph(xml)["nodes"][payload["attach"]["id"]]["config"]["error_code"] == "OUT_OF_STOCK"


def test_an_approval_offers_no_failure_path_and_a_message_needs_its_key(designer: Client) -> None:
    text = panel_text(designer, APPROVAL, "review")
    assert "Deadlines and messages" in text
    assert "When the step fails" not in text
    text = refused(designer, APPROVAL, "review", **{"events-role": "error"})
    assert "Select a valid choice" in text
    text = refused(
        designer, APPROVAL, "review", **{"events-role": "message", "events-message_name": "Cancelled"}
    )
    assert "Say which value a message must carry" in text
    payload, xml = change(
        designer,
        APPROVAL,
        "review",
        **{
            "events-role": "message",
            "events-message_name": "Order cancelled",
            "events-correlation_key": "business_key",
            "events-message_stops": "goes_on",
        },
    )
    event = graph(xml)["nodes"][payload["attach"]["id"]]["config"]
    assert event["message"] == "Order cancelled" and not event["interrupting"]
    assert event["correlation_key"] == "business_key"
    text = panel_text(designer, xml, "review")
    assert 'Message while waiting When "Order cancelled" arrives; the step goes on waiting Edit' in text


def test_the_events_own_panel_uses_the_same_words_and_refuses_what_is_missing(designer: Client) -> None:
    xml = _flow(
        bpmn.start(),
        bpmn.user_task("review", name="Review", groups="Finance", rule="group"),
        bpmn.boundary_timer("late", "review", duration="P2D", name="Too late"),
        bpmn.end(),
        bpmn.end("late_end"),
        *bpmn.chain("start", "review", "end"),
        bpmn.flow("late", "late_end"),
    )
    text = panel_text(designer, xml, "late")
    assert "Deadline" in text and "On Review." in text
    assert "If it fails" not in text  # an approval cannot fail that way
    assert "Say after how long." in refused(designer, xml, "late", after_count="")
    payload, xml = change(designer, xml, "late", role="reminder", after_count="1", after_unit="days")
    assert payload["attrs"]["cancelActivity"] is False and payload["timer"] == {
        "kind": "timeDuration",
        "value": "P1D",
    }
    config = graph(xml)["nodes"]["late"]["config"]
    assert config["role"] == "reminder" and config["timer"] == {"kind": "duration", "text": "P1D"}
    # Unchanged, it writes back what it read.
    _, same = change(designer, xml, "late")
    assert graph(same) == graph(xml)


def test_removing_an_event_no_longer_on_the_step_is_refused_by_name(designer: Client) -> None:
    assert "That event is no longer on this step." in refused(
        designer, APPROVAL, "review", **{"events-remove": "gone"}
    )


# --- Group of steps, End with error


def test_a_group_panel_names_its_steps_and_offers_for_each_and_its_events(designer: Client) -> None:
    xml = _flow(
        bpmn.start(),
        REVIEWERS,
        bpmn.group(
            "each",
            bpmn.start("inner"),
            bpmn.user_task("check", name="Check line", groups="Finance", rule="group"),
            bpmn.end("inner_end"),
            *bpmn.chain("inner", "check", "inner_end"),
            name="Every line",
        ),
        bpmn.end(),
        *bpmn.chain("start", "people", "each", "end"),
    )
    text = panel_text(designer, xml, "each")
    assert "Group of steps" in text and "Inside: Check line" in text
    assert "If it fails" in text and "For each" in text
    payload, xml = change(
        designer,
        xml,
        "each",
        **{"foreach-enabled": "on", "foreach-collection": "reviewers", "foreach-order": "parallel"},
    )
    assert graph(xml)["nodes"]["each"]["loop"]["parallel"] is True
    payload, xml = change(designer, xml, "each", **{"events-role": "error"})
    assert graph(xml)["nodes"]["each"]["boundaries"] == [payload["attach"]["id"]]


def test_an_end_becomes_an_end_with_error_and_back(designer: Client) -> None:
    xml = _flow(
        bpmn.start(),
        bpmn.group(
            "g",
            bpmn.start("g_start"),
            bpmn.end("g_end"),
            *bpmn.chain("g_start", "g_end"),
        ),
        bpmn.end(),
        *bpmn.chain("start", "g", "end"),
    )
    assert "Give the error a code" in refused(designer, xml, "g_end", means="error")
    assert "as one word" in refused(designer, xml, "g_end", means="error", error_code="NO BUDGET")
    payload, xml = change(designer, xml, "g_end", means="error", error_code="NO_BUDGET")
    assert payload["error"] == {"code": "NO_BUDGET"}
    node = graph(xml)["nodes"]["g_end"]
    assert node["kind"] == "error_end" and node["config"]["error_code"] == "NO_BUDGET"
    text = panel_text(designer, xml, "g_end")
    assert "End with error" in text and "Finished with an error" in text
    assert "only a workflow that calls this one" not in text  # its Group's path can catch it
    assert "only a workflow that calls this one can catch the error" in panel_text(designer, xml, "end")
    payload, xml = change(designer, xml, "g_end", means="finished", outcome="completed")
    assert payload["noDefinition"] is True
    node = graph(xml)["nodes"]["g_end"]
    assert node["kind"] == "end" and node["config"]["outcome"] == "completed"


def test_an_end_becomes_stop_everything_and_back(designer: Client) -> None:
    xml = _flow(bpmn.start(), bpmn.end(), *bpmn.chain("start", "end"))

    payload, xml = change(designer, xml, "end", means="stop", outcome="withdrawn")

    assert payload["terminate"] is True
    node = graph(xml)["nodes"]["end"]
    assert node["kind"] == "terminate_end" and node["config"]["outcome"] == "withdrawn"
    assert "Stop everything" in panel_text(designer, xml, "end")
    payload, xml = change(designer, xml, "end", means="finished", outcome="done")
    assert payload["noDefinition"] is True and graph(xml)["nodes"]["end"]["kind"] == "end"


def test_a_deadline_on_a_date_from_an_imported_file_is_kept_until_a_time_is_given(designer: Client) -> None:
    xml = _flow(
        bpmn.start(),
        bpmn.user_task("review", name="Review", groups="Finance", rule="group"),
        bpmn.boundary_timer("late", "review", duration="P2D", name="By year end").replace(
            "<bpmn:timeDuration>P2D</bpmn:timeDuration>",
            "<bpmn:timeDate>2026-12-31T17:00:00Z</bpmn:timeDate>",
        ),
        bpmn.end(),
        bpmn.end("late_end"),
        *bpmn.chain("start", "review", "end"),
        bpmn.flow("late", "late_end"),
    )
    assert "The file says 2026-12-31T17:00:00Z" in panel_text(designer, xml, "late")
    _, same = change(designer, xml, "late")
    assert graph(same)["nodes"]["late"]["config"]["timer"] == {"kind": "date", "text": "2026-12-31T17:00:00Z"}
    _, changed = change(designer, xml, "late", after_count="2")
    assert graph(changed)["nodes"]["late"]["config"]["timer"] == {"kind": "duration", "text": "P2D"}
