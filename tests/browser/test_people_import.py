"""An administrator imports HR's file in the admin: preview, apply, and the person's Changes."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from approvals.models import Profile
from tests.browser.conftest import SCREENSHOTS

HR_FILE = (
    "username,email,first name,last name,manager,department,cost centre,title,active,"
    "authority limit amount,authority limit currency\n"
    "manager,max@example.com,Max,Manager,cfo,Sales,CC-10,Sales manager,yes,5000,USD\n"
    "jdoe,jdoe@example.com,Jane,Doe,manager,Sales,CC-10,Account executive,yes,500.00,USD\n"
)


@pytest.fixture
def company(transactional_db: Any) -> None:
    call_command("baton_demo", verbosity=0)


def test_admin_previews_an_hr_file_applies_it_and_reads_the_changes_on_the_person(
    company: None, login, screenshot, tmp_path
) -> None:
    hr_file = tmp_path / "people.csv"
    hr_file.write_text(HR_FILE)
    admin = login("admin")
    admin.goto("/admin/auth/user/")
    admin.get_by_role("link", name="Import people from HR").click()
    admin.get_by_label("HR file (CSV)").set_input_files(str(hr_file))
    admin.get_by_role("button", name="Preview changes").click()

    preview = admin.locator("#import-preview")
    expect(preview).to_contain_text("7 changes from people.csv — nothing is changed until you apply them")
    expect(preview).to_contain_text("Max Manager: manager Dana Director → Chris Finance")
    expect(preview).to_contain_text("Max Manager: limit USD 2,000.00 → USD 5,000.00")
    expect(preview).to_contain_text("create user jdoe: Jane Doe, jdoe@example.com")
    assert Profile.objects.get(user__username="manager").manager.username == "director"
    screenshot(admin, "preview-desktop")
    admin.set_viewport_size({"width": 390, "height": 844})
    screenshot(admin, "preview-phone")
    admin.set_viewport_size({"width": 1360, "height": 900})

    admin.get_by_role("button", name="Apply 7 changes").click()
    expect(admin.locator(".messagelist")).to_contain_text("7 change(s) made from people.csv")
    assert Profile.objects.get(user__username="manager").manager.username == "cfo"

    admin.get_by_role("link", name="manager", exact=True).click()
    changes = admin.locator("table.person-changes")
    expect(changes).to_contain_text("manager Dana Director → Chris Finance")
    expect(changes).to_contain_text("limit USD 2,000.00 → USD 5,000.00")
    expect(changes).to_contain_text("HR import (people.csv)")
    changes.scroll_into_view_if_needed()
    screenshot(admin, "person-desktop")
    changes.screenshot(path=str(SCREENSHOTS / "people-import--changes-desktop.png"))
    admin.set_viewport_size({"width": 390, "height": 844})
    screenshot(admin, "person-phone")
    changes.screenshot(path=str(SCREENSHOTS / "people-import--changes-phone.png"))


def test_admin_creates_a_provisioning_token_and_sees_it_once(company: None, login, screenshot) -> None:
    admin = login("admin")
    admin.goto("/admin/approvals/provisioningtoken/add/")
    admin.get_by_label("Name").fill("Okta")
    admin.get_by_role("button", name="Save", exact=True).click()

    expect(admin.locator("#provisioning-token")).to_contain_text("Give Okta this address and token")
    expect(admin.locator("#provisioning-token")).to_contain_text("/scim/v2/")
    expect(admin.locator("#provisioning-token")).to_contain_text("made by “Okta (identity provider)”")
    secret = admin.locator("#token-secret").inner_text()
    assert len(secret) > 30
    screenshot(admin, "token-desktop")
    admin.set_viewport_size({"width": 390, "height": 844})
    screenshot(admin, "token-phone")

    admin.get_by_role("link", name="Back to the provisioning tokens").click()
    expect(admin.locator("#result_list")).to_contain_text("Okta")
    assert secret not in admin.content()
