"""A stand-in for LINE's Messaging API on loopback, signed webhook bodies, and the app served by uvicorn.

The stand-in is a real HTTP server: it records every request it receives (path, headers, JSON body)
and answers as LINE would (200 with ``sentMessages``), or with the status a test sets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SECRET = "test-line-channel-secret-0123"
TOKEN = "test-line-access-token-abcdef"
USER = "U4af4980629d1b2c3d4e5f60718293a4b"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class LineStandIn:
    """What the stand-in received, and how it answers next."""

    base: str = ""
    received: list[Received] = field(default_factory=list)
    status: int = 200
    answer: dict[str, Any] = field(default_factory=lambda: {"sentMessages": [{"id": "1", "quoteToken": "q"}]})
    hold: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def replies(self, token: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.received if token is None or r.body.get("replyToken") == token]

    def wait_for(self, token: str, count: int = 1, timeout: float = 60) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.replies(token)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"no reply with token {token!r} reached the stand-in in {timeout:.0f} s")


@contextmanager
def line_stand_in() -> Iterator[LineStandIn]:
    """A LINE API stand-in on a free loopback port (``hold`` released: it answers at once)."""
    state = LineStandIn()
    state.hold.set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            with state.lock:
                state.received.append(Received(self.path, dict(self.headers.items()), json.loads(raw or b"{}")))
            state.hold.wait(60)
            status = state.status
            payload = state.answer if status == 200 else {"message": "Invalid reply token"}
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.hold.set()
        server.shutdown()
        server.server_close()


@contextmanager
def served(app: Any) -> Iterator[str]:
    """The app run by uvicorn in a thread on a free loopback port; its base URL."""
    import uvicorn

    from api.server import PROTOCOLS

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", **PROTOCOLS))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the loopback server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def sign(body: bytes, secret: str = SECRET) -> str:
    """X-Line-Signature as LINE computes it (in the test only: the app checks it with line-bot-sdk)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def event(kind: str, *, user: str = USER, event_id: str | None = None, **extra: Any) -> dict[str, Any]:
    """A webhook event as LINE sends it, with a fresh reply token and webhookEventId."""
    return {
        "type": kind,
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user},
        "webhookEventId": event_id or uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": False},
        "replyToken": uuid.uuid4().hex,
        **extra,
    }


def text_event(text: str, **kwargs: Any) -> dict[str, Any]:
    message = {"type": "text", "id": str(uuid.uuid4().int)[:18], "quoteToken": "q" + uuid.uuid4().hex, "text": text}
    return event("message", message=message, **kwargs)


def sticker_event(**kwargs: Any) -> dict[str, Any]:
    message = {
        "type": "sticker",
        "id": str(uuid.uuid4().int)[:18],
        "quoteToken": "q" + uuid.uuid4().hex,
        "packageId": "446",
        "stickerId": "1988",
        "stickerResourceType": "STATIC",
    }
    return event("message", message=message, **kwargs)


def image_event(**kwargs: Any) -> dict[str, Any]:
    message = {
        "type": "image",
        "id": str(uuid.uuid4().int)[:18],
        "quoteToken": "q" + uuid.uuid4().hex,
        "contentProvider": {"type": "line"},
    }
    return event("message", message=message, **kwargs)


def body_of(*events: dict[str, Any]) -> bytes:
    # UTF-8 as LINE sends it (not \u escapes), so a test can look for the words in logs and bodies.
    body = {"destination": "Uxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "events": list(events)}
    return json.dumps(body, ensure_ascii=False).encode()
