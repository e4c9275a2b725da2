"""Undo, Redo and Delete while the side panel holds changes not applied yet: nothing is dropped silently."""

from __future__ import annotations

import pytest
from playwright.sync_api import Dialog, expect

from tests.browser.test_designer import canvas_ready, panel_form, select, shape

pytestmark = pytest.mark.backend_neutral


def element_name(page, element_id: str) -> str:
    return page.evaluate(
        "(id) => window.batonModeler.get('elementRegistry').get(id).businessObject.name || ''", element_id
    )


def test_undo_applies_what_was_typed_first_so_redo_brings_it_back(demo, login) -> None:
    page = login("admin")
    page.goto("/designer/purchase-approval/")
    canvas_ready(page)
    panel = page.locator("#designer-panel")
    select(page, "Task_notify_rejection")
    panel_form(page, "notify").get_by_label("Name", exact=True).fill("Tell the requester no")
    expect(panel.get_by_test_id("panel-unsaved")).to_be_visible()

    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_role("button", name="Redo")).to_be_enabled()
    assert element_name(page, "Task_notify_rejection") == "Notify rejection"
    page.get_by_role("button", name="Redo").click()
    expect(shape(page, "Task_notify_rejection")).to_contain_text("Tell the requester no")


def test_deleting_the_block_being_edited_asks_first(demo, login) -> None:
    page = login("admin")
    page.goto("/designer/purchase-approval/")
    canvas_ready(page)
    select(page, "Task_notify_rejection")
    panel_form(page, "notify").get_by_label("Name", exact=True).fill("Half typed")
    asked: list[str] = []

    def answer(accept: bool):
        def handle(dialog: Dialog) -> None:
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return handle

    page.once("dialog", answer(False))
    page.locator('.djs-context-pad [data-action="delete"]').click()
    expect(shape(page, "Task_notify_rejection")).to_have_count(1)
    assert asked == [
        "Delete this block? What you typed in its settings is not applied yet and would be lost."
    ]
    expect(page.locator("#designer-panel").get_by_test_id("panel-unsaved")).to_be_visible()

    page.once("dialog", answer(True))
    page.locator('.djs-context-pad [data-action="delete"]').click()
    expect(shape(page, "Task_notify_rejection")).to_have_count(0)
    assert len(asked) == 2
