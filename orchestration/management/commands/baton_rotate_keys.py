"""Re-encrypt Connection and webhook secrets under the newest key of BATON_ENCRYPTION_KEY."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from orchestration.encryption import reencrypt_stored_secrets


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret under the first key of BATON_ENCRYPTION_KEY. Rotate keys by "
        "putting a new key first (keep the old ones after it), running this, then dropping the old keys."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        done, unreadable = reencrypt_stored_secrets()
        self.stdout.write(f"Re-encrypted {done} secrets under the newest key.")
        if unreadable:
            raise CommandError(
                "No key in BATON_ENCRYPTION_KEY reads these (left as they were): " + ", ".join(unreadable)
            )
