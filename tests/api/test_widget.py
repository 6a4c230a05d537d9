"""``GET /widget.js`` and the demo page at ``GET /`` over HTTP: headers, size, CSP, CORS, escaping.

What the widget does in a browser is tested in ``tests/browser/``; this module checks what the server sends.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routes.widget import STATIC_DIR

pytestmark = pytest.mark.slow

WIDGET = STATIC_DIR / "widget.js"
HOST_ORIGIN = "https://www.city.example.lg.jp"


def csp_directives(header: str) -> dict[str, list[str]]:
    """``"a x y; b z"`` → ``{"a": ["x", "y"], "b": ["z"]}``."""
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.script_text.append(data)


def parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def cors_client(settings, assistant) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """The app with one municipal site allowed to call it from the browser."""
    app = create_app(settings.model_copy(update={"cors_origins": [HOST_ORIGIN]}), assistant=assistant)
    with TestClient(app) as test_client:
        yield test_client


# ---------------------------------------------------------------------------------------------- widget.js


def test_widget_js_is_served_as_javascript_and_cached_briefly(client: TestClient) -> None:
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=600"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cross-origin-resource-policy"] == "cross-origin"
    assert response.content == WIDGET.read_bytes()
    etag = response.headers["etag"]
    again = client.get("/widget.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert client.get("/widget.js", headers={"If-None-Match": '"stale"'}).status_code == 200
    assert client.head("/widget.js").status_code == 200


def test_widget_js_stays_under_30_kb(client: TestClient) -> None:
    size = len(client.get("/widget.js").content)
    assert size < 30 * 1024, f"widget.js is {size} bytes; the budget is 30 KB"


@pytest.mark.parametrize(
    "sink",
    [r"\.innerHTML\b", r"\.outerHTML\b", r"insertAdjacentHTML", r"document\.write", r"\beval\s*\(", r"new\s+Function",
     r"createContextualFragment", r"DOMParser", r"srcdoc"],
)  # fmt: skip
def test_widget_source_uses_no_html_parsing_sink(sink: str) -> None:
    """The browser test proves it under Trusted Types; this names the culprit when someone adds one."""
    source = WIDGET.read_text(encoding="utf-8")
    assert not re.search(sink, source), f"widget.js uses {sink}: build elements and set textContent instead"


def widget_suggestions() -> dict[str, list[str]]:
    """The fixed follow-up buttons of each UI language, as written in widget.js."""
    source = WIDGET.read_text(encoding="utf-8")
    found = re.findall(r"suggestions: (\[[^\]]*\])", source)
    assert len(found) == 2, "widget.js should define fixed suggestions for ja and en"
    return {"ja": json.loads(found[0]), "en": json.loads(found[1])}


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_fixed_suggestion_resolves_to_the_project_just_answered(client: TestClient, lang: str) -> None:
    """A follow-up button that jumps to another project would mislead: each must stay on the topic."""
    for suggestion in widget_suggestions()[lang]:
        session = uuid.uuid4().hex
        first = client.post("/v1/ask", json={"question": "子どもが熱を出して保育園に行けない", "session_id": session})
        assert first.json()["citations"][0]["project_id"] == "sick-child-care"
        body = client.post("/v1/ask", json={"question": suggestion, "session_id": session}).json()
        assert body["follow_up"] is True, f"{suggestion!r} was not taken as a follow-up: {body['citations']}"
        assert [c["project_id"] for c in body["citations"]] == ["sick-child-care"], suggestion


# ---------------------------------------------------------------------------------------------- demo page


def test_demo_page_sends_a_strict_content_security_policy(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    header = response.headers["content-security-policy"]
    assert "unsafe" not in header and "*" not in header and "data:" not in header
    directives = csp_directives(header)
    assert directives["default-src"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["connect-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["require-trusted-types-for"] == ["'script'"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"


def test_demo_page_embeds_the_widget_with_one_tag_and_no_inline_code(client: TestClient) -> None:
    page = parse(client.get("/").text)
    scripts = [attrs for tag, attrs in page.tags if tag == "script"]
    assert scripts == [{"src": "/widget.js", "data-lang": "ja", "defer": None}]
    assert page.script_text == [], "inline script would be blocked by the page's own CSP"
    assert not [tag for tag, _ in page.tags if tag == "style"], "inline <style> would need 'unsafe-inline'"
    assert not [tag for tag, attrs in page.tags if "style" in attrs or any(a.startswith("on") for a in attrs)]
    assert ("link", {"rel": "stylesheet", "href": "/static/demo.css"}) in page.tags
    for href in ("/static/demo.css", "/static/favicon.svg"):
        asset = client.get(href)
        assert asset.status_code == 200 and asset.headers["x-content-type-options"] == "nosniff", href


def test_demo_page_is_labelled_a_demo_and_lists_the_corpus_projects(client: TestClient, assistant) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/").text
    assert "デモページ" in html and "実在の自治体のウェブサイトではありません" in html
    for project in assistant.corpus.projects.values():
        assert project.name in html, f"{project.id} is missing from the demo page"
    assert f"連携事業の一覧（{len(assistant.corpus.projects)}事業）" in html


def test_demo_snippet_shows_the_host_it_was_served_from_escaped(client: TestClient) -> None:
    html = client.get("/").text
    assert (
        "&lt;script src=&#34;http://testserver/widget.js&#34; data-api=&#34;http://testserver&#34; "
        "data-lang=&#34;ja&#34; defer&gt;&lt;/script&gt;"
    ) in html
    # Starlette drops a Host with < or "; what it lets through is still the client's text, so it is escaped.
    hostile = client.get("/", headers={"Host": "evil.example&x'y"}).text
    assert "evil.example&x'y" not in hostile and "http://evil.example&amp;x&#39;y/widget.js" in hostile


# ---------------------------------------------------------------------------------------------- CORS


def test_an_allowed_site_may_call_the_api_with_the_widget_headers(cors_client: TestClient) -> None:
    preflight = cors_client.options(
        "/v1/ask",
        headers={
            "Origin": HOST_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-assistant-channel",
        },
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == HOST_ORIGIN
    allowed = {h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")}
    assert {"content-type", "x-assistant-channel"} <= allowed
    asked = cors_client.post(
        "/v1/ask",
        json={"question": "病児保育", "session_id": uuid.uuid4().hex},
        headers={"Origin": HOST_ORIGIN, "X-Assistant-Channel": "widget"},
    )
    assert asked.status_code == 200 and asked.headers["access-control-allow-origin"] == HOST_ORIGIN
    assert "access-control-allow-credentials" not in asked.headers


def test_other_sites_and_other_headers_are_refused(cors_client: TestClient) -> None:
    stranger = cors_client.options(
        "/v1/ask",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert stranger.status_code == 400 and "access-control-allow-origin" not in stranger.headers
    odd_header = cors_client.options(
        "/v1/ask",
        headers={
            "Origin": HOST_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert odd_header.status_code == 400
