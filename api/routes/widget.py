"""The web channel: ``GET /widget.js`` (the chat widget) and ``GET /`` (a demo municipal page that embeds it).

The demo page is a Jinja2 template (autoescaped) rather than a static file because it shows real data:
the joint projects listed on it come from the loaded corpus, never from hand-written copy, and the
embedding snippet it offers names the host the page was served from. Autoescaping matters for the
latter: the ``Host`` header is the client's to choose.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from api.deps import AssistantDep
from assistant.corpus import SOURCE_DOCUMENT

API_DIR = Path(__file__).resolve().parent.parent
STATIC_DIR = API_DIR / "static"
TEMPLATES_DIR = API_DIR / "templates"

DEMO_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        # The widget adopts a constructed stylesheet in its Shadow DOM, so no 'unsafe-inline' is needed.
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        # Trusted Types make any innerHTML-style sink throw: the widget must build its DOM from text.
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    ]
)
"""The demo page's Content-Security-Policy: same-origin scripts, styles and API calls only, no inline code."""

DEMO_HEADERS = {
    "Content-Security-Policy": DEMO_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-cache",
}

ASSET_CACHE = "public, max-age=600"
"""Municipal pages embed one stable URL, so assets are cached briefly (a fix reaches them in 10 minutes)
and revalidated cheaply by ETag."""


@dataclass(frozen=True)
class Asset:
    """A static file read once per process, with its ETag."""

    body: bytes
    etag: str
    media_type: str


ASSETS = {
    "widget.js": "text/javascript; charset=utf-8",
    "demo.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}


@lru_cache(maxsize=len(ASSETS))
def asset(name: str) -> Asset:
    """The static file ``api/static/<name>`` (one of :data:`ASSETS`)."""
    body = (STATIC_DIR / name).read_bytes()
    return Asset(body=body, etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"', media_type=ASSETS[name])


@lru_cache(maxsize=1)
def templates() -> jinja2.Environment:
    """The Jinja2 environment of ``api/templates/``, autoescaping everything."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _serve(request: Request, name: str, extra: dict[str, str] | None = None) -> Response:
    item = asset(name)
    headers = {"ETag": item.etag, "Cache-Control": ASSET_CACHE, "X-Content-Type-Options": "nosniff", **(extra or {})}
    if item.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(content=item.body, media_type=item.media_type, headers=headers)


router = APIRouter(tags=["widget"])


@router.api_route("/widget.js", methods=["GET", "HEAD"], include_in_schema=False)
def widget_js(request: Request) -> Response:
    """The chat widget script that municipal pages embed with one ``<script>`` tag."""
    # Embedded from other sites by design: allowed even where a host page sets COEP require-corp.
    return _serve(request, "widget.js", {"Cross-Origin-Resource-Policy": "cross-origin"})


@router.api_route("/static/demo.css", methods=["GET", "HEAD"], include_in_schema=False)
def demo_css(request: Request) -> Response:
    """The demo page's stylesheet (a file, so the page's CSP needs no inline styles)."""
    return _serve(request, "demo.css")


@router.api_route("/static/favicon.svg", methods=["GET", "HEAD"], include_in_schema=False)
def favicon(request: Request) -> Response:
    """The demo page's icon."""
    return _serve(request, "favicon.svg")


@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False, response_class=HTMLResponse)
def demo_page(request: Request, assistant: AssistantDep) -> HTMLResponse:
    """A mock municipal page, labelled as a demo, with the widget embedded by its one tag."""
    corpus = assistant.corpus
    zone = corpus.zone
    # Policy area → policy item → projects, in the source table's order, leaving out empty headings.
    areas = []
    for area in zone.policy_areas:
        items = []
        for item in area.items:
            projects = [p for p in corpus.projects.values() if (p.policy_area, p.policy_item) == (area.name, item.name)]
            if projects:
                items.append({"name": item.name, "projects": projects})
        if items:
            areas.append({"name": area.name, "policy_items": items})
    base = str(request.base_url)
    snippet = f'<script src="{base}widget.js" data-api="{base.rstrip("/")}" data-lang="ja" defer></script>'
    html = (
        templates()
        .get_template("demo.html")
        .render(
            zone=zone,
            towns=[m for m in zone.members if m != zone.centre_city],
            areas=areas,
            item_names=[item.name for item in zone.items()],
            status_label=corpus.languages["ja"].phrases.status_label.model_dump(),
            project_count=len(corpus.projects),
            source_document=SOURCE_DOCUMENT,
            snippet=snippet,
        )
    )
    return HTMLResponse(html, headers=DEMO_HEADERS)
