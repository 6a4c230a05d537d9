"""The app served by uvicorn on loopback (the protocols `assistant serve` uses), for tests that need a real server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from pydantic import SecretStr


@pytest.fixture(scope="session")
def live_url(settings, assistant) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Base URL of the app run by uvicorn in a thread, on a free port of 127.0.0.1 (stopped after the session)."""
    import uvicorn

    from api.app import create_app
    from api.server import PROTOCOLS

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # A LINE channel secret, so the webhook is on: unsigned calls get its 400, not the 503 of "not configured".
    line = {"line_channel_secret": SecretStr("live-url-line-secret"), "line_channel_access_token": SecretStr("t")}
    # An admin key no client here knows, so the /admin routes are on: a missing or wrong key gets their 401
    # (what schemathesis' auth checks expect), not the 403 of "no key configured".
    admin = {"admin_token": SecretStr("live-url-admin-key-nobody-sends-0123456789")}
    app = create_app(settings.model_copy(update={**line, **admin}), assistant=assistant)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", **PROTOCOLS))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the loopback server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)
    sock.close()
