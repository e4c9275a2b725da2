"""Which status an approval task may move to: open tasks are decided or cancelled, closed ones stay closed."""

from __future__ import annotations

from approvals.models import ApprovalTask
from orchestration.engine.transitions import StatusTable

__all__ = ["TASK"]

_T = ApprovalTask.Status
TASK = StatusTable(
    "approval task", {_T.OPEN: {_T.COMPLETED, _T.CANCELLED}, _T.COMPLETED: set(), _T.CANCELLED: set()}
)
