"""Secrets at rest (Connection headers, webhook secrets): Fernet, with keys that rotate.

``BATON_ENCRYPTION_KEY`` lists one or more Fernet keys separated by commas, newest first:
the first encrypts, every one decrypts. Without it, one key is derived from ``SECRET_KEY``
with HKDF, which is fine for the embedded default and means a new SECRET_KEY makes stored
secrets unreadable: production sets its own keys. Rows written before keys rotated stay
readable (the derived keys, today's and the older SHA-256 one, always decrypt);
``manage.py baton_rotate_keys`` re-encrypts them all under the newest key.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

__all__ = ["InvalidToken", "decrypt", "encrypt", "reencrypt"]


def _derived_key(secret_key: str) -> bytes:
    """A Fernet key derived from ``secret_key`` with HKDF-SHA256 (a KDF, not a bare hash)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"baton-encryption", info=b"secrets at rest v1")
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


def _legacy_key(secret_key: str) -> bytes:
    """The key Connection secrets were encrypted with before HKDF: read-only, for old rows."""
    return base64.urlsafe_b64encode(hashlib.sha256(f"baton-connections:{secret_key}".encode()).digest())


def _fernet() -> MultiFernet:
    configured = [
        key.strip() for key in getattr(settings, "BATON_ENCRYPTION_KEY", "").split(",") if key.strip()
    ]
    derived = [_derived_key(settings.SECRET_KEY), _legacy_key(settings.SECRET_KEY)]
    # The first key encrypts; the derived ones stay last so rows from before BATON_ENCRYPTION_KEY still decrypt.
    return MultiFernet([Fernet(key) for key in [*configured, *derived]])


def encrypt(text: str) -> str:
    """``text`` encrypted under the newest key."""
    return _fernet().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    """The text of ``token``; raises :class:`InvalidToken` when no key reads it."""
    return _fernet().decrypt(token.encode()).decode()


def reencrypt(token: str) -> str:
    """``token`` encrypted again under the newest key (same text); raises :class:`InvalidToken`."""
    return _fernet().rotate(token.encode()).decode()


def reencrypt_stored_secrets() -> tuple[int, list[str]]:
    """Re-encrypt every stored secret under the newest key, each table in one locked transaction.

    Returns how many were re-encrypted and what could not be read (names, never secrets);
    those rows are left as they are.
    """
    from django.db import transaction

    from orchestration.models import Connection, Workflow

    tables: list[tuple[Any, str, Callable[[Any], str]]] = [
        (Connection, "secret_token", lambda row: f"connection {row.name!r}"),
        (Workflow, "webhook_secret", lambda row: f"webhook secret of workflow {row.key!r}"),
    ]
    done, unreadable = 0, []
    for model, field, describe in tables:
        with transaction.atomic():
            for row in model.objects.exclude(**{field: ""}).select_for_update():
                try:
                    setattr(row, field, reencrypt(getattr(row, field)))
                except InvalidToken:
                    unreadable.append(describe(row))
                    continue
                row.save(update_fields=[field])
                done += 1
    return done, unreadable
