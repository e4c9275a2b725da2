"""The embedded broker: messages appear whole to a reader racing the writer."""

from __future__ import annotations

import threading
from pathlib import Path

from kombu import Connection

import orchestration.celery  # noqa: F401  (registers the batonfs transport alias)


def _connection(folder: Path) -> Connection:
    return Connection(
        "batonfs://",
        transport_options={
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "store_processed": False,
        },
    )


def test_a_reader_racing_the_writer_never_sees_a_partial_message(tmp_path: Path) -> None:
    total = 1500
    received: list[dict] = []
    done = threading.Event()

    def read() -> None:
        with _connection(tmp_path) as conn:
            queue = conn.SimpleQueue("race")
            while len(received) < total:
                try:
                    message = queue.get(timeout=5)
                except queue.Empty:
                    break
                received.append(message.payload)
                message.ack()
        done.set()

    reader = threading.Thread(target=read)
    reader.start()
    with _connection(tmp_path) as conn:
        queue = conn.SimpleQueue("race")
        for i in range(total):
            queue.put({"n": i, "padding": "x" * 2000})
    done.wait(timeout=60)
    reader.join(timeout=5)

    assert sorted(m["n"] for m in received) == list(range(total))
    assert not list(tmp_path.glob(".part-*"))
