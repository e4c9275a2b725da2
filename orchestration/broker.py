"""The embedded default's broker: kombu's filesystem transport, with atomic writes.

kombu's ``filesystem://`` writes a message file in place while a worker may already
be moving and reading it; a half-written file makes the worker crash on a JSON error.
Here a message is written under a temporary name that the reader ignores and then
renamed into place, which is atomic within one directory.

The exchange table (which queues an exchange routes to) has the same race when it is
first created: kombu creates the file empty and only then locks and fills it, so a
publisher can read "" in between. It is created whole here, by hard-linking a
finished file into place.
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

    def _queue_bind(self, exchange: Any, routing_key: Any, pattern: Any, queue: Any) -> None:
        table = self._exchange_file(exchange)
        self.control_folder.mkdir(exist_ok=True)
        if not table.exists():
            entry = [list(filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or ""))]
            partial = self.control_folder / f".part-{uuid.uuid4()}"
            partial.write_bytes(dumps(entry).encode())
            try:
                os.link(partial, table)  # appears whole, or fails because another binder made it first
                return
            except FileExistsError:
                pass  # theirs: add ours under kombu's lock below
            finally:
                partial.unlink(missing_ok=True)
        super()._queue_bind(exchange, routing_key, pattern, queue)


class Transport(filesystem.Transport):
    Channel = Channel
