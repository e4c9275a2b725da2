"""Compiled graphs by version, cached in the process: published versions never change."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from orchestration.bpmn.graph import Graph
from orchestration.models import WorkflowVersion

_MAX_CACHED = 512
_cache: dict[int, Graph] = {}


def graph_for(version_id: int) -> Graph:
    """The compiled graph of a version, read from the database once per process."""
    graph = _cache.get(version_id)
    if graph is not None:
        return graph
    row: tuple[Any, str] = WorkflowVersion.objects.values_list("graph", "status").get(id=version_id)
    graph, status = row
    if status != WorkflowVersion.Status.DRAFT:
        # Cache only what is committed: a version read inside a transaction that rolls back
        # may see its id reused (SQLite), so the entry waits for the commit.
        transaction.on_commit(lambda: _remember(version_id, graph))
    return graph


def _remember(version_id: int, graph: Graph) -> None:
    if len(_cache) >= _MAX_CACHED:
        _cache.clear()
    _cache[version_id] = graph
