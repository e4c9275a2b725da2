"""The embedded broker: messages appear whole to a reader racing the writer."""

from __future__ import annotations

import threading
from pathlib import Path

from kombu import Connection

import orchestration.celery  # noqa: F401  (registers the batonfs transport alias)


def _connection(folder: Path) -> Connection:
    (folder / "control").mkdir(exist_ok=True)
    return Connection(
        "batonfs://",
        transport_options={
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            # Not kombu's default (./control in the working directory), shared by every run.
            "control_folder": str(folder / "control"),
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

    # Bound before the race: kombu keeps bindings per process, so a writer in the reader's process
    # could otherwise skip binding and publish before the reader's binding reaches the disk.
    with _connection(tmp_path) as conn:
        conn.SimpleQueue("race").close()
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
