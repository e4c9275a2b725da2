"""The OpenAPI schema and its Swagger UI are served."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_schema_endpoint_describes_every_api_area() -> None:
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/workflows/{key}/draft/",
        "/api/instances/{id}/cancel/",
        "/api/incidents/{id}/retry/",
        "/api/tasks/{id}/complete/",
        "/api/messages/",
    ):
        assert path in paths
    assert "webhook_secret" not in response.json()["components"]["schemas"]["Workflow"]["properties"]


def test_swagger_ui_is_served() -> None:
    assert Client().get("/api/docs/").status_code == 200


def test_schema_documents_the_list_filters() -> None:
    paths = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]

    def parameters(path: str) -> dict[str, dict]:
        return {p["name"]: p["schema"] for p in paths[path]["get"]["parameters"] if p["in"] == "query"}

    instances = parameters("/api/instances/")
    assert {"workflow", "status", "has_incident", "business_key", "started_after", "started_before"} <= set(
        instances
    )
    assert instances["has_incident"]["type"] == "boolean"
    assert set(instances["status"]["enum"]) >= {"running", "completed"}
    assert parameters("/api/incidents/")["resolved"]["type"] == "boolean"
    assert "all" in parameters("/api/tasks/")["status"]["enum"]
