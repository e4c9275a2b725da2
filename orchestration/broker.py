"""The embedded default's broker: kombu's filesystem transport, with atomic writes.

kombu's ``filesystem://`` writes a message file in place while a worker may already
be moving and reading it; a half-written file makes the worker crash on a JSON error.
Here a message is written under a temporary name that the reader ignores and then
renamed into place, which is atomic within one directory.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.json import dumps

ALIAS = "batonfs"


class Channel(filesystem.Channel):
    def _put(self, queue: Any, message: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Put ``message`` onto ``queue``, visible to readers only once complete."""
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # Readers match "<stamp>.<queue>.msg" on the part after the first dot: ".part-…" never does.
        partial = os.path.join(self.data_folder_out, f".part-{uuid.uuid4()}")
        try:
            with open(partial, "wb") as f:
                f.write(dumps(message).encode())
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
