"""No input gets a 500: bodies, encodings, sizes, methods, content types, paths, queries, headers.

Most requests go through ``TestClient``; what only a real server shows (a body limit that
answers before the body has even been sent, chunked bodies, header limits) goes over HTTP on
loopback to uvicorn (``live_url``).
"""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.responses import BODY_ERRORS

pytestmark = pytest.mark.slow

JSON = {"content-type": "application/json"}
ASK = '{"question": "病児保育"}'.encode()
CHUNKED = b"POST /v1/ask HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return str(body["error"]["message"])


# --------------------------------------------------------------------------- text the question cannot be


@pytest.mark.parametrize("escaped", ["\\ud800", "\\udcff", "abc\\udfff", "\\ud83d"])
def test_a_lone_surrogate_gets_422_naming_it(client: TestClient, escaped: str) -> None:
    body = ('{"question": "' + escaped + '"}').encode()
    message = _error(client.post("/v1/ask", content=body, headers=JSON), 422, "invalid_question")
    assert "a lone surrogate" in message and "cannot be encoded as UTF-8" in message


def test_a_lone_surrogate_in_the_session_id_gets_422(client: TestClient) -> None:
    body = b'{"question": "\\u75c5\\u5150\\u4fdd\\u80b2", "session_id": "s\\udcff"}'
    message = _error(client.post("/v1/ask", content=body, headers=JSON), 422, "invalid_request")
    assert "'session_id' is not valid text" in message and "lone surrogate" in message


@pytest.mark.parametrize(
    "question",
    ["\u200b", "\u200e\u200f\u202e", "\ufeff\u2060", "\x00\x1b", "\u3000\u00a0\t", "\ufe0f\U000e0100", "\u3164\u2800"],
)
def test_a_question_without_a_visible_character_gets_422_empty(client: TestClient, question: str) -> None:
    message = _error(client.post("/v1/ask", json={"question": question}), 422, "invalid_question")
    assert message.startswith("'question' is empty")


def test_invisible_marks_inside_a_question_do_not_change_the_answer(client: TestClient) -> None:
    plain = client.post("/v1/ask", json={"question": "病児保育"}).json()
    marked = client.post("/v1/ask", json={"question": "\u202a病児\u200b保育\ufeff\u202c"}).json()
    assert marked["citations"][0]["project_id"] == plain["citations"][0]["project_id"] == "sick-child-care"
    assert marked["answer"] == plain["answer"]


# --------------------------------------------------------------------------- bodies


@pytest.mark.parametrize(
    "body", [b'{"question": "\xff"}', b"\xfe\xff\x00{", b'{"question": "\xe7\x97"}', "病児保育".encode("shift_jis")]
)
def test_a_body_that_is_not_utf8_gets_400_invalid_json(client: TestClient, body: bytes) -> None:
    message = _error(client.post("/v1/ask", content=body, headers=JSON), 400, "invalid_json")
    assert "not UTF-8" in message or "not valid JSON" in message


@pytest.mark.parametrize(
    ("body", "status", "code", "fragment"),
    [
        (b"", 422, "invalid_request", "the request body is empty"),
        (b"null", 422, "invalid_request", "must be a JSON object"),
        (b"{}", 422, "invalid_request", "'question' is required"),
        (b'"question"', 422, "invalid_request", "must be a JSON object"),
        (b'{"question": NaN}', 422, "invalid_request", "'question' must be text"),
        (b'{"question": ' + b"9" * 5000 + b"}", 400, "invalid_json", "not valid JSON"),
        (b"[" * 20_000 + b"]" * 20_000, 400, "invalid_json", "nested too deeply"),
        (b'{"question": "a", "question": ""}', 422, "invalid_question", "'question' is empty"),  # the last wins
        (b'{"question": "ok"', 400, "invalid_json", "not valid JSON"),
    ],
)
def test_odd_bodies_get_a_clear_4xx(client: TestClient, body: bytes, status: int, code: str, fragment: str) -> None:
    assert fragment in _error(client.post("/v1/ask", content=body, headers=JSON), status, code)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "nonsense",
    ],
)
def test_a_body_that_is_not_json_gets_415(client: TestClient, content_type: str) -> None:
    response = client.post(
        "/v1/ask", content='{"question": "病児保育"}'.encode(), headers={"content-type": content_type}
    )
    assert "Content-Type: application/json" in _error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/problem+json", "APPLICATION/JSON"]
)
def test_json_by_any_spelling_is_answered(client: TestClient, content_type: str) -> None:
    response = client.post(
        "/v1/ask", content='{"question": "病児保育"}'.encode(), headers={"content-type": content_type}
    )
    assert response.status_code == 200, response.text


def test_a_body_without_a_content_type_gets_415(client: TestClient) -> None:
    response = client.post("/v1/ask", content=b'{"question": "x"}', headers={"content-type": ""})
    _error(response, 415, "unsupported_media_type")


@given(st.binary(max_size=300))
@settings(max_examples=300, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_bytes_as_a_body_get_an_answer_or_a_declared_4xx(client: TestClient, body: bytes) -> None:
    response = client.post("/v1/ask", content=body, headers=JSON)
    assert response.status_code in (200, *BODY_ERRORS), (body, response.text)
    assert response.headers["content-type"] == "application/json"


# --------------------------------------------------------------------------- the body limit (413 before parsing)


def test_a_five_million_character_body_gets_413(client: TestClient, settings) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/v1/ask", json={"question": "あ" * 5_000_000})
    message = _error(response, 413, "body_too_large")
    assert f"larger than {settings.max_body_bytes} bytes" in message


def _raw_exchange(live_url: str, head: bytes, chunks: list[bytes]) -> tuple[int, bytes]:
    """Send a request over a raw socket (headers, then body pieces) and read the response."""
    address = urlsplit(live_url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(head)
        for chunk in chunks:
            try:
                sock.sendall(chunk)
            except OSError:  # the server answered and closed without reading the rest: as intended
                break
        received = b""
        while b"\r\n\r\n" not in received or len(received) < received.index(b"\r\n\r\n") + 4 + _length(received):
            data = sock.recv(65536)
            if not data:
                break
            received += data
    status = int(received.split(b" ", 2)[1])
    return status, received.split(b"\r\n\r\n", 1)[1]


def _length(response: bytes) -> int:
    for line in response.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def test_a_declared_length_over_the_limit_is_refused_before_any_body_is_sent(live_url: str) -> None:
    """413 arrives although not one byte of the 5 MB body was sent: the server read none of it."""
    head = b"POST /v1/ask HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\n\r\n"
    status, body = _raw_exchange(live_url, head, [])
    assert status == 413 and json.loads(body)["error"]["code"] == "body_too_large"


def test_a_chunked_body_is_counted_and_refused_past_the_limit(live_url: str, settings) -> None:  # type: ignore[no-untyped-def]
    head = (
        b"POST /v1/ask HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    piece = b"a" * 8192
    chunks = [b'2000\r\n{"question": "' + piece[14:] + b"\r\n"]  # 14 + 8178 = 0x2000 bytes
    chunks += [b"2000\r\n" + piece + b"\r\n"] * (settings.max_body_bytes // len(piece) + 2) + [b"0\r\n\r\n"]
    status, body = _raw_exchange(live_url, head, chunks)
    assert status == 413 and json.loads(body)["error"]["code"] == "body_too_large"


def test_a_chunked_body_under_the_limit_is_answered(live_url: str) -> None:
    payload = json.dumps({"question": "病児保育"}).encode()
    head = (
        b"POST /v1/ask HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    halves = [payload[:10], payload[10:]]
    chunks = [f"{len(h):x}\r\n".encode() + h + b"\r\n" for h in halves] + [b"0\r\n\r\n"]
    status, body = _raw_exchange(live_url, head, chunks)
    assert status == 200 and json.loads(body)["citations"][0]["project_id"] == "sick-child-care"


def test_a_large_declared_length_on_a_get_is_refused_too(live_url: str) -> None:
    head = b"GET /v1/projects HTTP/1.1\r\nHost: test\r\nContent-Length: 100000000\r\n\r\n"
    status, _ = _raw_exchange(live_url, head, [])
    assert status == 413


# --------------------------------------------------------------------------- methods


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/v1/ask", "POST"),
        ("DELETE", "/v1/ask", "POST"),
        ("OPTIONS", "/v1/ask", "POST"),
        ("PUT", "/v1/projects", "GET"),
        ("POST", "/v1/projects/sick-child-care", "GET"),
        ("PATCH", "/healthz", "GET"),
        ("TRACE", "/readyz", "GET"),
        ("HEAD", "/v1/projects", "GET"),
    ],
)
def test_a_wrong_method_gets_405_with_allow(client: TestClient, method: str, path: str, allow: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 405 and response.headers["allow"] == allow
    if method != "HEAD":  # a HEAD response has no body
        assert method in _error(response, 405, "method_not_allowed")


# --------------------------------------------------------------------------- paths, queries, headers


@pytest.mark.parametrize(
    "path",
    [
        "/v1/projects/" + "x" * 8000,
        "/v1/projects/%00",
        "/v1/projects/%ff%fe",
        "/v1/projects/%ED%A0%80",  # a surrogate, percent-encoded
        "/v1/projects/%E7%97%85%E5%85%90",
        "/v1/projects/..%2F..%2Fetc%2Fpasswd",
        "/v1/projects/%20",
        "/v1/projects/SICK-CHILD-CARE",
        "/v1/projects/sick-child-care/extra",
        "/v1//projects",
        "/v1/projects/%",
    ],
)
def test_odd_project_ids_and_paths_get_a_json_404(client: TestClient, path: str) -> None:
    message = _error(client.get(path), 404, "not_found")
    assert len(message) < 300  # a huge id is not echoed back whole


@pytest.mark.parametrize(
    "query", ["?x=%ff", "?%%%", "?a=1&a=2&&=&b", "?q=" + "y" * 4000, "?question=%00", "?\u75c5=\u5150"]
)
def test_query_strings_are_ignored_where_none_are_declared(client: TestClient, query: str) -> None:
    assert client.get("/v1/projects" + query).status_code == 200
    assert client.get("/v1/projects/sick-child-care" + query).status_code == 200
    response = client.post("/v1/ask" + query, json={"question": "病児保育"})
    assert response.status_code == 200


def test_a_trailing_slash_is_redirected_not_failed(client: TestClient) -> None:
    response = client.get("/v1/projects/sick-child-care%2F", follow_redirects=False)
    assert response.status_code == 307 and response.headers["location"].endswith("/v1/projects/sick-child-care")


@pytest.mark.parametrize("size", [8_000, 70_000, 300_000])
def test_large_headers_are_served_or_refused_never_failed(live_url: str, size: int) -> None:
    headers = {"x-padding": "p" * size, "cookie": "c=" + "z" * 4000, **{f"x-h{i}": "v" * 50 for i in range(100)}}
    try:
        response = httpx.post(f"{live_url}/v1/ask", json={"question": "病児保育"}, headers=headers)
    except httpx.ReadError:  # uvicorn refused the head and closed while the client was still sending it
        assert size > 64_000
        return
    assert response.status_code == 200 or 400 <= response.status_code < 500, response.status_code
