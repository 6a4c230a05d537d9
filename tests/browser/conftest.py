"""Real servers on loopback and Debian's chromium, for testing the widget the way residents meet it.

- ``live``: the app (real model and index) served by uvicorn on a free loopback port;
- ``host_site`` / ``stranger_site``: small HTTP servers standing in for municipal websites on other
  origins, the first allowed by ``ASSISTANT_CORS_ORIGINS``, the second not;
- ``starting``: the app before its lifespan has loaded the assistant (so ``/v1/ask`` answers 503);
- ``browser`` and ``tab``: headless chromium through Playwright, with every console message,
  page error and CSP violation recorded.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from api.app import create_app
from assistant.config import ROOT
from tests.chromium import CHROMIUM, CHROMIUM_ARGS

AXE = ROOT / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / ".cache" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 760}

# Records what the page reports, before any of its own scripts run (an init script is not subject to the CSP).
RECORDER = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "") + " " + (e.sample || ""));
});
"""


def listening_socket() -> socket.socket:
    """A socket already bound to a free loopback port (no race between choosing a port and using it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


@contextmanager
def serve(app: FastAPI, *, lifespan: Literal["on", "off"] = "on") -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread on a free loopback port; yield its base URL."""
    sock = listening_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan=lifespan, log_level="warning", ws="none", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"uvicorn:{port}")
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


class HostSite:
    """A stand-in for a municipality's own website: serves the pages a test registers, on its own origin."""

    def __init__(self) -> None:
        self.pages: dict[str, bytes] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                body = pages.get(self.path.split("?")[0])
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body or b"not found")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def page(self, path: str, html: str) -> str:
        """Serve ``html`` at ``path``; return its URL."""
        self.pages[path] = html.encode("utf-8")
        return self.origin + path

    def __enter__(self) -> HostSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def embed(api: str, *, body: str = "", head: str = "", script_api: str | None = None, widget: bool = True) -> str:
    """A host page with the widget's one tag, as a municipality would add it (``widget=False``: without)."""
    tag = f'<script src="{script_api or api}/widget.js" data-api="{api}" data-lang="ja" defer></script>'
    return (
        f'<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><title>host</title>{head}'
        f"{tag if widget else ''}</head><body><main><h1>Host page</h1>{body}</main></body></html>"
    )


@pytest.fixture(scope="session")
def host_site() -> Iterator[HostSite]:
    with HostSite() as site:
        yield site


@pytest.fixture(scope="session")
def stranger_site() -> Iterator[HostSite]:
    """A site that is not in ASSISTANT_CORS_ORIGINS."""
    with HostSite() as site:
        yield site


@pytest.fixture(scope="session")
def live(settings, assistant, host_site: HostSite) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The real app (real model, index and answers) on a loopback port; the host site may call it."""
    app = create_app(settings.model_copy(update={"cors_origins": [host_site.origin]}), assistant=assistant)
    with serve(app) as url:
        yield url


@pytest.fixture(scope="session")
def starting(settings, host_site: HostSite) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app with its lifespan not run: it serves, but the assistant is not loaded (503 on /v1/ask)."""
    app = create_app(settings.model_copy(update={"cors_origins": [host_site.origin]}))
    with serve(app, lifespan="off") as url:
        yield url


# Module scope, not session: only one sync Playwright can run in a thread at a time, and other test
# modules (the eval report's) start their own after this one is done.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def axe_source() -> Path:
    """axe-core, installed by `make test` (the `axe` target) into .cache/npm/. Never skipped when missing."""
    assert AXE.is_file(), f"{AXE} is missing: run `make axe` (part of `make test`) to install axe-core with npm"
    return AXE


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical accessibility violations on the page (axe injected by ``axe_source``)."""
    results: list[dict[str, Any]] = page.evaluate(
        """async () => {
          const result = await axe.run(document, { resultTypes: ['violations'] });
          return result.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
                                               nodes: v.nodes.map(n => n.target) }));
        }"""
    )
    return [v for v in results if v["impact"] in ("serious", "critical")]


@dataclass
class Tab:
    """A browser page and everything it reported."""

    page: Page
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def violations(self) -> list[str]:
        """CSP (and Trusted Types) violations, from the page's events and the console."""
        events: list[str] = self.page.evaluate("window.__violations || []")
        said = [m for m in self.console if "Content Security Policy" in m or "Trusted Type" in m]
        return events + said


def new_tab(
    browser: Browser,
    viewport: dict[str, int] | None = None,
    *,
    init_scripts: tuple[Path, ...] = (),
    reduced_motion: Literal["reduce", "no-preference"] = "no-preference",
) -> Tab:
    """A tab in a fresh context (its own sessionStorage) that records console messages, errors and requests."""
    context = browser.new_context(viewport=viewport or DESKTOP, locale="ja-JP", reduced_motion=reduced_motion)  # type: ignore[arg-type]
    page = context.new_page()
    tab = Tab(page)

    def on_console(message: ConsoleMessage) -> None:
        tab.console.append(f"{message.type}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: tab.errors.append(str(error)))
    page.on("request", lambda request: tab.requests.append(f"{request.method} {request.url}"))
    page.add_init_script(RECORDER)
    for script in init_scripts:
        page.add_init_script(path=str(script))
    return tab


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    """A fresh desktop-sized tab (its own context: its own sessionStorage). Fails on any uncaught page error."""
    opened = new_tab(browser)
    yield opened
    opened.page.context.close()
    assert opened.errors == [], f"the page threw: {opened.errors}"
