"""Attachments in a real browser: an employee attaches quotes on the start form and takes a wrong one back; the manager sees and downloads the rest."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def test_employee_attaches_a_pdf_removes_a_wrong_one_and_the_manager_downloads_it_from_the_task(
    demo, login, screenshot, tmp_path: Path
) -> None:
    quote = tmp_path / "Quote ACME 2026.pdf"
    quote.write_bytes(PDF)
    fake = tmp_path / "invoice.pdf"
    fake.write_bytes(b"<html><script>alert(1)</script></html>")
    wrong = tmp_path / "Old quote.pdf"
    wrong.write_bytes(PDF)

    employee = login("employee")
    employee.goto("/requests/new/purchase-approval/")
    employee.get_by_label("Item").fill("Standing desk")
    employee.get_by_label("Amount").fill("1500")
    employee.get_by_label("Justification").fill("Back trouble; quote attached")
    files = employee.get_by_label("Attachments (optional)")
    expect(employee.get_by_text("Up to 5 files, 10 MB each")).to_be_visible()
    files.set_input_files([str(quote), str(fake)])
    screenshot(employee, "start-form-with-attachments")
    employee.get_by_role("button", name="Submit request").click()
    expect(employee.get_by_test_id("error-files")).to_have_text(
        "invoice.pdf is not a PDF: its content is something else."
    )
    expect(employee.get_by_label("Item")).to_have_value("Standing desk")  # what was typed stays
    expect(employee.get_by_test_id("form-errors")).to_contain_text("choose them again")
    employee.set_viewport_size({"width": 390, "height": 844})
    assert employee.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(employee, "start-form-file-refused-phone")
    employee.get_by_label("Attachments (optional)").set_input_files([str(quote), str(wrong)])
    employee.get_by_role("button", name="Submit request").click()
    expect(employee.get_by_role("alert").filter(has_text="Your request was submitted")).to_be_visible()
    expect(employee.get_by_test_id("attachments")).to_contain_text("Quote ACME 2026.pdf")
    expect(employee.get_by_test_id("timeline")).to_contain_text("Attached Quote ACME 2026.pdf")
    # Nobody has acted on the request yet: the employee takes the wrong file back; the history says so.
    employee.get_by_role("button", name="Remove Old quote.pdf").click()
    expect(employee.get_by_role("alert").filter(has_text="Removed Old quote.pdf.")).to_be_visible()
    expect(employee.get_by_test_id("attachments")).not_to_contain_text("Old quote.pdf")
    expect(employee.get_by_test_id("timeline")).to_contain_text("Attached Old quote.pdf")
    expect(employee.get_by_test_id("timeline")).to_contain_text("Removed Old quote.pdf")
    screenshot(employee, "request-after-removing-a-file")

    manager = login("manager")
    manager.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("Inbox")).click()
    manager.get_by_role("link", name="Standing desk").click()
    card = manager.get_by_test_id("attachments")
    expect(card).to_contain_text("Quote ACME 2026.pdf")
    expect(card).not_to_contain_text("Old quote.pdf")
    expect(card.get_by_role("button", name=re.compile("Remove"))).to_have_count(0)  # not the manager's file
    expect(card).to_contain_text("Emma Employee")
    screenshot(manager, "task-with-attachments")
    with manager.expect_download() as caught:
        card.get_by_role("link", name="Quote ACME 2026.pdf").click()
    download = caught.value
    assert download.suggested_filename == "Quote ACME 2026.pdf"
    assert Path(download.path()).read_bytes() == PDF

    manager.set_viewport_size({"width": 390, "height": 844})
    manager.reload()
    expect(manager.get_by_test_id("attachments")).to_be_visible()
    width = manager.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the phone page scrolls sideways ({width}px)"
    screenshot(manager, "task-with-attachments-phone")

    # Someone who is not part of the request gets a plain 404 on the file's address.
    href = card.get_by_role("link", name="Quote ACME 2026.pdf").get_attribute("href")
    lawyer = login("legal")  # in no chain of this request, operates another workflow
    assert lawyer.request.get(href).status == 404
