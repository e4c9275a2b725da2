"""Plain words in the side panel: every block kind's panel, read as a business user reads it.

The kinds come from the block registry: a kind registered tomorrow gets a bare block of its
own in the scanned diagram (and the panel its form has), so it is scanned without a line here.
The rule for what is read and what is exempt is in ``tests/plain_words.py``.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from lxml import etree

from orchestration.bpmn.parse import BPMN_NS
from orchestration.connectors import presets
from orchestration.definitions import create_workflow
from orchestration.engine import blocks
from tests import bpmn
from tests.plain_words import page_text, technical_words

pytestmark = pytest.mark.django_db

_AMOUNT = bpmn.field("amount", "number", required=True, label="Amount")
_ITEM = bpmn.field("item", label="Item")
_CURRENCY = bpmn.field("currency", "choice", label="Currency", choices="USD,EUR")


def _steps() -> list[str]:
    """One block of every kind and variant the palette offers, several with typical mistakes."""
    automated = [
        bpmn.service(f"auto_{i}", action.connector, preset=action.preset, name="").replace(
            f'name="auto_{i}"', ""
        )
        for i, action in enumerate(presets.actions())
    ]
    return [
        bpmn.start("start_form", _AMOUNT, _ITEM, _CURRENCY, name="Request"),
        bpmn.start("start_schedule", name="Every Monday", cron="0 9 * * 1"),
        bpmn.start("start_message", name="Order received", message="order"),
        '<bpmn:startEvent id="start_webhook" name="Called by the shop"><bpmn:extensionElements>'
        '<baton:input name="order" expression="payload.order"/></bpmn:extensionElements></bpmn:startEvent>',
        bpmn.for_each(bpmn.user_task("approve", name="Approve", assignee="dana"), "lines", item="line"),
        '<bpmn:userTask id="approve_2"/>',
        '<bpmn:userTask id="approve_3" baton:assigneeRule="manager"/>',
        *automated,
        bpmn.service("notify", "email", tag="sendTask", name="Tell the requester"),
        bpmn.script("set", '{"total": amount * 2.0}', name="Work out the total"),
        bpmn.gateway("decide", default="f_small", name="Big?"),
        bpmn.gateway("split", "parallel", name=""),
        bpmn.gateway("any", "inclusive", name=""),
        bpmn.wait_timer("wait_time", "P2D", name="Two days"),
        bpmn.wait_message("wait_message", "order", "item", name="Order confirmed"),
        '<bpmn:eventBasedGateway id="first"/>',
        bpmn.call("call", "other"),
        bpmn.group(
            "group",
            bpmn.start("group_start", name="Start"),
            bpmn.end("group_end", name="Done"),
            bpmn.flow("group_start", "group_end"),
            name="",
        ),
        bpmn.boundary_timer("deadline", "approve", duration="P3D", name=""),
        bpmn.boundary_timer("reminder", "approve", cycle="R/P1D", interrupting=False, name=""),
        bpmn.boundary_error("failed", "auto_0", name=""),
        bpmn.boundary_message("cancelled", "approve", "order", "item", name=""),
        bpmn.end("end", outcome="approved", name="Approved"),
        bpmn.error_end("end_error", "broken", name="Out of budget"),
        bpmn.stop("stop", name=""),
        '<bpmn:textAnnotation id="note"><bpmn:text>Ask finance</bpmn:text></bpmn:textAnnotation>',
        bpmn.flow("start_form", "decide"),
        bpmn.flow("decide", "approve", id="f_big", condition="amount > 1000.0", name="Over 1000"),
        bpmn.flow("decide", "set", id="f_small"),
        bpmn.flow("approve", "end", outcome="approved"),
        bpmn.flow("set", "split"),
        bpmn.flow("split", "any"),
    ]


def _with_every_kind(xml: str) -> str:
    """``xml`` plus a bare block of each registered kind (a boundary one on the Approval)."""
    root = etree.fromstring(xml.encode())
    process = root.find(f"{{{BPMN_NS}}}process")
    assert process is not None
    for kind in blocks.kinds():
        element = etree.SubElement(process, f"{{{BPMN_NS}}}{kind.element}", id=f"bare_{kind.name}")
        if kind.event_definition:
            etree.SubElement(element, f"{{{BPMN_NS}}}{kind.event_definition}")
        if kind.element == "boundaryEvent":
            element.set("attachedToRef", "approve")
    return etree.tostring(root, encoding="unicode")


DIAGRAM = _with_every_kind(
    bpmn.definitions(*_steps(), name="Purchase", messages=("order",), errors=("broken",))
)


def _element_ids() -> list[str]:
    """Each block and path a person can click (what the process holds)."""
    process = etree.fromstring(DIAGRAM.encode()).find(f"{{{BPMN_NS}}}process")
    assert process is not None
    return [el.get("id", "") for el in process.iterdescendants() if isinstance(el.tag, str) and el.get("id")]


@pytest.fixture
def designer() -> Client:
    owner = get_user_model().objects.create_user("dana", first_name="Dana")
    create_workflow("purchase", "Purchase", DIAGRAM, owner=owner)
    client = Client()
    client.force_login(owner)
    return client


def _panel(client: Client, element: str) -> str:
    response = client.post(reverse("designer:panel", args=["purchase"]), {"xml": DIAGRAM, "element": element})
    assert response.status_code == 200, element
    return response.content.decode()


def test_every_registered_kind_has_a_block_in_the_scanned_diagram() -> None:
    root = etree.fromstring(DIAGRAM.encode())
    read = {k.name for el in root.iter() if isinstance(el.tag, str) and (k := blocks.reading(el)) is not None}
    assert read >= {k.name for k in blocks.kinds()}


def test_every_panel_speaks_plain_words(designer: Client) -> None:
    hits: dict[str, list[str]] = {}
    for element in ["", *_element_ids()]:
        found = technical_words(page_text(_panel(designer, element)))
        if found:
            hits[element or "the process"] = found
    assert not hits, "\n".join(f"{where}:\n  " + "\n  ".join(words) for where, words in hits.items())


def test_an_unnamed_block_is_called_by_its_place_in_its_panel(designer: Client) -> None:
    # approve_3 is the third Approval in the file; the one of the bare blocks added for each kind the fourth.
    assert page_text(_panel(designer, "approve_3")).startswith("Approval The third Approval ")
    assert page_text(_panel(designer, "approve")).startswith("Approval Approve ")


def test_a_technical_detail_is_exempt_only_inside_a_disclosure() -> None:
    html = (
        "<p>Cost <code data-technical>cost_centre</code></p>"
        "<details><summary>Details</summary>CEL: <code>amount_usd &gt; 1000.0</code></details>"
        '<p title="Download as BPMN">Export <input value="my_flow" placeholder="e.g. total_cost"></p>'
    )
    assert page_text(html) == "Cost Details Download as BPMN Export e.g. total_cost"
    # A disclosure called anything but "Details" or "Advanced" is plain content, read whole.
    assert page_text("<details><summary>Which requests</summary>Desk <b>lamp</b></details>") == (
        "Which requests Desk lamp"
    )
    found = technical_words("Gateway_1g5k7yp, DEFAULT_FROM_EMAIL, cost_centre, https://x/a_b and the flow.")
    assert [hit.split(":")[0] for hit in found] == [
        "flow 'flow'",
        "a block's id 'Gateway_1g5k7yp'",
        "a setting's name 'DEFAULT_FROM_EMAIL'",
        "a snake_case name 'cost_centre'",
    ]
    found = technical_words("Workflow, cash flows? No: Workflows. The second Approval.")
    assert [hit.split(":")[0] for hit in found] == ["flow 'flows'"]
