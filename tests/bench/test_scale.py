"""bench/scale.py removes what an earlier, interrupted run left behind (needs root, as the script does)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from scale import ip, remove_leftovers


def test_leftover_namespaces_links_and_their_processes_are_removed() -> None:
    # Names of this test's own, so that a real benchmark run on the host is never touched.
    prefix = f"bst{os.getpid() % 100000}"
    ip("netns", "add", f"{prefix}-a")
    try:
        ip("link", "add", f"{prefix}-br", "type", "bridge")
        ip("link", "add", f"{prefix}-a", "type", "veth", "peer", "name", "eth0", "netns", f"{prefix}-a")
        ip("link", "set", f"{prefix}-a", "master", f"{prefix}-br")
        inside = subprocess.Popen(["ip", "netns", "exec", f"{prefix}-a", "sleep", "300"])
        assert ip("netns", "pids", f"{prefix}-a").split() == [str(inside.pid)]

        removed = remove_leftovers(prefix)

        assert inside.wait(timeout=10) == -9
        assert f"namespace {prefix}-a" in removed and f"link {prefix}-br" in removed
        assert not [line for line in ip("netns", "list").splitlines() if line.startswith(prefix)]
        assert prefix not in ip("-o", "link", "show")
        assert remove_leftovers(prefix) == []
    finally:
        remove_leftovers(prefix)
