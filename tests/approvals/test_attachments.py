"""Files on requests (orchestration/attachments.py and the pages and API that use it): limits by content, storage, who may download."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from approvals.models import ApprovalTask
from orchestration.attachments import AttachmentRefused, attach_files, check_files, content_kinds, safe_name
from orchestration.engine import start_instance
from orchestration.models import Attachment, Event, ProcessInstance
from tests.approvals.conftest import approval_flow
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def pdf(name: str = "quote.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def _office(part: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(part, "<x/>")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def _files_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "files"


@pytest.fixture
def requests(org: dict[str, Any]) -> dict[str, ProcessInstance]:
    """Two open purchase requests: the employee's (manager decides) and the manager's own (director decides)."""
    version = publish(approval_flow(), key="buy", name="Buy something")
    mine = start_instance(version, {"item": "Laptop", "amount": 5000}, initiator=org["employee"])
    other = start_instance(version, {"item": "Desk", "amount": 5000}, initiator=org["manager"])
    return {"mine": mine, "other": other}


def _web(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- what is accepted ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("quote.pdf", PDF),
        ("photo.png", PNG),
        ("scan.JPG", b"\xff\xd8\xff\xe0" + b"\x00" * 16),
        ("offer.docx", _office("word/document.xml")),
        ("prices.xlsx", _office("xl/workbook.xml")),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16),
        ("items.csv", "item;price\nChaise;12,50 €\n".encode()),
        ("notes.txt", b"Delivery in 3 weeks.\r\n"),
    ],
)
def test_files_whose_content_matches_their_name_are_accepted(name, content):
    check_files([SimpleUploadedFile(name, content)])


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("quote.pdf", b"<html><script>alert(1)</script></html>", "quote.pdf is not a PDF"),
        ("quote.pdf", PNG, "quote.pdf is not a PDF"),
        ("page.txt", b"  <!DOCTYPE html><p>hi</p>", "page.txt is not a text file"),
        ("drawing.png", b'<svg xmlns="http://www.w3.org/2000/svg"/>', "drawing.png is not a image"),
        ("offer.docx", b"PK\x03\x04not really a zip", "offer.docx is not a Word document"),
        ("offer.docx", _office("xl/workbook.xml"), "offer.docx is not a Word document"),
        ("tool.exe", b"MZ\x90\x00", "tool.exe: files of this type are not accepted"),
        ("page.html", b"<html></html>", "page.html: files of this type are not accepted"),
        ("icon.svg", b"<svg/>", "icon.svg: files of this type are not accepted"),
        ("empty.pdf", b"", "empty.pdf is empty"),
    ],
)
def test_files_are_refused_by_content_not_only_by_name(name, content, words):
    with pytest.raises(AttachmentRefused, match=words):
        check_files([SimpleUploadedFile(name, content)])


def test_size_and_count_limits_come_from_settings(settings):
    settings.BATON_ATTACHMENT_MAX_MB = 0.001  # about 1 KB
    with pytest.raises(AttachmentRefused, match=r"big\.pdf is 2\.0\sKB; the most is 0\.001 MB per file"):
        check_files([pdf("big.pdf", PDF + b"0" * 2000)])
    check_files([pdf()])
    settings.BATON_ATTACHMENT_MAX_FILES = 2
    with pytest.raises(AttachmentRefused, match="at most 2 files; you can add 1 more"):
        check_files([pdf(), pdf()], already=1)


def test_a_type_left_out_of_the_settings_is_refused(settings):
    settings.BATON_ATTACHMENT_TYPES = ["pdf"]
    with pytest.raises(AttachmentRefused, match=re.escape("not accepted. Up to 5 files, 10 MB each: PDF.")):
        check_files([SimpleUploadedFile("notes.txt", b"hello")])


def test_content_kinds_reads_open_document_from_its_mimetype_part():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    assert content_kinds(SimpleUploadedFile("x.ods", buffer.getvalue())) == {"ods"}


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\me\\quote.pdf", "quote.pdf"),
        ('a"b;c\r\nd.pdf', "a b c d.pdf"),
        (".hidden.pdf", "hidden.pdf"),
        ("x" * 300 + ".pdf", "x" * 146 + ".pdf"),
        ("", "attachment"),
    ],
)
def test_safe_name_keeps_no_folders_or_header_breaking_characters(given, kept):
    assert safe_name(given) == kept


# --- keeping and serving -------------------------------------------------------------------


def test_attaching_stores_the_file_and_records_who_attached_what(org, requests):
    instance = requests["mine"]

    [made] = attach_files(instance, [pdf("Quote ACME.pdf")], org["employee"])

    assert made.file.read() == PDF
    assert made.file.name == f"attachments/{instance.id}/{made.id}"  # never the typed name
    assert (made.name, made.content_type, made.size) == ("Quote ACME.pdf", "application/pdf", len(PDF))
    event = Event.objects.get(instance=instance, kind="attachment.added")
    assert (event.actor, event.message, event.data["name"]) == (
        org["employee"],
        "Attached Quote ACME.pdf",
        "Quote ACME.pdf",
    )


def test_a_refused_file_keeps_nothing_of_the_batch(org, requests, settings):
    with pytest.raises(AttachmentRefused):
        attach_files(requests["mine"], [pdf(), pdf("evil.pdf", b"<html>")], org["employee"])
    assert not Attachment.objects.exists()
    assert (
        not list((settings.MEDIA_ROOT / "attachments").rglob("*")) if settings.MEDIA_ROOT.exists() else True
    )


def test_a_finished_request_takes_no_more_files_after_its_start(org, requests):
    instance = requests["mine"]
    ProcessInstance.objects.filter(pk=instance.pk).update(status=ProcessInstance.Status.COMPLETED)
    instance.refresh_from_db()
    with pytest.raises(AttachmentRefused, match="has finished"):
        attach_files(instance, [pdf()], org["employee"])
    assert attach_files(instance, [pdf()], org["employee"], while_open=False)  # the start form's own files


def test_the_requester_and_the_approver_download_and_everyone_else_gets_404(org, requests):
    [made] = attach_files(requests["mine"], [pdf('Quote "final".pdf')], org["employee"])
    url = f"/files/{made.id}/"

    for who in ("employee", "manager"):  # the requester; the approver of this request
        response = _web(org[who]).get(url)
        assert response.status_code == 200, who
        assert b"".join(response.streaming_content) == PDF
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"].startswith("attachment;")
        assert 'filename="Quote final.pdf"' in response["Content-Disposition"]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response["Content-Security-Policy"]

    stranger = get_user_model().objects.create_user("stranger")
    assert _web(stranger).get(url).status_code == 404
    # The director approves the manager's request, not this one.
    assert ApprovalTask.objects.filter(instance=requests["other"], assignee=org["director"]).exists()
    assert _web(org["director"]).get(url).status_code == 404
    assert Client().get(url).status_code == 302  # signed out: to the sign-in page
    assert _web(org["employee"]).get("/files/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_a_file_gone_from_storage_is_404_not_500(org, requests):
    [made] = attach_files(requests["mine"], [pdf()], org["employee"])
    made.file.delete(save=False)
    assert _web(org["employee"]).get(f"/files/{made.id}/").status_code == 404


# --- REST API ------------------------------------------------------------------------------


def _api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_api_requester_uploads_lists_and_downloads(org, requests):
    instance = requests["mine"]
    api = _api(org["employee"])

    response = api.post(
        f"/api/instances/{instance.id}/attachments/", {"file": [pdf(), pdf("second.pdf")]}, format="multipart"
    )

    assert response.status_code == 201, response.json()
    assert [f["name"] for f in response.json()] == ["quote.pdf", "second.pdf"]
    listed = api.get(f"/api/instances/{instance.id}/attachments/").json()
    assert [f["name"] for f in listed] == ["quote.pdf", "second.pdf"]
    detail = api.get(f"/api/instances/{instance.id}/").json()
    assert [f["uploaded_by"] for f in detail["attachments"]] == ["employee", "employee"]
    download = api.get(listed[0]["download"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert download["X-Content-Type-Options"] == "nosniff"
    task = _api(org["manager"]).get("/api/tasks/").json()["results"][0]
    assert [f["name"] for f in task["attachments"]] == ["quote.pdf", "second.pdf"]
    assert _api(org["manager"]).get(listed[0]["download"]).status_code == 200


def test_api_refusals_name_the_file_field(org, requests, settings):
    url = f"/api/instances/{requests['mine'].id}/attachments/"
    api = _api(org["employee"])

    fake = api.post(url, {"file": pdf("quote.pdf", b"<html><body>hi</body></html>")}, format="multipart")
    assert fake.status_code == 400
    assert fake.json()["file"] == ["quote.pdf is not a PDF: its content is something else."]
    settings.BATON_ATTACHMENT_MAX_MB = 0.001
    big = api.post(url, {"file": pdf("big.pdf", PDF + b"0" * 2000)}, format="multipart")
    assert big.status_code == 400 and "the most is 0.001 MB" in big.json()["file"][0]
    missing = api.post(url, {}, format="multipart")
    assert missing.status_code == 400 and "file" in missing.json()
    assert not Attachment.objects.exists()


def test_api_only_the_requester_uploads_and_strangers_see_nothing(org, requests):
    instance = requests["mine"]
    url = f"/api/instances/{instance.id}/attachments/"
    [made] = attach_files(instance, [pdf()], org["employee"])

    assert _api(org["manager"]).post(url, {"file": pdf()}, format="multipart").status_code == 403
    stranger = _api(get_user_model().objects.create_user("stranger"))
    assert stranger.get(url).status_code == 404
    assert stranger.get(f"{url}{made.id}/").status_code == 404
    assert _api(org["director"]).get(f"{url}{made.id}/").status_code == 404
    other = f"/api/instances/{requests['other'].id}/attachments/{made.id}/"  # a file through another request
    assert _api(org["manager"]).get(other).status_code == 404
    assert _api(org["employee"]).get(f"{url}not-a-uuid/").status_code == 404


# --- pages: start form, resubmission, task, request and operations pages ----------------


@pytest.fixture
def purchase(org: dict[str, Any]) -> Any:
    from guardian.shortcuts import assign_perm

    version = publish(approval_flow(), key="buy", name="Buy something")
    assign_perm("orchestration.start_workflow", org["employee"], version.workflow)
    assign_perm("orchestration.view_workflow", org["employee"], version.workflow)
    return version


START = {"item": "Laptop", "amount": "5000", "currency": "USD"}


def test_the_start_form_offers_files_and_the_approver_sees_them_on_the_task(org, purchase):
    employee = _web(org["employee"])
    form = employee.get("/requests/new/buy/")
    assert b'enctype="multipart/form-data"' in form.content
    assert b'name="attach-files"' in form.content and b"Up to 5 files, 10 MB each" in form.content

    response = employee.post("/requests/new/buy/", {**START, "attach-files": [pdf(), pdf("specs.pdf")]})

    assert response.status_code == 302
    instance = ProcessInstance.objects.get()
    assert sorted(instance.attachments.values_list("name", flat=True)) == ["quote.pdf", "specs.pdf"]
    task = ApprovalTask.objects.get(instance=instance, status=ApprovalTask.Status.OPEN)
    page = _web(org["manager"]).get(f"/tasks/{task.id}/")
    assert [a.name for a in page.context["attachments"]] == ["quote.pdf", "specs.pdf"]
    made = instance.attachments.first()
    assert f'href="/files/{made.id}/"'.encode() in page.content
    assert any(
        e.message == "Attached quote.pdf" and e.who == "Emma Employee" for e in page.context["timeline"]
    )
    mine = employee.get(f"/requests/{instance.id}/")
    assert b'data-testid="attachments"' in mine.content and b"specs.pdf" in mine.content


def test_a_refused_file_on_the_start_form_starts_nothing_and_says_why(org, purchase):
    response = _web(org["employee"]).post(
        "/requests/new/buy/", {**START, "item": "", "attach-files": [pdf("quote.pdf", b"<html>x</html>")]}
    )

    assert response.status_code == 400
    assert response.context["files_form"].errors["files"] == [
        "quote.pdf is not a PDF: its content is something else."
    ]
    assert "item" in response.context["form"].errors  # both forms' errors show at once
    assert b'data-testid="error-files"' in response.content
    assert not ProcessInstance.objects.exists() and not Attachment.objects.exists()


def test_too_many_files_on_the_start_form_are_refused(org, purchase, settings):
    settings.BATON_ATTACHMENT_MAX_FILES = 1
    response = _web(org["employee"]).post("/requests/new/buy/", {**START, "attach-files": [pdf(), pdf()]})
    assert response.status_code == 400
    assert "at most 1 files" in response.context["files_form"].errors["files"][0]
    assert not ProcessInstance.objects.exists()


def test_resubmitting_after_changes_requested_adds_files(org, purchase, settings):
    from approvals.actions import complete_task

    settings.BATON_ATTACHMENT_MAX_FILES = 2
    employee = _web(org["employee"])
    employee.post("/requests/new/buy/", {**START, "attach-files": [pdf()]})
    instance = ProcessInstance.objects.get()
    task = ApprovalTask.objects.get(instance=instance, status=ApprovalTask.Status.OPEN)
    complete_task(task.id, org["manager"], "changes_requested", comment="Add the second quote")
    page = employee.get(f"/requests/{instance.id}/")
    assert b'name="attach-files"' in page.content and b'enctype="multipart/form-data"' in page.content

    too_many = employee.post(f"/requests/{instance.id}/resubmit/", {**START, "attach-files": [pdf(), pdf()]})
    assert too_many.status_code == 400
    assert "you can add 1 more" in too_many.context["files_form"].errors["files"][0]
    response = employee.post(
        f"/requests/{instance.id}/resubmit/", {**START, "attach-files": [pdf("quote-2.pdf")]}
    )

    assert response.status_code == 302
    assert list(instance.attachments.values_list("name", flat=True)) == ["quote.pdf", "quote-2.pdf"]
    assert Event.objects.filter(instance=instance, kind="attachment.added").count() == 2


def test_the_operations_instance_page_lists_the_files(org, requests):
    from guardian.shortcuts import assign_perm

    instance = requests["mine"]
    attach_files(instance, [pdf()], org["employee"])
    operator = get_user_model().objects.create_user("operator")
    assign_perm("orchestration.view_workflow", operator, instance.workflow)
    assign_perm("orchestration.change_workflow", operator, instance.workflow)

    page = _web(operator).get(f"/operations/requests/{instance.id}/")

    assert page.status_code == 200 and b"quote.pdf" in page.content
    made = instance.attachments.get()
    assert _web(operator).get(f"/files/{made.id}/").status_code == 200


def test_api_multipart_start_attaches_files_or_starts_nothing(org, purchase):
    import json

    api = _api(org["employee"])
    url = "/api/workflows/buy/start/"
    data = json.dumps({"item": "Laptop", "amount": "5000", "currency": "USD"})

    refused = api.post(url, {"data": data, "file": [pdf("quote.pdf", b"<svg/>")]}, format="multipart")
    assert refused.status_code == 400
    assert refused.json() == {"file": ["quote.pdf is not a PDF: its content is something else."]}
    broken = api.post(url, {"data": "{not json", "file": [pdf()]}, format="multipart")
    assert broken.status_code == 400 and "data" in broken.json()
    listed = api.post(url, {"data": "[1, 2]"}, format="multipart")
    assert listed.status_code == 400 and "data" in listed.json()
    assert not ProcessInstance.objects.exists()

    started = api.post(url, {"data": data, "business_key": "PO-7", "file": [pdf()]}, format="multipart")

    assert started.status_code == 201, started.json()
    body = started.json()
    assert body["business_key"] == "PO-7" and body["variables"]["item"] == "Laptop"
    assert [f["name"] for f in body["attachments"]] == ["quote.pdf"]
    assert api.get(body["attachments"][0]["download"]).status_code == 200
    assert (
        api.post(
            url, {"data": {"item": "Desk", "amount": "10", "currency": "USD"}}, format="json"
        ).status_code
        == 201
    )


# --- removing a file ------------------------------------------------------------------------


def _remove(user: Any, made: Attachment, **data: str) -> Any:
    return _web(user).post(f"/files/{made.id}/remove/", data)


def test_the_uploader_removes_their_file_before_anyone_acts_and_the_history_says_so(
    org, requests, django_capture_on_commit_callbacks
):
    instance = requests["mine"]
    [made] = attach_files(instance, [pdf("Quote ACME.pdf")], org["employee"])
    page = _web(org["employee"]).get(f"/requests/{instance.id}/").content.decode()
    assert 'data-testid="attachment-remove"' in page
    assert (
        'data-testid="attachment-remove"'
        not in _web(org["manager"]).get(f"/requests/{instance.id}/").content.decode()
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = _remove(org["employee"], made, next=f"/requests/{instance.id}/")

    assert response.status_code == 302 and response["Location"] == f"/requests/{instance.id}/"
    assert not Attachment.objects.exists()
    assert not made.file.storage.exists(made.file.name)  # the bytes are gone too, once committed
    # The line that it was attached stays; a new one says who removed it.
    events = Event.objects.filter(instance=instance, kind__startswith="attachment.").order_by("id")
    assert [(e.kind, e.actor, e.message) for e in events] == [
        ("attachment.added", org["employee"], "Attached Quote ACME.pdf"),
        ("attachment.removed", org["employee"], "Removed Quote ACME.pdf"),
    ]
    timeline = _web(org["manager"]).get(f"/requests/{instance.id}/").content.decode()
    assert "Removed Quote ACME.pdf" in timeline and "Attached Quote ACME.pdf" in timeline


def test_once_someone_else_acted_after_the_upload_the_file_stays(org, requests):
    from approvals.actions import complete_task

    instance = requests["mine"]
    [made] = attach_files(instance, [pdf()], org["employee"])
    task = ApprovalTask.objects.get(instance=instance, assignee=org["manager"])
    complete_task(task.pk, org["manager"], "approved")  # over the manager's limit: on to the director
    instance.refresh_from_db()
    assert instance.status == ProcessInstance.Status.RUNNING

    refused = _remove(org["employee"], made)

    assert refused.status_code == 403
    assert "Someone has acted on this request since you added this file" in refused.content.decode()
    assert Attachment.objects.filter(pk=made.pk).exists() and made.file.storage.exists(made.file.name)
    assert (
        'data-testid="attachment-remove"'
        not in _web(org["employee"]).get(f"/requests/{instance.id}/").content.decode()
    )
    # A file added after that decision is the requester's to take back again.
    [later] = attach_files(instance, [pdf("later.pdf")], org["employee"])
    assert _remove(org["employee"], later).status_code == 302
    assert not Event.objects.filter(kind="attachment.removed", data__name="quote.pdf").exists()


def test_others_cannot_remove_a_file_and_strangers_do_not_learn_it_exists(org, requests):
    instance = requests["mine"]
    [made] = attach_files(instance, [pdf()], org["employee"])
    stranger = get_user_model().objects.create_user("stranger")

    approver = _remove(org["manager"], made)
    assert approver.status_code == 403 and "Only the person who added this file" in approver.content.decode()
    assert _remove(stranger, made).status_code == 404
    assert _remove(org["director"], made).status_code == 404  # approves another request
    assert (
        _web(org["employee"]).post("/files/00000000-0000-0000-0000-000000000000/remove/").status_code == 404
    )
    assert _web(org["employee"]).get(f"/files/{made.id}/remove/").status_code == 405
    assert Client().post(f"/files/{made.id}/remove/").status_code == 302  # signed out: to the sign-in page
    no_token = Client(enforce_csrf_checks=True)
    no_token.force_login(org["employee"])
    assert no_token.post(f"/files/{made.id}/remove/").status_code == 403
    assert Attachment.objects.filter(pk=made.pk).exists()


def test_a_finished_requests_files_stay_for_the_uploader(org, requests):
    instance = requests["mine"]
    [made] = attach_files(instance, [pdf()], org["employee"])
    ProcessInstance.objects.filter(pk=instance.pk).update(status=ProcessInstance.Status.COMPLETED)

    refused = _remove(org["employee"], made)

    assert refused.status_code == 403 and "This request has finished" in refused.content.decode()
    assert Attachment.objects.filter(pk=made.pk).exists()


def test_an_operator_removes_any_file_giving_a_reason(org, requests):
    from guardian.shortcuts import assign_perm

    instance = requests["mine"]
    [made] = attach_files(instance, [pdf("Payslip.pdf")], org["employee"])
    ProcessInstance.objects.filter(pk=instance.pk).update(status=ProcessInstance.Status.COMPLETED)
    gus = get_user_model().objects.create_user("gus")
    assign_perm("orchestration.change_workflow", gus, instance.workflow)
    page = _web(gus).get(f"/operations/requests/{instance.id}/").content.decode()
    assert 'data-testid="attachment-remove-with-reason"' in page

    no_reason = _remove(gus, made, reason="   ")
    assert (
        no_reason.status_code == 400 and "Reason: Say why the file is removed" in no_reason.content.decode()
    )
    assert Attachment.objects.filter(pk=made.pk).exists()

    assert _remove(gus, made, reason="Personal data sent by mistake").status_code == 302
    assert not Attachment.objects.exists()
    removed = Event.objects.get(instance=instance, kind="attachment.removed")
    assert (removed.actor, removed.message) == (gus, "Removed Payslip.pdf: Personal data sent by mistake")
    assert (
        removed.data["uploaded_by"] == "employee"
        and removed.data["reason"] == "Personal data sent by mistake"
    )
    assert _remove(gus, made, reason="again").status_code == 404  # already removed: no error page


def test_api_removal_follows_the_same_rule(org, requests):
    from guardian.shortcuts import assign_perm

    instance = requests["mine"]
    url = f"/api/instances/{instance.id}/attachments/"
    [mine, kept] = attach_files(instance, [pdf(), pdf("kept.pdf")], org["employee"])
    gus = get_user_model().objects.create_user("gus")
    assign_perm("orchestration.change_workflow", gus, instance.workflow)

    assert _api(org["employee"]).delete(f"{url}{mine.id}/").status_code == 204
    refused = _api(org["manager"]).delete(f"{url}{kept.id}/")
    assert refused.status_code == 403 and "Only the person who added this file" in refused.json()["detail"]
    stranger = _api(get_user_model().objects.create_user("stranger"))
    assert stranger.delete(f"{url}{kept.id}/").status_code == 404
    assert _api(org["employee"]).delete(f"{url}{mine.id}/").status_code == 404  # already removed
    no_reason = _api(gus).delete(f"{url}{kept.id}/", {"reason": ""}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    assert _api(gus).delete(f"{url}{kept.id}/", {"reason": "Duplicate"}, format="json").status_code == 204
    assert not Attachment.objects.exists()
    assert [e.actor.username for e in Event.objects.filter(kind="attachment.removed").order_by("id")] == [
        "employee",
        "gus",
    ]
