"""Secrets of Connections: encrypted at rest with Fernet, decrypted only when a step runs.

The key is ``BATON_ENCRYPTION_KEY`` (a Fernet key: 32 url-safe base64 bytes). Without it,
one is derived from ``SECRET_KEY``, which is fine for the embedded default and means a new
SECRET_KEY makes stored secrets unreadable: production sets its own key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

if TYPE_CHECKING:
    from orchestration.models import Connection


class ConnectionUnavailable(LookupError):
    """A connection is missing or its secrets cannot be read; the message never contains a secret."""


def _fernet() -> Fernet:
    key = (
        getattr(settings, "BATON_ENCRYPTION_KEY", "")
        or base64.urlsafe_b64encode(
            hashlib.sha256(f"baton-connections:{settings.SECRET_KEY}".encode()).digest()
        ).decode()
    )
    return Fernet(key)


def store_headers(connection: Connection, headers: dict[str, str]) -> None:
    """Encrypt ``headers`` onto ``connection`` (not saved); their names stay readable for people."""
    connection.secret_token = _fernet().encrypt(json.dumps(headers).encode()).decode() if headers else ""
    connection.header_names = ", ".join(sorted(headers))[:500]


def secret_headers(connection: Connection) -> dict[str, str]:
    """The decrypted headers of ``connection``; raises :class:`ConnectionUnavailable` when unreadable."""
    if not connection.secret_token:
        return {}
    try:
        headers: dict[str, str] = json.loads(_fernet().decrypt(connection.secret_token.encode()))
    except (InvalidToken, ValueError):
        raise ConnectionUnavailable(
            f"The secrets of connection {connection.name!r} cannot be decrypted: was BATON_ENCRYPTION_KEY changed?"
        ) from None
    return headers


def find(name: str) -> Connection:
    """The connection called ``name``; raises :class:`ConnectionUnavailable` naming it when there is none."""
    from orchestration.models import Connection

    connection = Connection.objects.filter(name=name).first()
    if connection is None:
        raise ConnectionUnavailable(f"There is no connection named {name!r}.")
    return connection
