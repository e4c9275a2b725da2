"""The email connector: usernames resolved to addresses, sent through Django's mail backend."""

from __future__ import annotations

import socket

import pytest
from django.core import mail

from orchestration.connectors import registry
from orchestration.connectors.base import ConnectorError

KEY = "step-7-key"

pytestmark = pytest.mark.django_db


@pytest.fixture
def users(django_user_model):
    django_user_model.objects.create_user("alice", email="alice@example.com")
    django_user_model.objects.create_user("bob", email="bob@example.com")
    django_user_model.objects.create_user("nomail", email="")


def send(data: dict, config: dict | None = None) -> dict:
    return registry.get("email").run(config or {}, data, KEY)


def test_registered_under_its_name():
    assert registry.get("email").label == "Send email"


def test_usernames_and_addresses_are_resolved_and_mailed(users):
    result = send(
        {
            "to": ["alice", "carol@example.org", "alice@example.com"],
            "cc": "bob",
            "subject": "Order approved",
            "body": "Your laptop is on its way.",
        }
    )

    assert result == {"sent_to": ["alice@example.com", "carol@example.org"], "cc": ["bob@example.com"]}
    (message,) = mail.outbox
    assert message.to == ["alice@example.com", "carol@example.org"]
    assert message.cc == ["bob@example.com"]
    assert message.subject == "Order approved"
    assert message.body == "Your laptop is on its way."
    assert message.extra_headers["X-Baton-Idempotency-Key"] == KEY
    assert message.message()["X-Baton-Idempotency-Key"] == KEY


def test_from_email_comes_from_config_or_the_default(users, settings):
    send({"to": "alice", "subject": "a", "body": ""}, {"from_email": "purchasing@example.com"})
    send({"to": "alice", "subject": "b", "body": ""})

    assert [m.from_email for m in mail.outbox] == ["purchasing@example.com", settings.DEFAULT_FROM_EMAIL]


def test_unknown_user_is_not_retryable_and_named(users):
    with pytest.raises(ConnectorError) as failure:
        send({"to": ["alice", "mallory"], "subject": "s", "body": "b"})

    assert not failure.value.retryable
    assert "mallory" in str(failure.value)
    assert mail.outbox == []


def test_user_without_email_is_not_retryable_and_named(users):
    with pytest.raises(ConnectorError) as failure:
        send({"to": "alice", "cc": ["nomail"], "subject": "s", "body": "b"})

    assert not failure.value.retryable
    assert "nomail" in str(failure.value)


@pytest.mark.parametrize(
    "data",
    [
        {"subject": "s", "body": "b"},
        {"to": [], "subject": "s", "body": "b"},
        {"to": "not-an-address@", "subject": "s", "body": "b"},
        {"to": [3], "subject": "s", "body": "b"},
        {"to": "alice", "body": "b"},
        {"to": "alice", "subject": "s", "body": {"html": "<p>"}},
    ],
)
def test_invalid_inputs_are_not_retryable(users, data):
    with pytest.raises(ConnectorError) as failure:
        send(data)
    assert not failure.value.retryable


def test_newlines_in_the_subject_cannot_add_headers(users):
    send({"to": "alice", "subject": "Hi\nBcc: eve@example.com", "body": "b"})

    (message,) = mail.outbox
    assert message.subject == "Hi Bcc: eve@example.com"
    assert message.bcc == []


def test_mail_server_failure_is_retryable(users, settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port  # nothing listens there once the probe is closed
    settings.EMAIL_TIMEOUT = 2

    with pytest.raises(ConnectorError) as failure:
        send({"to": "alice", "subject": "s", "body": "b"})
    assert failure.value.retryable


def test_invalid_from_email_is_a_config_error():
    assert "from_email" in registry.get("email").validate_config({"from_email": "nobody"})
