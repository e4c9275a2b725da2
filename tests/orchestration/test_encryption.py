"""Secrets at rest: webhook secrets encrypted like Connection secrets, keys rotate, old rows stay readable."""

from __future__ import annotations

import base64
import hashlib
import importlib
import io
import time

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection as db
from django.test import Client

from orchestration import connections, encryption
from orchestration.models import Connection, Workflow
from orchestration.webhooks import rotate_webhook_secret, sign
from tests import bpmn
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
FLOW = bpmn.definitions(bpmn.start("start"), bpmn.end(), *bpmn.chain("start", "end"))
HEADERS = {"Authorization": "Bearer s3cr3t"}


def _stored_webhook_secret(workflow: Workflow) -> str:
    with db.cursor() as cursor:
        cursor.execute("SELECT webhook_secret FROM orchestration_workflow WHERE id = %s", [workflow.pk])
        return str(cursor.fetchone()[0])


def _connection() -> Connection:
    item = Connection(name="erp")
    connections.store_headers(item, HEADERS)
    item.save()
    return item


def test_webhook_secret_is_stored_encrypted() -> None:
    workflow = publish(FLOW, key="orders").workflow
    secret = rotate_webhook_secret(workflow)

    stored = _stored_webhook_secret(workflow)
    assert secret not in stored
    assert encryption.decrypt(stored) == secret


def test_default_key_is_derived_with_hkdf_and_old_hash_derived_rows_stay_readable(settings) -> None:
    settings.BATON_ENCRYPTION_KEY = ""
    legacy = Fernet(
        base64.urlsafe_b64encode(hashlib.sha256(f"baton-connections:{settings.SECRET_KEY}".encode()).digest())
    )
    old_row = legacy.encrypt(b"written before HKDF").decode()

    new_row = encryption.encrypt("written today")

    assert encryption.decrypt(old_row) == "written before HKDF"
    with pytest.raises(encryption.InvalidToken):
        legacy.decrypt(new_row.encode())  # today's key is not the bare hash any more
    rotated = encryption.reencrypt(old_row)
    with pytest.raises(encryption.InvalidToken):
        legacy.decrypt(rotated.encode())
    assert encryption.decrypt(rotated) == "written before HKDF"


def test_keys_rotate_newest_first_and_the_command_reencrypts_everything(settings) -> None:
    settings.BATON_ENCRYPTION_KEY = OLD_KEY
    item = _connection()
    workflow = publish(FLOW, key="orders").workflow
    secret = rotate_webhook_secret(workflow)

    settings.BATON_ENCRYPTION_KEY = f"{NEW_KEY}, {OLD_KEY}"  # new key first, the old one still reads
    assert connections.secret_headers(Connection.objects.get(pk=item.pk)) == HEADERS
    out = io.StringIO()
    call_command("baton_rotate_keys", stdout=out)

    assert out.getvalue().strip() == "Re-encrypted 2 secrets under the newest key."
    assert "s3cr3t" not in out.getvalue() and secret not in out.getvalue()
    settings.BATON_ENCRYPTION_KEY = NEW_KEY  # the old key dropped
    assert connections.secret_headers(Connection.objects.get(pk=item.pk)) == HEADERS
    assert encryption.decrypt(_stored_webhook_secret(workflow)) == secret
    assert Fernet(NEW_KEY).decrypt(_stored_webhook_secret(workflow).encode()).decode() == secret


def test_rotate_command_names_what_no_key_reads_and_keeps_the_rest(settings) -> None:
    settings.BATON_ENCRYPTION_KEY = OLD_KEY
    _connection()
    settings.BATON_ENCRYPTION_KEY = NEW_KEY
    publish(FLOW, key="orders")
    rotate_webhook_secret(Workflow.objects.get(key="orders"))

    with pytest.raises(CommandError, match=r"connection 'erp'") as raised:
        call_command("baton_rotate_keys", stdout=io.StringIO())
    assert "s3cr3t" not in str(raised.value)


def test_data_migration_encrypts_webhook_secrets_stored_in_plain_text() -> None:
    workflow = publish(FLOW, key="orders").workflow
    Workflow.objects.filter(pk=workflow.pk).update(webhook_secret="plain-old-secret")
    already = publish(FLOW, key="already").workflow
    secret = rotate_webhook_secret(already)
    migration = importlib.import_module("orchestration.migrations.0006_webhook_secret_encrypted")

    migration.encrypt_webhook_secrets(apps, None)

    assert encryption.decrypt(_stored_webhook_secret(workflow)) == "plain-old-secret"
    assert encryption.decrypt(_stored_webhook_secret(already)) == secret  # not encrypted twice


def test_webhook_whose_secret_no_key_reads_answers_503_and_logs_no_secret(settings, caplog) -> None:
    settings.BATON_ENCRYPTION_KEY = OLD_KEY
    secret = rotate_webhook_secret(publish(FLOW, key="orders").workflow)
    settings.BATON_ENCRYPTION_KEY = NEW_KEY  # the old key dropped before rotating

    body = b"{}"
    timestamp = int(time.time())
    response = Client().post(
        "/hooks/orders/",
        body,
        content_type="application/json",
        headers={"X-Baton-Timestamp": str(timestamp), "X-Baton-Signature": sign(secret, timestamp, body)},
    )

    assert response.status_code == 503
    assert "cannot be decrypted" in caplog.text and secret not in caplog.text
