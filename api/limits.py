"""A request-body limit, as pure ASGI middleware: 413 before a large body is read or parsed.

A declared ``Content-Length`` over the limit is refused before the app runs, so not one byte
of the body is read. A body without one (``Transfer-Encoding: chunked``) is counted as the app
reads it; the first chunk past the limit stops the read with :class:`BodyTooLarge`, which the
error handlers turn into the same 413.

Starlette's own ``RequestBodyLimitMiddleware`` answers in plain text, and only once the app
asks for the body; this one answers up front, with the API's JSON error body.

Example::

    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised while reading a streamed request body that grew past the limit."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(status_code=413, detail=too_large_message(max_bytes))


def too_large_message(max_bytes: int) -> str:
    """The 413 message, naming the limit."""
    return f"the request body is larger than {max_bytes} bytes; a question needs far less"


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server itself refuses a malformed Content-Length
    return None


class BodySizeLimit:
    """Refuse request bodies larger than ``max_bytes`` with a JSON 413, without reading them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return

        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            # Read outside a route (where the error handlers would answer it): answer here if we still can.
            if started:
                raise
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"error": {"code": "body_too_large", "message": too_large_message(self.max_bytes)}})
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})
