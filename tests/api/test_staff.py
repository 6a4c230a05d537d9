"""The staff page (``/admin``) through HTTP: the key, the session cookie, CSRF, escaping, filters, CSV, triage."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.routes.staff import SESSION_COOKIE, SESSION_SECONDS, _session_nonce
from tests.api.store_fixtures import ADMIN_KEY, admin, flush, store_client

pytestmark = pytest.mark.slow


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    return tmp_path / "inbox"


@pytest.fixture
def client(settings, assistant, tmp_path: Path, inbox: Path):  # type: ignore[no-untyped-def]
    with store_client(settings, assistant, tmp_path / "data", inbox_dir=inbox) as test_client:
        yield test_client


def ask(client: TestClient, question: str) -> dict[str, object]:
    response = client.post("/v1/ask", json={"question": question})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def log_in(client: TestClient, key: str = ADMIN_KEY) -> None:
    response = client.post("/admin/login", data={"key": key, "next": "/admin"}, follow_redirects=False)
    assert response.status_code == 303, response.text


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def test_no_key_configured_answers_403_saying_how_to_set_it(settings, assistant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with store_client(settings, assistant, tmp_path / "data", admin_token=None) as client:
        for response in (
            client.get("/admin"),
            client.get("/admin/list"),
            client.post("/admin/login", data={"key": "x"}),
        ):
            assert response.status_code == 403
            assert "ASSISTANT_ADMIN_TOKEN" in response.text and response.headers["content-type"].startswith("text/html")


def test_login_sets_a_strict_httponly_cookie_that_is_not_the_key(client: TestClient) -> None:
    page = client.get("/admin")
    assert page.status_code == 401 and 'type="password"' in page.text and "職員ログイン" in page.text
    wrong = client.post("/admin/login", data={"key": "not-the-key"}, follow_redirects=False)
    assert (
        wrong.status_code == 401
        and "管理キーが違います" in wrong.text
        and SESSION_COOKIE not in wrong.headers.get("set-cookie", "")
    )
    right = client.post(
        "/admin/login", data={"key": ADMIN_KEY, "next": "/admin/list?channel=api"}, follow_redirects=False
    )
    assert right.status_code == 303 and right.headers["location"] == "/admin/list?channel=api"
    cookie = right.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and ADMIN_KEY not in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/admin" in cookie
    assert client.get("/admin").status_code == 200


def test_a_forged_expired_or_old_key_cookie_is_refused(client: TestClient, settings) -> None:  # type: ignore[no-untyped-def]
    log_in(client)
    value = client.cookies[SESSION_COOKIE]
    issued, nonce, signature = value.split(".")
    assert _session_nonce(value, ADMIN_KEY, float(issued)) == nonce
    assert _session_nonce(value, ADMIN_KEY, float(issued) + SESSION_SECONDS + 1) is None  # expired
    assert _session_nonce(value, "another-key", float(issued)) is None  # the key changed: every session ends
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, value)
    assert client.get("/admin").status_code == 200
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, f"{issued}.{nonce}x.{signature}")  # a nonce not signed
    assert client.get("/admin").status_code == 401


def test_logout_needs_the_csrf_token_and_ends_the_session(client: TestClient) -> None:
    log_in(client)
    token = csrf(client.get("/admin").text)
    refused = client.post("/admin/logout", data={"csrf": "0" * 32}, follow_redirects=False)
    assert refused.status_code == 403 and client.get("/admin").status_code == 200
    done = client.post("/admin/logout", data={"csrf": token}, follow_redirects=False)
    assert done.status_code == 303
    assert client.get("/admin").status_code == 401


def test_login_never_redirects_off_the_staff_page(client: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/admin", "/v1/ask", "/admin\\@evil.example"):
        response = client.post("/admin/login", data={"key": ADMIN_KEY, "next": target}, follow_redirects=False)
        assert response.headers["location"] == "/admin", target


def test_a_question_is_shown_masked_and_escaped_never_as_markup(client: TestClient) -> None:
    ask(client, "<script>alert(1)</script>電話番号は090-1234-5678です。病児保育はどこ？")
    flush(client)
    log_in(client)
    for path in ("/admin", "/admin/list", "/admin/list?q=script"):
        page = client.get(path)
        assert page.status_code == 200
        assert "<script>alert(1)" not in page.text and "090-1234-5678" not in page.text
        assert "script-src" not in page.headers["content-security-policy"]  # no scripts allowed at all
    table = client.get("/admin/list").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;電話番号は[電話番号]です。病児保育はどこ？" in table


def test_the_question_table_filters_pages_and_refuses_bad_filters_clearly(client: TestClient) -> None:
    for n in range(3):
        ask(client, f"子どもが熱を出して保育園に行けない{n}")
    ask(client, "今日の天気はどうですか")
    flush(client)
    log_in(client)
    everything = client.get("/admin/list", params={"since": "", "channel": "", "q": ""})  # empty form fields: any
    assert everything.status_code == 200 and everything.text.count('<tr id="q-') == 4
    unanswered = client.get("/admin/list", params={"abstained": "true"}).text
    assert unanswered.count('<tr id="q-') == 1 and "今日の天気はどうですか" in unanswered
    assert client.get("/admin/list", params={"project": "sick-child-care"}).text.count('<tr id="q-') == 3
    bad = client.get("/admin/list", params={"channel": "fax", "since": "yesterday"})
    assert bad.status_code == 422 and "channel" in bad.text and "since" in bad.text
    assert client.get("/admin/list.csv", params={"channel": "fax"}).status_code == 422


def test_csv_download_with_the_cookie(client: TestClient) -> None:
    answer = ask(client, "手話を習ってみたいのですが、講座はありますか")
    ask(client, "今日の天気はどうですか")
    flush(client)
    assert client.get("/admin/list.csv").status_code == 401
    log_in(client)
    response = client.get("/admin/list.csv", params={"abstained": "false"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row["answer_id"] for row in rows] == [answer["answer_id"]]


def test_english_toggle_is_remembered(client: TestClient) -> None:
    log_in(client)
    assert "質問一覧" in client.get("/admin").text
    english = client.get("/admin", params={"ui": "en"})
    assert "Questions" in english.text and 'lang="en"' in english.text
    assert "Questions" in client.get("/admin/list").text  # remembered in a cookie
    assert "質問一覧" in client.get("/admin", params={"ui": "ja"}).text


def test_triage_writes_the_masked_question_to_the_inbox_once(client: TestClient, inbox: Path) -> None:
    answer = ask(client, "電話番号は090-1234-5678です。パスポートの申請はどこ？")
    flush(client)
    log_in(client)
    page = client.get("/admin/list").text
    token = csrf(page)
    form = {"answer_id": answer["answer_id"], "project": "__none__", "back": "/admin/list"}
    refused = client.post("/admin/triage", data={**form, "csrf": "f" * 32}, follow_redirects=False)
    assert refused.status_code == 403 and not inbox.exists()
    done = client.post("/admin/triage", data={**form, "csrf": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/admin/list#q-{answer['answer_id']}"
    (path,) = inbox.glob("*.jsonl")
    (line,) = [json.loads(raw) for raw in path.read_text(encoding="utf-8").splitlines()]
    assert line["question"] == "電話番号は[電話番号]です。パスポートの申請はどこ？" and "090" not in path.read_text()
    assert line["expected"] == [] and line["kind"] == "out_of_scope"
    assert line["id"] == f"inbox-{path.stem}-{str(answer['answer_id'])[:12]}"
    # A changed mind replaces the line; the page shows the verdict.
    client.post("/admin/triage", data={**form, "project": "regional-tourism", "csrf": token})
    (line,) = [json.loads(raw) for raw in path.read_text(encoding="utf-8").splitlines()]
    assert line["expected"] == ["regional-tourism"] and line["kind"] == "resident"
    assert "振り分け済み" in client.get("/admin/list").text


def test_triage_refuses_unknown_answers_and_projects(client: TestClient, inbox: Path) -> None:
    answer = ask(client, "病児保育はどこ？")
    flush(client)
    log_in(client)
    token = csrf(client.get("/admin").text)
    unknown = client.post("/admin/triage", data={"csrf": token, "answer_id": "nope", "project": "__none__"})
    assert unknown.status_code == 404 and "記録にありません" in unknown.text
    bad = client.post("/admin/triage", data={"csrf": token, "answer_id": answer["answer_id"], "project": "no-such"})
    assert bad.status_code == 422 and "no-such" in bad.text
    assert not inbox.exists()


def test_the_json_api_still_takes_the_bearer_key(client: TestClient) -> None:
    assert client.get("/admin/questions", headers=admin()).status_code == 200
    assert client.get("/admin/questions").status_code == 401
