"""How approvals names the people who hold a task."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group

from approvals.models import ApprovalTask, task_holder

pytestmark = pytest.mark.django_db


def test_a_task_is_held_by_its_assignee_else_its_group_else_nobody(org: dict[str, Any]) -> None:
    finance = Group.objects.get(name="Finance")

    assert task_holder(ApprovalTask(assignee=org["manager"], candidate_group=finance)) == "Max Manager"
    assert task_holder(ApprovalTask(candidate_group=finance)) == "the Finance queue"
    assert task_holder(ApprovalTask(candidate_group=finance), "group") == "the Finance group"
    assert task_holder(ApprovalTask()) == "nobody"
