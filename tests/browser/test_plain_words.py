"""Plain words on the designer's pages as a business user sees them in Chromium.

Each page is read as it is drawn (``checkVisibility``): text, tooltips, placeholders and names
read aloud, outside "Details"/"Advanced" disclosures and ``data-technical`` chips (the rule is
in ``tests/plain_words.py``). The side panel of every block kind is scanned without a browser
in ``tests/designer/test_plain_words.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from designer.starters import starter
from orchestration.definitions import create_workflow, new_draft, publish_version, save_draft
from tests.browser.test_designer import canvas_ready, drop, shape
from tests.browser.test_try_it import published_with_requests
from tests.plain_words import assert_plain

pytestmark = pytest.mark.backend_neutral

SHOWCASE = (Path(__file__).resolve().parents[2] / "orchestration/fixtures/purchase_approval.bpmn").read_text()

# The words on the page a person sees, in document order (see tests/plain_words.py for the rule).
_VISIBLE_TEXT = """(selector) => {
  const root = selector ? document.querySelector(selector) : document.body;
  const technical = (details) => {
    const summary = details.querySelector(':scope > summary');
    return summary !== null && /^\\s*(Details|Advanced)\\b/.test(summary.textContent);
  };
  const exempt = (el) => {
    for (let node = el; node; node = node.parentElement) {
      // The bpmn.io watermark must stay visible (its licence); it names the drawing library, not a step.
      if (node.hasAttribute('data-technical') || node.classList.contains('bjs-powered-by')) return true;
      if (node.tagName === 'SUMMARY' && node.parentElement && node.parentElement.tagName === 'DETAILS') {
        node = node.parentElement;  // a disclosure's summary is read; go on above its disclosure
        continue;
      }
      if (node.tagName === 'DETAILS' && technical(node)) return true;
    }
    return false;
  };
  const seen = (el) => el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true });
  const parts = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
  for (let node = walker.currentNode; node; node = walker.nextNode()) {
    if (node.nodeType === Node.TEXT_NODE) {
      const el = node.parentElement;
      if (!el || ['SCRIPT', 'STYLE', 'TEXTAREA', 'NOSCRIPT', 'OPTION'].includes(el.tagName)) continue;
      if (!seen(el) || exempt(el)) continue;
      parts.push(node.textContent);
    } else if (seen(node) && !exempt(node)) {
      for (const name of ['title', 'placeholder', 'aria-label', 'alt']) {
        if (node.getAttribute(name)) parts.push(node.getAttribute(name));
      }
      if (node.tagName === 'SELECT') {
        for (const option of node.options) parts.push(option.textContent);
      }
    }
  }
  return parts.join(' ').split(/\\s+/).join(' ');
}"""


def read(page: Page, where: str, selector: str = "") -> str:
    """Fail on any technical word ``page`` shows (inside ``selector`` when given); return its text."""
    text = str(page.evaluate(_VISIBLE_TEXT, selector or None))
    assert_plain(where, text)
    return text


def test_the_designer_publish_dialog_try_it_live_view_and_versions_speak_plain_words(demo, login) -> None:
    published_with_requests()
    admin = get_user_model().objects.get(username="admin")
    travel: Any = starter("travel-request")
    version = publish_version(create_workflow("trips", "Trips", travel.diagram(), owner=admin), actor=admin)
    new_draft(version, actor=admin)
    save_draft(
        version.workflow, travel.diagram().replace("amount &gt; 1000.0", "amount &gt; 5000.0"), actor=admin
    )
    page = login("admin")
    page.goto("/designer/")
    read(page, "the list of workflows")
    page.goto("/designer/new/")
    read(page, "the New workflow page")
    page.goto("/designer/trips/versions/")
    read(page, "the versions page")
    page.goto("/designer/trips/versions/1/")
    canvas_ready(page)
    read(page, "a published version")
    page.goto("/designer/trips/sharing/")
    read(page, "the sharing page")
    page.goto("/designer/trips/versions/")
    page.get_by_test_id("compare-draft").click()
    expect(page.get_by_test_id("compare-new")).to_have_attribute("data-ready", "true")
    assert "What changed" in read(page, "the What changed page")

    page.goto("/designer/purchase-approval/")
    canvas_ready(page)
    shown = read(page, "the designer (toolbar, palette, canvas, footer)")
    for words in ("Tidy up", "Automated step", "Manager approval", "No problems"):
        assert words in shown  # toolbar, palette, a label on the canvas, the footer

    # A block selected: its side panel and the buttons beside it on the canvas.
    shape(page, "Task_manager_approval").click()
    expect(page.get_by_test_id("designer-panel-form")).to_have_attribute(
        "data-element", "Task_manager_approval"
    )
    assert "Who decides" in read(page, "the designer with an Approval selected")
    page.keyboard.press("Escape")

    page.get_by_test_id("publish").click()
    dialog = page.get_by_test_id("publish-dialog")
    expect(dialog).to_be_visible()
    # Read once it has faded in: a fading dialog is not yet what a person reads.
    page.wait_for_function("() => getComputedStyle(document.querySelector('#publish-modal')).opacity === '1'")
    assert "Who may start requests?" in read(page, "the publish dialog", "#publish-modal")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()

    page.get_by_test_id("try-it").click()
    panel = page.get_by_test_id("try-panel")
    panel.get_by_label("Item").fill("Laptop")
    panel.get_by_label("Amount").fill("1500")
    read(page, "the Try it panel", "#try-it")
    panel.get_by_test_id("try-start-run").click()
    expect(page.get_by_test_id("try-question").filter(has_text="Check signature authority")).to_be_visible()
    read(page, "a test run answering an automated step", "#try-it")
    page.get_by_test_id("try-question").get_by_test_id("try-use-answer").click()
    expect(page.get_by_test_id("try-question").filter(has_text="Manager approval")).to_be_visible()
    read(page, "a test run deciding an approval", "#try-it")
    page.get_by_test_id("try-question").get_by_test_id("try-approve").click()
    for step in ("Place order", "Notify requester"):
        page.get_by_test_id("try-question").filter(has_text=step).get_by_test_id("try-use-answer").click()
    expect(page.get_by_test_id("try-finished")).to_be_visible()
    assert "the message was not sent" in read(page, "a finished test run", "#try-it")
    page.get_by_test_id("try-tab-replay").click()
    page.get_by_test_id("try-replay-run").click()
    expect(page.get_by_test_id("replay-group").first).to_be_visible()
    for group in page.get_by_test_id("replay-group").all():
        group.locator("summary").click()
    assert "Desk lamp" in read(page, "the replay", "#try-it")

    page.goto("/designer/purchase-approval/live/")
    canvas_ready(page)
    assert "running" in read(page, "the live view")
    page.get_by_test_id("instance-link").first.click()
    canvas_ready(page)
    expect(page.get_by_test_id("instance-steps")).to_contain_text("Check signature authority")
    read(page, "one request followed in the live view")


def test_the_problems_list_names_blocks_plainly_and_unnamed_ones_by_their_place(
    demo, login, screenshot
) -> None:
    admin = get_user_model().objects.get(username="admin")
    broken = (
        SHOWCASE.replace(">within_authority<", '>amount &gt; "1000"<')
        .replace(' default="Flow_no"', "")
        .replace('name="Manager approval"', "")
    )
    create_workflow("broken", "Laptop purchase", broken, owner=admin)
    page = login("admin")
    page.goto("/designer/broken/")
    canvas_ready(page)
    drop(page, "Approval", 520, 700)
    drop(page, "Approval", 760, 700)
    expect(page.get_by_test_id("save-state")).to_contain_text("Saved")
    page.get_by_test_id("problems").locator("[data-action=toggle-problems]").click()
    problems = page.locator("#problem-list")
    expect(problems).to_be_visible()
    expect(problems).to_contain_text("The second Approval")
    expect(problems).to_contain_text("path taken otherwise")
    read(page, "the problems list", "#problems")
    problems.locator(".designer-problem", has_text="The second Approval").first.click()
    expect(page.get_by_test_id("designer-panel-form")).to_be_visible()
    read(page, "the designer with the problems list and a panel open")
    expect(page.get_by_test_id("designer-panel-form").locator("h2")).to_have_text("The second Approval")
    screenshot(page, "problems-and-panel")
    # The Start's form fields: a money field's type and its currency field, each with its words showing.
    shape(page, "StartEvent_request").click()
    start = page.get_by_test_id("designer-panel-form")
    expect(start).to_have_attribute("data-kind", "start")
    currency = start.locator("label[for=id_fields-1-currency]")  # the Amount's (the form's second field)
    expect(currency).to_have_text("Its currency is in the field")
    currency.scroll_into_view_if_needed()
    expect(currency).to_be_visible()
    read(page, "the Start's panel")
    screenshot(page, "start-panel")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    canvas_ready(page)
    page.get_by_test_id("problems").locator("[data-action=toggle-problems]").click()
    expect(problems).to_contain_text("The second Approval")
    screenshot(page, "problems-phone")
