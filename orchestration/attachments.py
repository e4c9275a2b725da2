"""Files on requests (quotes, invoices): the checks, the one action that keeps them, and the download.

A file is accepted when its name's type is in ``BATON_ATTACHMENT_TYPES`` *and* its
content is that type (read from its first bytes: a ``.pdf`` that is really HTML is
refused), it is at most ``BATON_ATTACHMENT_MAX_MB``, and the request holds at most
``BATON_ATTACHMENT_MAX_FILES``. Files go through Django's storage API
(``default_storage``: local files under the var dir, or S3-compatible storage), never
to a public URL: :func:`download` asks :func:`orchestration.access.visible_attachment`
on every request and sends the file as a download with ``nosniff``.

A file is removed only by :func:`remove_attachment`: by whoever added it while nobody
else has acted on the request since (``access.uploader_may_remove``), or by an
operator giving a reason. The history keeps the line that it was attached and gains
one saying who removed it, when and why.
"""

from __future__ import annotations

import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from orchestration.models import Attachment, Event, ProcessInstance

if TYPE_CHECKING:
    from collections.abc import Sequence

    from django.core.files.uploadedfile import UploadedFile

# What each accepted name ends with: the type sent with downloads, and the family named in refusals.
KINDS: dict[str, tuple[str, str]] = {
    "pdf": ("application/pdf", "PDF"),
    "png": ("image/png", "image"),
    "jpg": ("image/jpeg", "image"),
    "jpeg": ("image/jpeg", "image"),
    "gif": ("image/gif", "image"),
    "webp": ("image/webp", "image"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word document"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel workbook"),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "PowerPoint file"),
    "doc": ("application/msword", "Word document"),
    "xls": ("application/vnd.ms-excel", "Excel workbook"),
    "ppt": ("application/vnd.ms-powerpoint", "PowerPoint file"),
    "odt": ("application/vnd.oasis.opendocument.text", "OpenDocument text"),
    "ods": ("application/vnd.oasis.opendocument.spreadsheet", "OpenDocument spreadsheet"),
    "odp": ("application/vnd.oasis.opendocument.presentation", "OpenDocument presentation"),
    "csv": ("text/csv", "CSV file"),
    "txt": ("text/plain", "text file"),
}
ATTACHED = "attachment.added"
REMOVED = "attachment.removed"
MAX_REASON = 300
_HEAD = 64 * 1024
# Markup a browser would run if it ever rendered the file: never accepted as "text".
_MARKUP = (b"<html", b"<script", b"<svg", b"<!doctype", b"<?xml", b"<body", b"<iframe", b"<head")
_OOXML = {"word/document.xml": "docx", "xl/workbook.xml": "xlsx", "ppt/presentation.xml": "pptx"}
_ODF = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
    b"application/vnd.oasis.opendocument.presentation": "odp",
}
_UNSAFE_IN_NAMES = set('"\\/:*?<>|;')


class AttachmentRefused(ValueError):
    """A file that may not be attached, with the reason in words."""


class RemovalRefused(PermissionDenied):
    """A file this person may not remove, with the reason in words (a 403)."""


class ReasonNeeded(ValueError):
    """An operator removing someone's file must say why."""


@dataclass(frozen=True)
class Limits:
    """The limits in force (from settings), in the words the form shows."""

    max_mb: float
    max_files: int
    types: tuple[str, ...]

    @property
    def max_bytes(self) -> int:
        return int(self.max_mb * 1024 * 1024)

    @property
    def accept(self) -> str:
        """The file input's ``accept`` attribute: a hint for the browser; the server checks the content."""
        return ",".join(f".{kind}" for kind in self.types)

    @property
    def described(self) -> str:
        """ "Up to 5 files, 10 MB each: PDF, PNG, JPG…"."""
        kinds = ", ".join(kind.upper() for kind in self.types)
        return f"Up to {self.max_files} files, {self.max_mb:g} MB each: {kinds}."


def limits() -> Limits:
    """The limits from settings (read each time: tests and deployments change them)."""
    types = tuple(kind for kind in settings.BATON_ATTACHMENT_TYPES if kind in KINDS)
    return Limits(
        max_mb=settings.BATON_ATTACHMENT_MAX_MB,
        max_files=settings.BATON_ATTACHMENT_MAX_FILES,
        types=types,
    )


def safe_name(name: str) -> str:
    """The uploaded name without folders, control characters or characters that break headers or paths."""
    name = unicodedata.normalize("NFKC", str(name or "")).replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(
        " " if ch in _UNSAFE_IN_NAMES or unicodedata.category(ch)[0] in "CZ" else ch for ch in name
    )
    kept = " ".join(kept.split()).lstrip(". ")
    stem, dot, suffix = kept.rpartition(".")
    if not dot:
        stem, suffix = kept, ""
    stem = stem[: 149 - len(suffix)].rstrip() or "attachment"
    return f"{stem}.{suffix}" if suffix else stem


def _suffix(name: str) -> str:
    return PurePosixPath(name).suffix.lower().lstrip(".")


def _zip_kind(upload: UploadedFile) -> str | None:
    """An Office (OOXML) or OpenDocument file's type from the zip's parts; None for any other zip."""
    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as archive:
            names = set(archive.namelist())
            for part, kind in _OOXML.items():
                if part in names:
                    return kind
            if "mimetype" in names and archive.getinfo("mimetype").file_size < 100:
                return _ODF.get(archive.read("mimetype").strip())
    except (zipfile.BadZipFile, OSError, ValueError, KeyError):
        return None
    return None


def _is_text(head: bytes) -> bool:
    if b"\x00" in head or any(marker in head.lower() for marker in _MARKUP):
        return False
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = head.decode(encoding)
        except UnicodeDecodeError:
            continue  # a multi-byte character cut at the end of the head is rare; cp1252 then decides
        return all(ch.isprintable() or ch in "\t\r\n\f" for ch in text)
    return False


def content_kinds(upload: UploadedFile) -> set[str]:
    """The names' types the file's content fits, read from its first bytes (magic numbers)."""
    upload.seek(0)
    head = upload.read(_HEAD)
    upload.seek(0)
    if head.startswith(b"%PDF-"):
        return {"pdf"}
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return {"png"}
    if head.startswith(b"\xff\xd8\xff"):
        return {"jpg", "jpeg"}
    if head.startswith((b"GIF87a", b"GIF89a")):
        return {"gif"}
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return {"webp"}
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):  # OLE2: the older Office formats
        return {"doc", "xls", "ppt"}
    if head.startswith(b"PK\x03\x04"):
        kind = _zip_kind(upload)
        return {kind} if kind else set()
    return {"csv", "txt"} if head and _is_text(head) else set()


def check_files(files: Sequence[UploadedFile], *, already: int = 0) -> None:
    """Refuse, in words, the first file over the size, count or type limits (``already``: files the request holds)."""
    rules = limits()
    if already + len(files) > rules.max_files:
        room = max(rules.max_files - already, 0)
        raise AttachmentRefused(
            f"A request holds at most {rules.max_files} files; "
            + (f"you can add {room} more." if room else "it has that many already.")
        )
    for upload in files:
        name = safe_name(upload.name or "")
        suffix = _suffix(name)
        if suffix not in rules.types:
            raise AttachmentRefused(f"{name}: files of this type are not accepted. {rules.described}")
        if (upload.size or 0) > rules.max_bytes:
            raise AttachmentRefused(
                f"{name} is {filesizeformat(upload.size or 0)}; the most is {rules.max_mb:g} MB per file."
            )
        if not upload.size:
            raise AttachmentRefused(f"{name} is empty.")
        if suffix not in content_kinds(upload):
            raise AttachmentRefused(f"{name} is not a {KINDS[suffix][1]}: its content is something else.")


def attach_files(
    instance: ProcessInstance, files: Sequence[UploadedFile], user: Any, *, while_open: bool = True
) -> list[Attachment]:
    """Check and keep ``files`` on ``instance``, one ``attachment.added`` event each (who, file name).

    The files are written to storage first, outside any transaction, then recorded under
    the instance row's lock so two uploads at once cannot pass the count together.
    ``while_open``: refuse once the request has finished (the start form attaches to a
    request that may have been decided at once, so it passes False).
    Raises :class:`AttachmentRefused` and keeps nothing when any file is refused.
    """
    if not files:
        return []
    check_files(files, already=instance.attachments.count())
    made = []
    try:
        for upload in files:
            attachment = Attachment(
                instance=instance,
                name=safe_name(upload.name or ""),
                size=upload.size or 0,
                uploaded_by=user,
            )
            attachment.content_type = KINDS[_suffix(attachment.name)][0]
            upload.seek(0)
            attachment.file.save(attachment.name, upload, save=False)
            made.append(attachment)
        with transaction.atomic():
            locked = ProcessInstance.objects.select_for_update().get(pk=instance.pk)
            if while_open and locked.status != ProcessInstance.Status.RUNNING:
                raise AttachmentRefused("This request has finished; files can no longer be added.")
            check_files([], already=locked.attachments.count() + len(made))
            Attachment.objects.bulk_create(made)
            Event.objects.bulk_create(
                Event(
                    instance=locked,
                    workflow_id=locked.workflow_id,
                    kind=ATTACHED,
                    actor=user,
                    message=f"Attached {attachment.name}"[:500],
                    data={"attachment": str(attachment.id), "name": attachment.name, "size": attachment.size},
                )
                for attachment in made
            )
    except BaseException:
        for attachment in made:
            attachment.file.delete(save=False)
        raise
    return made


def remove_attachment(attachment: Attachment, user: Any, *, reason: str = "") -> None:
    """Remove ``attachment`` from its request for ``user``, with an ``attachment.removed`` event.

    The caller has found the file through :func:`orchestration.access.visible_attachment`.
    Decided under the request's row lock (an approver deciding at the same moment is seen):
    whoever added it may while nobody else has acted on the request since; otherwise an
    operator may, with a ``reason``. The stored file is deleted once the removal commits.
    Raises :class:`RemovalRefused` (403), :class:`ReasonNeeded`, or Http404 when already removed.
    """
    from orchestration.access import can_operate, others_last_acted, uploader_may_remove

    reason = " ".join(reason.split())[:MAX_REASON]
    with transaction.atomic():
        instance = ProcessInstance.objects.select_for_update().get(pk=attachment.instance_id)
        current = Attachment.objects.filter(pk=attachment.pk).select_related("uploaded_by").first()
        if current is None:
            raise Http404("This file has already been removed.")
        others = instance.events.filter(actor__isnull=False).exclude(actor_id=user.pk).order_by("-created_at")
        if not uploader_may_remove(user, current, instance, others_last_acted(user, others[:1])):
            if not can_operate(user, instance):
                raise RemovalRefused(_why_not_removable(user, current, instance))
            if not reason:
                raise ReasonNeeded("Say why the file is removed: the reason goes into the request's history.")
        uploader = current.uploaded_by.get_username() if current.uploaded_by else ""
        Event.objects.create(
            instance=instance,
            workflow_id=instance.workflow_id,
            kind=REMOVED,
            actor=user,
            message=(f"Removed {current.name}" + (f": {reason}" if reason else ""))[:500],
            data={
                "attachment": str(current.id),
                "name": current.name,
                "size": current.size,
                "uploaded_by": uploader,
                "reason": reason,
            },
        )
        stored, storage = current.file.name or "", current.file.storage
        current.delete()
        # The bytes go only once the removal is certain; a rollback keeps the file and its row.
        if stored:
            transaction.on_commit(lambda: storage.delete(stored))


def _why_not_removable(user: Any, attachment: Attachment, instance: ProcessInstance) -> str:
    if attachment.uploaded_by_id != user.pk:
        return "Only the person who added this file can remove it (or an operator, giving a reason)."
    if instance.status != ProcessInstance.Status.RUNNING:
        return "This request has finished, so its files stay (an operator can remove one, giving a reason)."
    return (
        "Someone has acted on this request since you added this file, so it stays for them to see "
        "(an operator can remove it, giving a reason)."
    )


@login_required
@require_POST
def remove(request: HttpRequest, attachment_id: Any) -> HttpResponse:
    """The remove button: 404 for people who may not see the request, 403 (in words) for those who may not remove."""
    from orchestration.access import visible_attachment

    attachment = visible_attachment(request.user, attachment_id)  # type: ignore[arg-type]  # login_required: signed in
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, require_https=request.is_secure()):
        back = reverse("approvals:request", args=[attachment.instance_id])
    try:
        remove_attachment(attachment, request.user, reason=request.POST.get("reason", ""))
    except ReasonNeeded as exc:
        detail = {"status": 400, "title": "A reason is needed", "detail": f"Reason: {exc}"}
        return render(request, "error.html", detail, status=400)
    messages.success(request, f"Removed {attachment.name}.")
    return redirect(back)


@login_required
def download(request: HttpRequest, attachment_id: Any) -> FileResponse:
    """The file, to people who may see its request (404 for everyone else), as a download only."""
    from orchestration.access import visible_attachment

    attachment = visible_attachment(request.user, attachment_id)  # type: ignore[arg-type]  # login_required: signed in
    return file_response(attachment)


def file_response(attachment: Attachment) -> FileResponse:
    """A download (never shown inline), typed by what was checked at upload, with ``nosniff``."""
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404("The file is no longer there.") from None
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.name, content_type=attachment.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    # Even opened directly, nothing in it may run or load.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
