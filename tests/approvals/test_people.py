"""People from HR: the CSV import command (dry run, --apply, errors by line) and the admin's upload page."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client

from approvals.changes import person_changes
from approvals.models import AuthorityLimit, Profile
from approvals.people import apply_plan, read_people

pytestmark = pytest.mark.django_db

HEADER = (
    "username,email,first name,last name,manager,department,cost centre,title,active,"
    "authority limit amount,authority limit currency\n"
)
FILE = HEADER + (
    "max,max@example.com,Max,Manager,carl,Sales,CC-10,Sales manager,yes,5000,USD\n"
    "jdoe,jdoe@example.com,Jane,Doe,max,Sales,CC-10,Account executive,yes,500.00,usd\n"
)


@pytest.fixture
def people() -> dict[str, Any]:
    users = get_user_model().objects
    dana = users.create_user("dana", first_name="Dana", last_name="Director")
    carl = users.create_user("carl", first_name="Carl", last_name="CFO")
    max_ = users.create_user("max", email="old@example.com", first_name="Max", last_name="Manager")
    Profile.objects.create(user=dana)
    Profile.objects.create(user=carl)
    Profile.objects.create(user=max_, manager=dana, department="Marketing", title="Marketing manager")
    AuthorityLimit.objects.create(user=max_, amount=Decimal("2000.00"), currency="USD")
    return {"dana": dana, "carl": carl, "max": max_}


def _csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "people.csv"
    path.write_text(text)
    return str(path)


def _run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("baton_import_people", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_dry_run_lists_every_change_in_plain_words_and_changes_nothing(people, tmp_path):
    out, _ = _run(_csv(tmp_path, FILE))

    assert "Max Manager: manager Dana Director → Carl CFO" in out
    assert "Max Manager: limit USD 2,000.00 → USD 5,000.00" in out
    assert "Max Manager: department “Marketing” → “Sales”" in out
    assert "Max Manager: email “old@example.com” → “max@example.com”" in out
    assert (
        "create user jdoe: Jane Doe, jdoe@example.com, Account executive in Sales, manager Max Manager" in out
    )
    assert "Nothing was changed: run again with --apply." in out
    max_ = get_user_model().objects.get(username="max")
    assert max_.email == "old@example.com" and max_.profile.manager == people["dana"]
    assert AuthorityLimit.objects.get(user=max_).amount == Decimal("2000.00")
    assert not get_user_model().objects.filter(username="jdoe").exists()


def test_apply_makes_the_changes_and_a_second_run_finds_nothing_to_do(people, tmp_path):
    path = _csv(tmp_path, FILE)
    out, _ = _run(path, "--apply")

    assert "change(s) made." in out
    max_ = get_user_model().objects.get(username="max")
    assert max_.email == "max@example.com"
    assert max_.profile.manager == people["carl"] and max_.profile.department == "Sales"
    assert AuthorityLimit.objects.get(user=max_).amount == Decimal("5000.00")
    jdoe = get_user_model().objects.get(username="jdoe")
    assert jdoe.profile.manager == max_ and jdoe.is_active and not jdoe.has_usable_password()
    limit = AuthorityLimit.objects.get(user=jdoe)
    assert (limit.amount, limit.currency) == (Decimal("500.00"), "USD")
    out, _ = _run(path)
    assert "Nothing to change" in out


def test_errors_name_the_line_and_column_and_nothing_is_changed(people, tmp_path):
    text = (
        "username,manager,limit amount,limit currency,active\n"
        "max,ghost,12.345,USD,yes\n"
        "jdoe,max,100,XYZ,maybe\n"
        "dana,,abc,USD,\n"
        "jdoe,,,,\n"
        "jane doe,,,,\n"
    )
    with pytest.raises(CommandError, match="7 error"):
        _run(_csv(tmp_path, text), "--apply")
    plan = read_people(text)
    messages = [str(e) for e in plan.errors]
    assert messages == [
        "Line 2, limit amount: “12.345”: An amount in USD has at most 2 decimals.",
        "Line 2, manager: unknown manager “ghost”: not in the file nor in Baton.",
        "Line 3, active: “maybe” is neither yes nor no.",
        "Line 3, limit currency: “XYZ” is not a currency code such as USD.",
        "Line 4, limit amount: “abc”: Enter an amount, such as 1250.50.",
        "Line 5, username: jdoe is on line 3 already.",
        "Line 6, username: use letters, digits and @ . + - _ only (no spaces).",
    ]
    assert not get_user_model().objects.filter(username="jdoe").exists()
    assert Profile.objects.get(user=people["max"]).manager == people["dana"]


def test_a_manager_loop_through_the_database_is_refused_with_the_people_in_it(people):
    # dana → carl in the file, carl → max in the file, max → dana already in Baton.
    plan = read_people("username,manager\ndana,carl\ncarl,max\n")

    assert not plan.ok
    assert [str(e) for e in plan.errors] == [
        "Line 2, manager: the managers go round in a loop: dana → carl → max → dana."
    ]
    with pytest.raises(ValueError, match="nothing was changed"):
        apply_plan(plan)


def test_semicolon_files_from_spreadsheets_are_read_like_commas(people):
    plan = read_people("username;manager;limit amount;limit currency\nmax;carl;2500.50;USD\n")

    assert plan.ok, plan.errors
    assert plan.changes == [
        "Max Manager: manager Dana Director → Carl CFO",
        "Max Manager: limit USD 2,000.00 → USD 2,500.50",
    ]


@pytest.mark.parametrize(
    "text", ["", "\n", "username\n", "username\n\x00\n", '"username\n', "\ufeffusername\nx\n"]
)
def test_odd_files_give_errors_or_plans_never_exceptions(text):
    plan = read_people(text)

    assert plan.ok or plan.errors


def test_unknown_columns_and_a_missing_username_column_are_errors_of_line_1():
    plan = read_people("login name,shoe size\nx,42\n")

    assert [str(e) for e in plan.errors] == [
        "Line 1, column 1: unknown column “login name”.",
        "Line 1, column 2: unknown column “shoe size”.",
        "Line 1: A username column is needed: it says who each line is.",
    ]


def test_deactivate_missing_deactivates_but_never_deletes_and_spares_superusers(people, tmp_path):
    get_user_model().objects.create_superuser("root", "root@example.com", "x")
    text = "username,manager\ncarl,\ndana,carl\nmax,dana\n"
    out, _ = _run(_csv(tmp_path, text + "ghost-free,\n"), "--deactivate-missing")
    assert "deactivate" not in out  # ghost-free is new; everyone else is listed

    get_user_model().objects.create_user("leaver", first_name="Lee", last_name="Ver")
    out, _ = _run(_csv(tmp_path, text), "--deactivate-missing", "--apply")

    assert "deactivate leaver (Lee Ver): not in the file" in out
    leaver = get_user_model().objects.get(username="leaver")
    assert not leaver.is_active
    change = next(c for c in person_changes(leaver) if c.what == "deactivated")
    assert change.who == "HR import (people.csv)"
    assert get_user_model().objects.get(username="root").is_active


def test_the_command_says_when_the_file_cannot_be_read(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        _run(str(tmp_path / "missing.csv"))


# --- The admin's upload page -------------------------------------------------------------------


def _upload(client: Client, text: str, **extra: Any) -> Any:
    return client.post(
        "/admin/auth/user/import/",
        {"file": SimpleUploadedFile("people.csv", text.encode(), content_type="text/csv"), **extra},
    )


def test_upload_previews_the_changes_and_confirm_applies_them(admin_client, people):
    preview = _upload(admin_client, FILE)

    html = preview.content.decode()
    assert preview.status_code == 200
    assert "Max Manager: manager Dana Director → Carl CFO" in html
    assert "Max Manager: limit USD 2,000.00 → USD 5,000.00" in html
    assert "nothing is changed until you apply them" in html
    assert not get_user_model().objects.filter(username="jdoe").exists()

    form = preview.context["form"]
    confirm = admin_client.post(
        "/admin/auth/user/import/",
        {
            "content": form.initial["content"],
            "name": form.initial["name"],
            "checksum": form.initial["checksum"],
            "apply": "Apply",
        },
    )

    assert confirm.status_code == 302
    max_ = get_user_model().objects.get(username="max")
    assert max_.profile.manager == people["carl"]
    record = Profile.history.filter(user=max_).first()
    assert (
        record.history_user.username == "admin" and record.history_change_reason == "HR import (people.csv)"
    )
    whats = {(c.who, c.what, c.why) for c in person_changes(max_)}
    assert ("admin", "email old@example.com → max@example.com", "HR import (people.csv)") in whats
    assert ("admin", "manager Dana Director → Carl CFO", "HR import (people.csv)") in whats
    assert get_user_model().objects.filter(username="jdoe").exists()


def test_confirm_after_people_changed_shows_the_new_preview_instead(admin_client, people):
    preview = _upload(admin_client, FILE)
    form = preview.context["form"]
    Profile.objects.filter(user=people["max"]).update(department="Finance")

    again = admin_client.post(
        "/admin/auth/user/import/",
        {
            "content": form.initial["content"],
            "name": "people.csv",
            "checksum": form.initial["checksum"],
            "apply": "Apply",
        },
    )

    assert again.status_code == 200
    assert "department “Finance” → “Sales”" in again.content.decode()
    assert Profile.objects.get(user=people["max"]).manager == people["dana"]


def test_upload_with_errors_lists_them_by_line_and_offers_no_apply(admin_client, people):
    page = _upload(admin_client, "username,manager\nmax,ghost\n")

    html = page.content.decode()
    assert "Line 2, manager: unknown manager “ghost”" in html
    assert 'name="apply"' not in html


def test_upload_needs_the_import_permission(people):
    staff = get_user_model().objects.create_user("clerk", password="pw", is_staff=True)
    client = Client()
    client.force_login(staff)

    assert client.get("/admin/auth/user/import/").status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="import_people"))
    staff = get_user_model().objects.get(pk=staff.pk)
    client.force_login(staff)
    assert client.get("/admin/auth/user/import/").status_code == 200
    assert Client().get("/admin/auth/user/import/").status_code == 302  # to the sign-in page
