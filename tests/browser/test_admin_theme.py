"""The admin in the product's look, its org chart tree with "Who can approve?", and a person's time zone."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from tests.browser.conftest import MOTION

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1360, "height": 900}


def _both(page: Page, screenshot: Any, name: str) -> None:
    """A screenshot on a desk and on a phone, with nothing wider than the phone's screen."""
    screenshot(page, f"{name}-desktop")
    page.set_viewport_size(PHONE)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    screenshot(page, f"{name}-phone")
    page.set_viewport_size(DESKTOP)
    assert overflow <= 0 or name in {"changelist"}, f"{name} is {overflow}px wider than a phone"


def test_the_admin_looks_like_baton_and_its_pages_work(demo: Any, login, screenshot) -> None:
    page = login("admin")
    page.get_by_test_id("user-menu").click()
    page.get_by_role("link", name="Administration").click()

    expect(page.locator(".baton-admin-name")).to_have_text("Baton")
    expect(page.get_by_test_id("admin-back-to-app")).to_be_visible()
    header = page.locator("#header").evaluate("e => getComputedStyle(e).backgroundColor")
    assert header == "rgb(31, 37, 71)"  # the product's navigation bar
    _both(page, screenshot, "index")

    page.goto("/admin/auth/user/?q=Marketing")
    expect(page.locator("#result_list")).to_contain_text("Max Manager")
    _both(page, screenshot, "changelist")

    manager = get_user_model().objects.get(username="manager")
    page.goto(f"/admin/auth/user/{manager.pk}/change/")
    expect(page.locator("#profile-0").get_by_text("Manager chain (level 1 first)")).to_be_visible()
    _both(page, screenshot, "change-form")

    page.get_by_test_id("show-in-org-chart").click()
    expect(page.locator('li[data-person="manager"]')).to_be_in_viewport()

    page.get_by_test_id("admin-back-to-app").click()
    expect(page.get_by_test_id("user-menu")).to_be_visible()


def test_the_org_chart_finds_people_and_shows_who_approves(demo: Any, login, screenshot) -> None:
    page = login("admin")
    page.goto("/admin/")
    page.get_by_test_id("index-org-chart").click()
    tree = page.get_by_test_id("org-tree")
    expect(tree.locator('li[data-person="employee"]')).to_be_visible()

    page.get_by_test_id("org-filter").fill("buy")
    expect(tree.locator('li[data-person="buyer"]')).to_have_class(re.compile("org-hit"))
    expect(tree.locator('li[data-person="buyer"] mark')).to_have_text(["Buy", "buy"])  # name and title
    expect(page.locator("#org-filter-count")).to_have_text("1 match")
    page.get_by_role("button", name="Collapse all").click()
    expect(tree.locator('li[data-person="buyer"]')).to_be_hidden()
    page.get_by_test_id("org-filter").fill("ivan")
    expect(tree.locator('li[data-person="buyer"]')).to_be_visible()  # opened down to the match
    page.get_by_test_id("org-filter").fill("")

    ask = page.get_by_test_id("who-can-approve")
    ask.get_by_label("Requester").select_option(label="Emma Employee (employee)")
    ask.get_by_label("Amount").fill("5000")
    ask.get_by_label("Currency").fill("usd")
    ask.get_by_role("button", name="Show the chain").click()
    expect(page.get_by_test_id("org-answer")).to_contain_text(
        "Dana Director approves USD 5,000.00 at level 2"
    )
    expect(tree.locator('li[data-person="manager"] > .org-node')).to_have_class(re.compile("is-level"))
    expect(tree.locator('li[data-person="director"] > .org-node')).to_have_class(re.compile("is-approves"))
    expect(tree.locator('li[data-person="employee"] > .org-node')).to_have_class(re.compile("is-requester"))
    _both(page, screenshot, "org-chart")

    page.get_by_role("link", name="As a table").click()
    expect(page.locator("#who-can-approve-result")).to_contain_text("Dana Director covers it at level 2")
    _both(page, screenshot, "who-can-approve-table")
    page.get_by_test_id("on-the-org-chart").click()

    ask.get_by_label("Amount").fill("300")
    ask.get_by_role("button", name="Show the chain").click()
    expect(page.get_by_test_id("org-answer")).to_contain_text("approved at once")
    expect(tree.locator('li[data-person="manager"] > .org-node')).not_to_have_class(re.compile("is-level"))


def test_a_person_in_tokyo_reads_tokyo_times(demo: Any, login, screenshot) -> None:
    page = login("manager")
    page.goto("/out-of-office/")
    page.get_by_label("Your time zone").select_option("Asia/Tokyo")
    page.get_by_role("button", name="Use this time zone").click()
    expect(page.locator(".alert-success, .alert")).to_contain_text("Asia/Tokyo")
    expect(page.get_by_label("Your time zone")).to_have_value("Asia/Tokyo")
    page.get_by_label("First day away").fill("2030-01-07")
    page.get_by_label("Last day away").fill("2030-01-09")
    page.get_by_label("Who decides for you").select_option(label="Ivan Buyer (buyer)")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_test_id("absence-history")).to_contain_text("JST")  # when it was planned, Tokyo time
    screenshot(page, "time-zone")


def test_the_admin_sign_in_page_wears_the_product_look(browser, live_server, screenshot) -> None:
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP, **MOTION)
    try:
        page = context.new_page()
        page.goto("/admin/")
        expect(page.locator(".baton-admin-name")).to_have_text("Baton")
        expect(page.get_by_role("button", name="Log in")).to_be_visible()
        _both(page, screenshot, "sign-in")
    finally:
        context.close()
