"""Errors to HTTP: every failure a client can cause is a 4xx with a JSON message, never a traceback.

Body shape: ``{"error": {"code": "...", "message": "..."}}``.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.errors import IndexError_, NotFoundError, QuestionError, StoreUnavailableError

log = logging.getLogger("assistant.api")


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON error response."""
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}}, headers=headers)


def _describe(exc: RequestValidationError) -> tuple[int, str, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, "invalid_json", "the request body is not valid JSON"
    messages = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ()) if p != "body"]
        field = ".".join(loc) or "body"
        kind = e.get("type", "")
        if kind == "missing":
            messages.append(f"'{field}' is required")
        elif kind in ("string_type", "string_sub_type"):
            messages.append(f"'{field}' must be text")
        elif kind in ("model_attributes_type", "dict_type"):
            messages.append('the request body must be a JSON object, e.g. {"question": "…"}')
        else:
            messages.append(f"'{field}': {e.get('msg', 'is invalid')}")
    return 422, "invalid_request", "; ".join(messages)


def install_error_handlers(app: FastAPI) -> None:
    """Map the assistant's errors and FastAPI's validation errors to clear JSON 4xx responses."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, code, message = _describe(exc)
        return error(status, code, message)

    @app.exception_handler(QuestionError)
    async def _question(request: Request, exc: QuestionError) -> JSONResponse:
        return error(422, "invalid_question", str(exc))

    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return error(404, "not_found", str(exc))

    @app.exception_handler(IndexError_)
    async def _index(request: Request, exc: IndexError_) -> JSONResponse:
        return error(503, "not_ready", str(exc))

    @app.exception_handler(StoreUnavailableError)
    async def _store(request: Request, exc: StoreUnavailableError) -> JSONResponse:
        return error(503, "store_unavailable", f"{exc}; try again shortly")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        message = "no such endpoint" if exc.status_code == 404 else str(exc.detail)
        return error(exc.status_code, code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error(500, "internal_error", "something went wrong on our side; the error was logged")
