"""Actions on definitions: publishing checks the revision the publisher saw, under the lock."""

from __future__ import annotations

import pytest

from orchestration.definitions import DraftConflict, create_workflow, publish_version, save_draft
from orchestration.models import WorkflowVersion
from tests.approvals.conftest import approval_flow

pytestmark = pytest.mark.django_db


def test_publishing_a_stale_revision_raises_a_conflict_and_publishes_nothing() -> None:
    draft = create_workflow("buy", "Buy", approval_flow())
    save_draft(draft.workflow, approval_flow(task_name="Newer"))

    with pytest.raises(DraftConflict, match=r"revision 2\)"):
        publish_version(draft, expected_revision=draft.revision)

    assert not WorkflowVersion.objects.filter(status=WorkflowVersion.Status.PUBLISHED).exists()


def test_publishing_the_revision_seen_freezes_it() -> None:
    draft = create_workflow("buy", "Buy", approval_flow())
    draft, _ = save_draft(draft.workflow, approval_flow(task_name="Newer"))

    version = publish_version(draft, expected_revision=draft.revision)

    assert version.number == 1 and 'name="Newer"' in version.bpmn_xml
