"""Compiled graphs by version, cached in the process: published versions never change.

The cache is keyed by the version's id *and* its checksum (the SHA-256 of its XML,
from which the graph is compiled). An id alone is not enough: SQLite hands out the
id of a rolled-back row again, so a process that cached the graph of a version
created in a transaction that later rolled back would run another version's graph
under the same id. With the checksum in the key such an entry is simply never hit.
Callers read the checksum in the query they already make (a join on the version's
primary key), so a cache hit costs no query.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from orchestration.bpmn.graph import Graph
from orchestration.models import WorkflowVersion

_MAX_CACHED = 512
_cache: dict[tuple[int, str], Graph] = {}


def graph_for(version_id: int, checksum: str) -> Graph:
    """The compiled graph of a version, read from the database once per process.

    ``checksum`` is the version's stored checksum, which the caller reads with the
    row it holds (``F("version__checksum")`` or ``F("instance__version__checksum")``).
    """
    graph = _cache.get((version_id, checksum))
    if graph is not None:
        return graph
    row: tuple[Any, str, str] = WorkflowVersion.objects.values_list("graph", "status", "checksum").get(
        id=version_id
    )
    graph, status, stored = row
    if status != WorkflowVersion.Status.DRAFT:
        # Cache only what is committed, under the checksum read with the graph: a
        # draft's graph changes, and an entry from a transaction that rolls back is dropped.
        transaction.on_commit(lambda: _remember((version_id, stored), graph))
    return graph


def _remember(key: tuple[int, str], graph: Graph) -> None:
    if len(_cache) >= _MAX_CACHED:
        _cache.clear()
    _cache[key] = graph
