"""Test data made through the same actions the product uses."""

from __future__ import annotations

from typing import Any

from orchestration.definitions import create_workflow, publish_version
from orchestration.models import WorkflowVersion


def publish(xml: str, *, key: str = "flow", name: str = "", owner: Any = None) -> WorkflowVersion:
    """Create a workflow from ``xml`` and publish it as version 1."""
    draft = create_workflow(key, name or key.replace("-", " ").title(), xml, owner=owner)
    return publish_version(draft, actor=owner)
