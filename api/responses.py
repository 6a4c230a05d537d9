"""The error body every route answers with, and the ``responses=`` that document it in OpenAPI.

Every 4xx and 503 the API sends has one shape, ``{"error": {"code": "...", "message": "..."}}``
(:class:`ErrorBody`). A route declares each status it can answer with :func:`error_responses`, so
the OpenAPI schema lists them and schemathesis (``tests/api/test_schema.py``) can hold the app to
them: an undeclared status or a body off the schema fails the suite.

Example::

    @router.post("/feedback", responses=error_responses(*BODY_ERRORS, 404, 503))
    def feedback(body: FeedbackRequest, ...) -> FeedbackResult: ...

Statuses no single operation answers are not declared per route: 404 for an unknown path, and
405 (with ``Allow``) for a method a path does not have. FastAPI declares a 422 on its own for
every operation with parameters, with a body we never send; :func:`document_validation_errors`
points those at :class:`ErrorBody` too, so a new route with a query or path parameter is right
without doing anything.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    """What went wrong, for a program (``code``) and for a person (``message``)."""

    code: str = Field(description="Stable machine-readable reason, e.g. invalid_question, not_found.")
    message: str = Field(description="What is wrong and how to fix it, in plain words.")


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "The body is not valid JSON (`invalid_json`), e.g. cut off or not UTF-8.",
    401: "The bearer key is missing or wrong (`unauthorized`).",
    403: "Not allowed here (`forbidden`), e.g. no staff key is configured.",
    404: "No such record (`not_found`).",
    409: "The request conflicts with what is stored (`conflict`).",
    413: "The body is larger than the server accepts (`body_too_large`); it was not read.",
    415: "The body is not JSON: send `Content-Type: application/json` (`unsupported_media_type`).",
    422: "A field or parameter is missing or unusable (`invalid_request`, `invalid_question`).",
    429: "Too many requests (`rate_limited`).",
    503: "The server cannot answer yet: the index and the model are still loading (`not_ready`), or the "
    "database is out of reach (`store_unavailable`). Try again shortly.",
}

BODY_ERRORS: tuple[int, ...] = (400, 413, 415, 422)
"""What every operation that reads a JSON body can answer before its own logic runs."""


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries declaring :class:`ErrorBody` for each status.

    Raises:
        KeyError: a status without a description in :data:`ERROR_DESCRIPTIONS` (add one there).
    """
    return {status: {"model": ErrorBody, "description": ERROR_DESCRIPTIONS[status]} for status in statuses}


def document_validation_errors(app: FastAPI) -> None:
    """Make the OpenAPI schema say that a 422 from parameter validation has the :class:`ErrorBody` shape."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            if "ErrorBody" not in components:
                body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(body.pop("$defs", {}))
                components["ErrorBody"] = body
            ours = {"$ref": "#/components/schemas/ErrorBody"}
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    declared = operation.get("responses", {}).get("422")
                    if declared and declared["content"]["application/json"]["schema"] != ours:
                        operation["responses"]["422"] = {
                            "description": ERROR_DESCRIPTIONS[422],
                            "content": {"application/json": {"schema": ours}},
                        }
            for unused in ("HTTPValidationError", "ValidationError"):
                components.pop(unused, None)
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
