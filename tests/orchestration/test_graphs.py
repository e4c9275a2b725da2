"""The per-process cache of compiled graphs."""

from __future__ import annotations

from typing import Any

import pytest

from orchestration.engine.graphs import graph_for
from orchestration.models import Workflow, WorkflowVersion
from tests import bpmn
from tests.orchestration.factories import publish

pytestmark = pytest.mark.django_db


def _flow(middle: str) -> str:
    return bpmn.definitions(
        bpmn.start(), bpmn.wait_timer(middle, "PT1H"), bpmn.end(), *bpmn.chain("start", middle, "end")
    )


def test_a_reused_version_id_never_returns_the_graph_cached_for_the_row_before(
    django_capture_on_commit_callbacks: Any,
) -> None:
    first = publish(_flow("first_wait"), key="first")
    with django_capture_on_commit_callbacks(execute=True):  # the commit that fills the cache
        assert "first_wait" in graph_for(first.pk, first.checksum)["nodes"]
    assert "first_wait" in graph_for(first.pk, first.checksum)["nodes"]  # now from the cache
    reused_id = first.pk
    # SQLite gives a rolled-back row's id to the next row: the first version goes away
    # and another version takes its id.
    Workflow.objects.filter(pk=first.workflow_id).delete()
    second = publish(_flow("second_wait"), key="second")
    WorkflowVersion.objects.filter(pk=second.pk).update(id=reused_id)

    graph = graph_for(reused_id, second.checksum)

    assert "second_wait" in graph["nodes"] and "first_wait" not in graph["nodes"]
