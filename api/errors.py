"""Errors to HTTP: every failure a client can cause is a 4xx with a JSON message, never a traceback.

Body shape: ``{"error": {"code": "...", "message": "..."}}``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from assistant.errors import IndexError_, NotFoundError, QuestionError, StoreUnavailableError

log = logging.getLogger("assistant.api")


def error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """A JSON error response."""
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}}, headers=headers)


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _describe(request: Request, exc: RequestValidationError) -> tuple[int, str, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, "invalid_json", "the request body is not valid JSON"
    if isinstance(exc.body, bytes) and exc.body and not _is_json(request.headers.get("content-type")):
        # FastAPI leaves a body it will not parse as JSON as bytes: say what to send instead.
        return 415, "unsupported_media_type", "the request body must be JSON, sent with Content-Type: application/json"
    messages = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ()) if p != "body"]
        field = ".".join(loc) or "body"
        kind = e.get("type", "")
        if kind == "missing" and field == "body":
            messages.append('the request body is empty; send a JSON object, e.g. {"question": "…"}')
        elif kind == "missing":
            messages.append(f"'{field}' is required")
        elif kind in ("string_type", "string_sub_type"):
            messages.append(f"'{field}' must be text")
        elif kind == "string_unicode":
            messages.append(f"'{field}' is not valid text: it holds a lone surrogate, which cannot be encoded as UTF-8")
        elif kind in ("model_attributes_type", "dict_type"):
            messages.append('the request body must be a JSON object, e.g. {"question": "…"}')
        else:
            messages.append(f"'{field}': {e.get('msg', 'is invalid')}")
    return 422, "invalid_request", "; ".join(messages)


def _unreadable(cause: BaseException) -> str:
    if isinstance(cause, UnicodeDecodeError):
        return f"it is not UTF-8 text (byte {cause.start + 1} is 0x{cause.object[cause.start]:02X})"
    if isinstance(cause, RecursionError):
        return "it is nested too deeply"
    return "it cannot be read"


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (several routes may share one path)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        route_methods = getattr(route, "methods", None)
        if route_methods and route.matches(request.scope)[0] != Match.NONE:
            methods |= set(route_methods)
    return ", ".join(sorted(methods))


def install_error_handlers(app: FastAPI) -> None:
    """Map the assistant's errors and FastAPI's validation errors to clear JSON 4xx responses."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, code, message = _describe(request, exc)
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
        status = exc.status_code
        if status == 404:
            return error(404, "not_found", "no such endpoint")
        if status == 405:
            allowed = _allowed_methods(request) or (exc.headers or {}).get("Allow", "")
            message = f"{request.method} is not allowed here; use {allowed}"
            return error(405, "method_not_allowed", message, headers={"Allow": allowed})
        if status in (401, 403):
            return error(status, "unauthorized" if status == 401 else "forbidden", str(exc.detail), headers=exc.headers)
        if status == 413:
            return error(413, "body_too_large", str(exc.detail))
        if status == 400 and exc.__cause__ is not None:
            # FastAPI's "error parsing the body", raised from what json.loads could not read.
            return error(400, "invalid_json", f"the request body is not valid JSON: {_unreadable(exc.__cause__)}")
        return error(status, "http_error", str(exc.detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error(500, "internal_error", "something went wrong on our side; the error was logged")
