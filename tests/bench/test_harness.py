"""The benchmarks' counting HTTP target: what it calls a repeat and what a double."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from harness import CountingTarget


def _body(instance: str, step: int) -> bytes:
    return json.dumps({"instance": instance, "i": step}).encode()


def test_a_repeated_key_with_the_same_body_is_a_repeat_not_a_double() -> None:
    target = CountingTarget()
    target.start()
    try:
        for _ in range(2):
            reply = requests.post(
                target.url, data=_body("7", 1), headers={"Idempotency-Key": "k1"}, timeout=5
            )
            assert reply.json() == {"ok": True}
    finally:
        target.stop()
    tally = target.tally()
    assert (tally.requests, tally.applied, tally.repeats) == (2, 1, 1)
    assert (tally.key_conflicts, tally.doubled_effects) == (0, 0)
    assert target.clients["127.0.0.1"] == 2


def test_one_step_under_two_keys_and_one_key_with_two_bodies_are_doubles() -> None:
    target = CountingTarget()
    target.record("k1", _body("7", 1))
    target.record("k2", _body("7", 1))  # the same step of the same instance done again
    target.record("k3", _body("7", 2))
    target.record("k3", _body("8", 2))  # one key, a different effect
    tally = target.tally()
    assert (tally.doubled_effects, tally.key_conflicts) == (1, 1)
    assert target.tally({"8"}).applied == 0  # k3 is counted with its first body's instance
    assert target.tally({"7"}).applied == 3
