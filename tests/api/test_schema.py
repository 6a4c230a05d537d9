"""Schemathesis holds the running app to its own OpenAPI schema, with every check.

Every operation the schema lists (whatever routes exist) is exercised over real HTTP on
loopback, in schemathesis' examples, coverage and fuzzing phases, with positive and negative
data, and then in stateful sequences. Every check is on (schemathesis' defaults plus
``max_response_time``): every response must be declared (status, content type, headers, body
schema), valid data must be accepted and invalid data refused with a 4xx, a method a path does
not have must get 405 with ``Allow``, nothing may answer 5xx or take longer than 5 s.

The schema is built from the app factory at import (no model needed for that), because
schemathesis' lazy ``from_fixture`` loader does not run under pytest 9.2; a test checks that
the served ``/openapi.json`` is this very schema. Runs are deterministic (``derandomize``, no
example database), so CI sees the same requests every time.
"""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from api.app import create_app
from assistant.config import Settings

pytestmark = pytest.mark.slow

SPEC = create_app(Settings()).openapi()
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {"max_response_time": 5.0},
        "operations": [
            {
                # Only LINE can sign a webhook body: data valid by the schema still gets the signature's 400.
                "include-path": "/line/webhook",
                "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400"]}},
            }
        ],
    }
)
schema = schemathesis.openapi.from_dict(SPEC, config=CONFIG)
FUZZ = settings(
    max_examples=100, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
)


def test_every_declared_error_has_the_error_body() -> None:
    """The general rule every route follows (api/responses.py): future routes are held to it too."""
    error_body = {"$ref": "#/components/schemas/ErrorBody"}
    for path, operations in SPEC["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if "requestBody" in operation:  # what the body limit, the JSON parser and validation answer
                assert {"400", "413", "415", "422"} <= set(responses), f"{method} {path}"
            for status, response in responses.items():
                if status[0] in "45" and (path, status) != ("/readyz", "503"):
                    assert response["content"]["application/json"]["schema"] == error_body, f"{method} {path} {status}"
    assert "HTTPValidationError" not in SPEC["components"]["schemas"], "FastAPI's own 422 body is never sent"


def test_the_question_limit_in_the_schema_is_the_setting(live_url: str, settings) -> None:  # type: ignore[no-untyped-def]
    """Fuzzing seldom draws 500 characters, so the boundary is checked here, both sides of it."""
    limit = settings.max_question_chars
    assert SPEC["components"]["schemas"]["AskRequest"]["properties"]["question"]["maxLength"] == limit
    assert httpx.post(f"{live_url}/v1/ask", json={"question": "あ" * limit}).status_code == 200
    assert httpx.post(f"{live_url}/v1/ask", json={"question": "あ" * (limit + 1)}).status_code == 422


def test_the_served_schema_is_the_one_tested(live_url: str) -> None:
    assert httpx.get(f"{live_url}/openapi.json").json() == SPEC


@schema.parametrize()
@FUZZ
def test_every_operation_conforms_to_the_schema(case, live_url: str) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(base_url=live_url)


def test_sequences_of_calls_conform_to_the_schema(live_url: str) -> None:
    machine = schema.as_state_machine()

    class Workflow(machine):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case):  # type: ignore[no-untyped-def]
            return {"base_url": live_url}

    Workflow.run(settings=settings(FUZZ, max_examples=30, stateful_step_count=6))
