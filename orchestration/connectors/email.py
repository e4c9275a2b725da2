"""Email connector: what a Notify block sends."""

from __future__ import annotations

import smtplib
from typing import Any, ClassVar

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email

from orchestration.connectors.base import Connector, ConnectorError, ConnectorField
from orchestration.connectors.registry import register

IDEMPOTENCY_HEADER = "X-Baton-Idempotency-Key"


class EmailConfigForm(forms.Form):
    from_email = forms.EmailField(
        label="From",
        required=False,
        help_text="Leave empty to use the address your administrator set up "
        "(<code data-technical>DEFAULT_FROM_EMAIL</code>).",
    )


def resolve_recipients(value: Any, field: str) -> list[str]:
    """Email addresses for ``value``: a username or address, or a list of them.

    Anything containing "@" is taken as an address; anything else as a username, whose
    account must exist and have an email. Raises a non-retryable ConnectorError otherwise.
    """
    if value is None or value == "" or value == []:
        return []
    items = value if isinstance(value, list) else [value]
    addresses: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ConnectorError(f"{field!r} must hold usernames or email addresses.", retryable=False)
        address = _address(item.strip(), field)
        if address not in addresses:
            addresses.append(address)
    return addresses


def _address(item: str, field: str) -> str:
    if "@" in item:
        try:
            validate_email(item)
        except ValidationError:
            raise ConnectorError(
                f"{field!r}: {item!r} is not a valid email address.", retryable=False
            ) from None
        return item
    user_model = get_user_model()
    user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: item}).first()
    if user is None:
        raise ConnectorError(f"{field!r}: there is no user {item!r}.", retryable=False)
    email = getattr(user, user_model.get_email_field_name(), "")
    if not email:
        raise ConnectorError(f"{field!r}: user {item!r} has no email address.", retryable=False)
    return str(email)


@register
class EmailConnector(Connector):
    """Send a plain-text email to users (by username) or addresses."""

    name = "email"
    label = "Send email"
    description = "Sends an email to people or addresses. If the mail server is down, it tries again."
    config_form = EmailConfigForm
    ai_tool = False  # the model would choose the recipients
    inputs = (
        ConnectorField(
            "to", "To", "dyn", required=True, help="People (their user names) or email addresses to write to."
        ),
        ConnectorField("subject", "Subject", required=True, help="The email's subject line."),
        ConnectorField("body", "Message", help="The text of the email."),
        ConnectorField("cc", "Copy to", "dyn", help="Others who get a copy."),
    )
    outputs = (
        ConnectorField("sent_to", "Sent to", "list", help="The addresses the email went to."),
        ConnectorField("cc", "Copied to", "list", help="The addresses that got a copy."),
    )
    example_output: ClassVar[dict[str, Any]] = {"sent_to": ["requester@example.com"], "cc": []}

    def run(self, config: dict[str, Any], data: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """Send the message; return ``{"sent_to": [...], "cc": [...]}`` (resolved addresses)."""
        to = resolve_recipients(data.get("to"), "to")
        if not to:
            raise ConnectorError("'to' names no recipient.", retryable=False)
        cc = [address for address in resolve_recipients(data.get("cc"), "cc") if address not in to]
        subject = data.get("subject")
        body = data.get("body", "")
        if not isinstance(subject, str) or not subject.strip():
            raise ConnectorError("'subject' must be a non-empty text.", retryable=False)
        if not isinstance(body, str):
            raise ConnectorError("'body' must be text.", retryable=False)
        message = EmailMessage(
            subject=" ".join(subject.split()),  # a newline in a subject would be a header injection
            body=body,
            from_email=config.get("from_email") or None,
            to=to,
            cc=cc,
            # SMTP cannot deduplicate; the key at least lets a mailbox rule or a reader spot a resend.
            headers={IDEMPOTENCY_HEADER: idempotency_key},
        )
        try:
            message.send(fail_silently=False)
        except (smtplib.SMTPException, OSError) as exc:
            raise ConnectorError(f"The mail server refused or failed: {exc}", retryable=True) from None
        return {"sent_to": to, "cc": cc}
