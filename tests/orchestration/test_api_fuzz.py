"""A standing guard: generated requests to every API operation never get a server error.

Schemathesis reads ``/api/schema/`` from the live server and builds requests from it (valid
and invalid bodies, odd query strings, huge numbers, unicode, ids that do not exist), sent
as an ordinary employee and as an administrator. Every operation is tried; any 5xx fails the
test and names the request. Bounded: a few examples per operation and generation mode.
(Driven by hand rather than ``schemathesis.pytest.from_fixture``, whose lazy loader does
not run on pytest 9.)
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from guardian.shortcuts import assign_perm
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from orchestration.engine import start_instance
from tests import bpmn
from tests.orchestration.factories import publish

FLOW = bpmn.definitions(
    bpmn.start("start", bpmn.field("item", required=True), bpmn.field("amount", "number")),
    bpmn.user_task("approve", name="Approve", assignee="olga"),
    bpmn.end("end", outcome="approved"),
    *bpmn.chain("start", "approve", "end"),
)
BOUNDED = settings(max_examples=5, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


@pytest.fixture
def tokens(transactional_db: None) -> dict[str, str]:
    """An employee who may start one workflow and decides its task, and an administrator."""
    users = get_user_model()
    olga = users.objects.create_user("olga")
    Group.objects.create(name="Finance")  # where an approval escalates
    admin = users.objects.create_superuser("root")
    version = publish(FLOW, key="orders", owner=admin)
    assign_perm("orchestration.start_workflow", olga, version.workflow)
    assign_perm("orchestration.view_workflow", olga, version.workflow)
    start_instance(version, {"item": "Desk", "amount": 120.0}, initiator=olga, trigger="api")
    return {
        name: Token.objects.create(user=user).key for name, user in (("employee", olga), ("admin", admin))
    }


# The administrator passes every permission check, so valid and invalid requests both reach the
# code behind it; the employee is refused early by most operations, so invalid requests are enough.
ROLES = [
    ("admin", (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)),
    ("employee", (GenerationMode.NEGATIVE,)),
]


@pytest.mark.parametrize(("role", "modes"), ROLES)
def test_no_generated_request_gets_a_server_error(
    live_server: Any,
    tokens: dict[str, str],
    role: str,
    modes: tuple[GenerationMode, ...],
) -> None:
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/")
    headers = {"Authorization": f"Token {tokens[role]}"}
    failures: list[str] = []
    operations = 0
    for found in schema.get_all_operations():
        operation = found.ok()
        operations += 1
        for mode in modes:

            @BOUNDED
            @given(case=operation.as_strategy(generation_mode=mode))
            def send(case: Any) -> None:
                case.call_and_validate(headers=headers, checks=[not_a_server_error])

            try:
                send()
            except Exception as exc:  # every operation is tried; all failures are reported together
                failures.append(f"{operation.label} ({mode.value}): {exc}")

    assert operations > 20  # the schema was read whole
    assert not failures, "\n\n".join(failures)
