"""Comparing versions in a real browser: what changed is coloured on both diagrams and listed."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from designer.starters import starter
from orchestration.definitions import create_workflow, new_draft, publish_version, save_draft

# The colours on both diagrams are the page's scripts; the compare page's list of changes is tested
# on both backends in tests/designer/test_compare.py.
pytestmark = pytest.mark.backend_neutral

TRAVEL = starter("travel-request").diagram()  # type: ignore[union-attr]


def test_the_draft_compared_with_the_live_version_shows_the_changed_threshold_on_both_diagrams(
    demo, login, screenshot
) -> None:
    admin = get_user_model().objects.get(username="admin")
    version = publish_version(create_workflow("trips", "Trips", TRAVEL, owner=admin), actor=admin)
    new_draft(version, actor=admin)
    save_draft(version.workflow, TRAVEL.replace("amount &gt; 1000.0", "amount &gt; 5000.0"), actor=admin)

    page = login("admin")
    page.goto("/designer/trips/versions/")
    page.get_by_test_id("compare-draft").click()
    expect(page.get_by_role("heading", name="What changed: Version 1 → Draft")).to_be_visible()
    expect(page.get_by_test_id("compare-summary")).to_have_text("1 changed.")
    for side in ("compare-old", "compare-new"):
        canvas = page.get_by_test_id(side)
        expect(canvas).to_have_attribute("data-ready", "true")
        expect(canvas.locator('.djs-connection.compare-changed[data-element-id="Flow_dear"]')).to_have_count(
            1
        )
    changes = page.get_by_test_id("compare-changes")
    expect(changes).to_contain_text(
        "The path “Yes” from Decision “Costs more than 1,000?” to Approval “Manager approval”"
    )
    expect(changes).to_contain_text("changed: when it is taken")
    expect(changes.locator("code")).to_be_hidden()  # the expressions stay under Details
    screenshot(page, "compare-versions")
