"""Signing in and the page frame every user sees."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import MOTION

# Signing in is Django's session and form; tests/orchestration/test_lockout.py signs in on both backends.
pytestmark = pytest.mark.backend_neutral


def test_wrong_password_is_refused_with_a_message(browser: Browser, live_server, demo) -> None:
    context = browser.new_context(base_url=live_server.url, **MOTION)
    page = context.new_page()
    page.goto("/requests/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/requests/")
    page.get_by_label("Username").fill("employee")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username and password")
    context.close()


def test_signed_in_user_sees_the_navigation_and_can_sign_out(demo, login, screenshot) -> None:
    page = login("employee")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="New request")).to_be_visible()
    expect(nav.get_by_role("link", name="My requests")).to_be_visible()
    expect(nav.get_by_role("link", name="Designer")).to_have_count(0)
    screenshot(page, "home")
    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
