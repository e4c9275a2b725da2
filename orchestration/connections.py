"""Secrets of Connections: encrypted at rest (``orchestration.encryption``), decrypted only when a step runs."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from orchestration.encryption import InvalidToken, decrypt, encrypt

if TYPE_CHECKING:
    from orchestration.models import Connection


class ConnectionUnavailable(LookupError):
    """A connection is missing or its secrets cannot be read; the message never contains a secret."""


def store_headers(connection: Connection, headers: dict[str, str]) -> None:
    """Encrypt ``headers`` onto ``connection`` (not saved); their names stay readable for people."""
    connection.secret_token = encrypt(json.dumps(headers)) if headers else ""
    connection.header_names = ", ".join(sorted(headers))[:500]


def secret_headers(connection: Connection) -> dict[str, str]:
    """The decrypted headers of ``connection``; raises :class:`ConnectionUnavailable` when unreadable."""
    if not connection.secret_token:
        return {}
    try:
        headers: dict[str, str] = json.loads(decrypt(connection.secret_token))
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
