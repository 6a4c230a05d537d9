"""GET /v1/projects, /v1/projects/{id}, /healthz, /readyz and the OpenAPI docs."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.slow


def test_projects_list_all_25_in_table_order(client: TestClient) -> None:
    projects = client.get("/v1/projects").json()
    assert len(projects) == 25
    assert projects[0]["id"] == "health-dial-24" and projects[-1]["id"] == "staff-training"
    assert {p["status"] for p in projects} <= {"planned", "under_discussion", "in_operation"}


def test_one_project_has_every_field(client: TestClient) -> None:
    body = client.get("/v1/projects/sick-child-care").json()
    assert body["name"] == "病児・病後児保育事業"
    assert body["source"]["page"] == 1 and body["contact"] == "" and body["url"] == ""


def test_unknown_project_is_404_with_a_message(client: TestClient) -> None:
    response = client.get("/v1/projects/no-such-project")
    assert response.status_code == 404
    assert "no joint project with id 'no-such-project'" in response.json()["error"]["message"]


def test_unknown_route_is_a_json_404(client: TestClient) -> None:
    response = client.get("/v1/nothing")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready" and ready.json()["projects"] == 25


def test_openapi_documents_the_contract(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/v1/ask", "/v1/projects", "/v1/projects/{project_id}", "/healthz", "/readyz"} <= set(spec["paths"])
    assert client.get("/docs").status_code == 200
