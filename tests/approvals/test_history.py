"""How a request reads to its requester when it is stopped, fixed by an operator, or cancelled by one."""

from __future__ import annotations

import pytest
from django.test import Client

from orchestration.engine import cancel_instance, retry_incident
from tests.orchestration.ops_data import OpsData, make_ops_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def data() -> OpsData:
    return make_ops_data()


def _page(data: OpsData, name: str, instance_id: object) -> str:
    client = Client()
    client.force_login(data.people[name])
    response = client.get(f"/requests/{instance_id}/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_stopped_request_says_where_who_knows_and_what_happens_next_in_plain_words(data: OpsData) -> None:
    stuck = data.start("Paper", 0)

    page = _page(data, "alice", stuck.id)

    assert "Share out could not be done because of a technical problem" in page
    assert "have it in their list of requests needing attention" in page
    assert "continues from there by itself; you need not do anything" in page
    assert "divide by zero" not in page and "Operations view" not in page


def test_after_an_operators_retry_stops_again_the_requester_reads_what_was_tried(data: OpsData) -> None:
    stuck = data.start("Paper", 0)
    retry_incident(stuck.incidents.get().id, actor=data.people["owner"], reason="Trying once more")

    page = _page(data, "alice", stuck.id)

    assert "Owner Example tried Share out again on" in page and "but it stopped again" in page
    assert "Share out: an operator tried it again" in page  # the timeline, in plain words
    assert "Trying once more" not in page  # the operator's note is for operators


def test_a_request_cancelled_by_an_operator_says_by_whom_and_why(data: OpsData) -> None:
    lamp = data.start("Lamp", 4)
    cancel_instance(lamp.id, actor=data.people["owner"], reason="Bought elsewhere")

    page = _page(data, "alice", lamp.id)

    assert "Cancelled by Owner Example on" in page and ": Bought elsewhere" in page


def test_operators_reach_the_operations_view_from_the_request_page(data: OpsData) -> None:
    stuck = data.start("Paper", 0)

    page = _page(data, "owner", stuck.id)

    assert f'href="/operations/requests/{stuck.id}/"' in page


def test_a_request_moved_to_a_new_version_says_the_process_was_updated_without_the_operators_reason() -> None:
    from django.utils import timezone

    from approvals.history import timeline
    from orchestration.models import Event

    moved = Event(
        kind="instance.migrated",
        message="Moved from version 1 to version 2 (Approve continues at Review): the old step was removed",
        actor_label="buyer",
        data={"from_version": 1, "to_version": 2, "reason": "the old step was removed"},
        created_at=timezone.now(),
    )

    [entry] = timeline([moved], {"nodes": {}})  # type: ignore[arg-type]

    assert entry.message == "The process was updated; the request goes on with its new version"
