"""Browser tests: Debian's Chromium driven by Playwright against the live server and a real engine.

Each test gets committed demo data (``baton_demo``) and a page per person; screenshots
go to ``test-artifacts/screenshots/`` so a person can look at what the tests saw.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from tests.conftest import ROOT, Engine

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
# Every context asks for reduced motion: Bootstrap then shows a dialog at once instead of sliding
# it in, so a click aims where the control is rather than where it was a frame earlier (a radio
# in the sliding publish dialog once took the click on the text above it).
MOTION = {"reduced_motion": "reduce"}
DEMO_PASSWORD = "baton"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def demo(live_engine: Engine) -> Engine:
    """The demo company and its published purchase-approval workflow, committed, with the engine running."""
    call_command("baton_demo", verbosity=0)
    return live_engine


@pytest.fixture
def csp_violations() -> list[str]:
    """What the browser refused under the Content Security Policy, in the contexts ``login`` opened."""
    return []


@pytest.fixture
def login(browser: Browser, live_server: Any, csp_violations: list[str]) -> Iterator[Callable[[str], Page]]:
    """``login("manager")`` opens a new browser context and signs that demo user in.

    Every test using it also fails if a page broke the Content Security Policy (Chromium
    says so on the console).
    """
    contexts = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            csp_violations.append(f"{message.page.url if message.page else '?'}: {message.text}")

    def sign_in(username: str, password: str = DEMO_PASSWORD) -> Page:
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1360, "height": 900}, **MOTION
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        context.on("console", watch)
        page = context.new_page()
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_test_id("user-menu")).to_be_visible()
        return page

    yield sign_in
    for context in contexts:
        context.close()
    assert csp_violations == [], "\n".join(csp_violations)


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """``screenshot(page, "inbox")`` saves a full-page PNG named after the test."""
    test = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)

    def take(page: Page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{test}--{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
