"""The operations console in the REST API: the instance list, its filters and counts, and who may use it."""

from __future__ import annotations

from typing import Any

import pytest

from orchestration.ops import instances as rows
from tests.orchestration.conftest import Client
from tests.orchestration.ops_data import OpsData, make_ops_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def data() -> OpsData:
    return make_ops_data()


def test_operators_list_requests_with_plain_words_and_filters(api: Client, data: OpsData) -> None:
    stuck = data.start("Printer paper", 0, key="PO-7")
    data.start("Desk lamp", 4)

    everything = api(data.people["owner"]).get("/api/operations/instances/")
    found = api(data.people["owner"]).get("/api/operations/instances/?q=paper&has_incident=true")

    assert everything.status_code == 200 and everything.data["count"] == 2
    [row] = found.data["results"]
    assert row["id"] == str(stuck.id) and row["reference"] == stuck.reference
    assert row["title"] == "Printer paper" and row["workflow_name"] == "Divide the budget"
    assert row["needs_attention"] is True and row["initiator"] == "alice" and row["business_key"] == "PO-7"
    assert row["waiting_at"] == [
        {"node_id": "divide", "step": "Share out", "what": "Stopped at", "incident": True}
    ]


def test_the_list_counts_only_as_far_as_needed_and_says_when_there_are_more(
    api: Client, data: OpsData, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rows, "COUNT_CAP", 2)
    for item in ("A", "B", "C", "D"):
        data.start(item, 1)
    client = api(data.people["owner"])

    first = client.get("/api/operations/instances/?limit=1")
    deep = client.get("/api/operations/instances/?limit=1&offset=3")
    few = client.get("/api/operations/instances/?q=B")
    past = client.get("/api/operations/instances/?limit=1&offset=9")

    assert (first.data["count"], first.data["count_is_exact"]) == (2, False)  # more than 2
    assert "offset=1" in first.data["next"] and [r["title"] for r in first.data["results"]] == ["D"]
    assert (deep.data["count"], deep.data["count_is_exact"], deep.data["next"]) == (4, True, None)
    assert [r["title"] for r in deep.data["results"]] == ["A"]
    assert (few.data["count"], few.data["count_is_exact"]) == (1, True)
    assert past.status_code == 200 and past.data["results"] == []


def test_the_list_s_capped_count_is_in_the_openapi_schema(api: Client, data: OpsData) -> None:
    schema = api(data.people["owner"]).get("/api/schema/?format=json").json()
    listing = schema["paths"]["/api/operations/instances/"]["get"]["responses"]["200"]
    page = schema["components"]["schemas"][
        listing["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    ]

    assert "count_is_exact" in page["required"]
    assert "more than this" in page["properties"]["count"]["description"]


def test_counts_per_status_follow_the_other_filters(api: Client, data: OpsData) -> None:
    data.start("Printer paper", 0)
    data.start("Desk lamp", 4)
    data.start("Chair", 4, by="victor")

    response = api(data.people["owner"]).get(
        "/api/operations/instances/counts/?initiator=alice&status=completed"
    )

    assert response.status_code == 200
    assert response.data == {"all": 2, "running": 2, "attention": 1, "completed": 0, "cancelled": 0}


def test_malformed_filters_are_a_400_naming_them(api: Client, data: OpsData) -> None:
    listing = api(data.people["owner"]).get("/api/operations/instances/?started_from=soon&sort=sideways")
    counts = api(data.people["owner"]).get("/api/operations/instances/counts/?has_incident=perhaps")

    assert listing.status_code == 400 and set(listing.data) == {"started_from", "sort"}
    assert counts.status_code == 400 and set(counts.data) == {"has_incident"}


@pytest.mark.parametrize("name", ["alice", "victor"])
def test_people_who_operate_nothing_get_403_and_no_data(api: Client, data: OpsData, name: str) -> None:
    data.start("Desk lamp", 4)

    responses = [
        api(data.people[name]).get(url)
        for url in ("/api/operations/instances/", "/api/operations/instances/counts/")
    ]

    assert [r.status_code for r in responses] == [403, 403]
    assert all("Desk lamp" not in r.content.decode() for r in responses)


def test_the_list_is_documented_in_the_openapi_schema(api: Client, data: OpsData) -> None:
    schema: Any = api(data.people["owner"]).get("/api/schema/?format=json").json()

    listing = schema["paths"]["/api/operations/instances/"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"q", "workflow", "version", "status", "has_incident", "step", "initiator", "reference"} <= names
    assert {"started_from", "started_to", "sort", "limit", "offset"} <= names
    assert "/api/operations/instances/counts/" in schema["paths"]


# --- one request and its fixes -----------------------------------------------------------


def test_an_instance_reads_with_typed_data_steps_and_history(api: Client, data: OpsData) -> None:
    stuck = data.start("Printer paper", 0)

    response = api(data.people["owner"]).get(f"/api/operations/instances/{stuck.id}/")

    assert response.status_code == 200
    body = response.data
    assert body["instance"]["reference"] == stuck.reference
    assert [(d["name"], d["type"], d["value"]) for d in body["data"]] == [
        ("item", "Text", "Printer paper"),
        ("count", "Whole number", 0),
    ]
    failed = body["steps"][-1]
    assert failed["node_id"] == "divide" and "divide by zero" in failed["error"] and failed["incident"]
    assert body["history"][0]["kind"] == "instance.started"


def test_fixes_through_the_api(api: Client, data: OpsData) -> None:
    stuck = data.start("Printer paper", 0)
    chair = data.start("Chair", 4)
    lamp = data.start("Desk lamp", 4)
    client = api(data.people["owner"])
    incident = stuck.incidents.get()
    url = f"/api/operations/instances/{stuck.id}"

    refused = client.post(
        f"{url}/retry/", {"incident": incident.id, "variables": {"count": "x"}, "reason": "r"}, format="json"
    )
    retried = client.post(
        f"{url}/retry/", {"incident": incident.id, "variables": {"count": 2}, "reason": "r"}, format="json"
    )
    again = client.post(f"{url}/skip/", {"incident": incident.id, "reason": "r"}, format="json")
    approve = chair.steps.get(node_id="approve")
    moved = client.post(
        f"/api/operations/instances/{chair.id}/move/",
        {"step": approve.id, "target": "end", "reason": "r"},
        format="json",
    )
    cancelled = client.post(
        f"/api/operations/instances/{lamp.id}/cancel/", {"reason": "Bought elsewhere"}, format="json"
    )
    no_reason = client.post(f"/api/operations/instances/{lamp.id}/cancel/", {}, format="json")

    assert refused.status_code == 400 and refused.data == {"variables": {"count": ["Enter a whole number."]}}
    assert retried.status_code == 200 and retried.data["instance"]["needs_attention"] is False
    assert again.status_code == 409
    assert moved.status_code == 200 and moved.data["instance"]["status"] == "completed"
    assert cancelled.status_code == 200 and cancelled.data["instance"]["status"] == "cancelled"
    assert no_reason.status_code == 400 and "reason" in no_reason.data


@pytest.mark.parametrize(("name", "expected"), [("olga", 404), ("victor", 404), ("alice", 403)])
def test_every_instance_endpoint_is_404_for_outsiders_and_403_for_non_operators(
    api: Client, data: OpsData, name: str, expected: int
) -> None:
    stuck = data.start("Printer paper", 0)
    incident = stuck.incidents.get()
    url = f"/api/operations/instances/{stuck.id}"
    client = api(data.people[name])

    responses = [
        client.get(f"{url}/"),
        client.post(f"{url}/retry/", {"incident": incident.id, "reason": "r"}, format="json"),
        client.post(f"{url}/skip/", {"incident": incident.id, "reason": "r"}, format="json"),
        client.post(f"{url}/cancel/", {"reason": "r"}, format="json"),
        client.post(f"{url}/move/", {"step": 1, "target": "end", "reason": "r"}, format="json"),
    ]

    assert [r.status_code for r in responses] == [expected] * 5
    assert all("divide by zero" not in r.content.decode() for r in responses)


def test_a_page_of_the_list_costs_the_same_queries_however_many_requests(
    api: Client, data: OpsData, django_assert_max_num_queries: Any
) -> None:
    client = api(data.people["owner"])
    data.start("One", 0)
    with django_assert_max_num_queries(12) as few:
        client.get("/api/operations/instances/?q=e&limit=20")
    for n in range(30):
        data.start(f"Item {n}", n % 3)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/api/operations/instances/?q=e&limit=20")

    assert len(response.data["results"]) == 20


def test_a_requester_reads_a_failure_in_plain_words_and_an_operator_in_the_systems_words(
    api: Client, data: OpsData
) -> None:
    stuck = data.start("Printer paper", 0)

    mine = api(data.people["alice"]).get(f"/api/instances/{stuck.id}/").data
    theirs = api(data.people["owner"]).get(f"/api/instances/{stuck.id}/").data

    [failed] = [step for step in mine["steps"] if step["node_id"] == "divide"]
    assert failed["error"] == "A technical problem stopped this step; the people who run this process see it."
    [raised] = [event for event in mine["history"] if event["kind"] == "incident.raised"]
    assert raised["message"] == failed["error"] and "error" not in raised["data"]
    assert "divide by zero" not in str(mine).lower()
    [failed] = [step for step in theirs["steps"] if step["node_id"] == "divide"]
    assert "divide by zero" in failed["error"].lower()
