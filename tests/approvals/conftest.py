"""Shared approvals fixtures: the demo company's org chart and a one-approval purchase flow."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from approvals.models import AuthorityLimit, Profile
from tests import bpmn

FORM = (
    bpmn.field("item", required=True),
    bpmn.field("amount", "money", required=True),
    bpmn.field("currency", "choice", choices="USD,EUR", default="USD"),
)


def approval_flow(
    rule: str = "authority_chain", groups: str = "", *, due: str = "P2D", reminder: str = "P1D", **extra: str
) -> str:
    """Start → Approval by ``rule`` (escalating to Finance unless ``escalateTo`` says) → approved or rejected end.

    ``extra`` adds Baton attributes to the Approval block (``assignee="manager"``, ``quorum="all"``…).
    """
    settings = {"escalateTo": "Finance", **extra}
    if groups:
        settings["candidateGroups"] = groups
    if due:
        settings["dueIn"] = due
    if reminder:
        settings["reminderIn"] = reminder
    attrs = "".join(f' baton:{name}="{value}"' for name, value in settings.items())
    approval = (
        f'<bpmn:userTask id="approve" name="Manager approval" baton:assigneeRule="{rule}" '
        f'baton:amount="amount"{attrs} baton:resultVariable="approval"/>'
    )
    return bpmn.definitions(
        bpmn.start("start", *FORM),
        approval,
        bpmn.gateway("ok", default="f_no"),
        bpmn.end("yes", outcome="approved"),
        bpmn.end("no", outcome="rejected"),
        bpmn.flow("start", "approve"),
        bpmn.flow("approve", "ok"),
        bpmn.flow("ok", "yes", id="f_yes", condition='approval.outcome == "approved"'),
        bpmn.flow("ok", "no", id="f_no"),
    )


@pytest.fixture
def org() -> dict[str, Any]:
    """The demo company: employee → manager → director → cfo, with USD limits; fiona in Finance."""
    users = get_user_model()
    people: dict[str, Any] = {}
    above = None
    for username, first, last, limit in [
        ("cfo", "Chris", "Finance", "1000000"),
        ("director", "Dana", "Director", "25000"),
        ("manager", "Max", "Manager", "2000"),
        ("employee", "Emma", "Employee", "500"),
    ]:
        user = users.objects.create_user(username, first_name=first, last_name=last)
        Profile.objects.create(user=user, manager=above)
        AuthorityLimit.objects.create(user=user, amount=Decimal(limit), currency="USD")
        people[username] = above = user
    people["fiona"] = users.objects.create_user("fiona")
    people["fiona"].groups.add(Group.objects.create(name="Finance"))
    return people


@pytest.fixture
def mailed_org(org: dict[str, Any]) -> dict[str, Any]:
    """``org`` with an email address for everyone: ``<username>@example.com``."""
    for user in org.values():
        user.email = f"{user.username}@example.com"
        user.save(update_fields=["email"])
    return org
