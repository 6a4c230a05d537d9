"""The store through the API on a real SQLite file: recording, channels, feedback, admin, CSV, outages."""

from __future__ import annotations

import csv
import io
import sqlite3
import time
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.store_fixtures import admin, flush, store_client

pytestmark = pytest.mark.slow


@pytest.fixture
def client(settings, assistant, tmp_path: Path):  # type: ignore[no-untyped-def]
    with store_client(settings, assistant, tmp_path / "data") as test_client:
        yield test_client


def ask(client: TestClient, question: str, **kwargs: object) -> dict:  # type: ignore[type-arg]
    response = client.post("/v1/ask", json={"question": question, **kwargs.pop("body", {})}, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def questions(client: TestClient, **params: object) -> dict:  # type: ignore[type-arg]
    response = client.get("/admin/questions", params=params, headers=admin())
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_every_answer_is_recorded_with_its_channel(client: TestClient) -> None:
    api = ask(client, "子どもが熱を出して保育園に行けない")
    widget = ask(client, "where can I get sick-child care?", headers={"X-Assistant-Channel": "widget"})
    abstained = ask(client, "今日の天気はどうですか")
    flush(client)
    items = {q["answer_id"]: q for q in questions(client)["items"]}
    assert items[api["answer_id"]]["channel"] == "api" and items[widget["answer_id"]]["channel"] == "widget"
    record = items[api["answer_id"]]
    assert record["question"] == "子どもが熱を出して保育園に行けない" and record["project_id"] == "sick-child-care"
    assert record["lang"] == api["lang"] and record["confidence"] == api["confidence"] and record["abstained"] is False
    assert items[abstained["answer_id"]]["abstained"] is True and items[abstained["answer_id"]]["cited_ids"] == []
    assert questions(client, channel="widget")["total"] == 1
    assert questions(client, project="sick-child-care")["total"] == 2
    assert questions(client, abstained="true")["total"] == 1 and questions(client, lang="en")["total"] == 1


def test_the_same_question_twice_is_two_answers_recorded_and_rated_apart(client: TestClient) -> None:
    """The second is the kept answer, but it is a new answer to a new resident: its own id and row."""
    first = ask(client, "手話の講座はありますか")
    again = ask(client, "手話の講座はありますか")
    assert first["answer_id"] != again["answer_id"] and first["answer"] == again["answer"]
    flush(client)
    recorded = {q["answer_id"] for q in questions(client)["items"]}
    assert {first["answer_id"], again["answer_id"]} <= recorded
    for answer in (first, again):
        vote = client.post("/v1/feedback", json={"answer_id": answer["answer_id"], "helpful": True})
        assert vote.status_code == 201, vote.text


def test_an_unknown_channel_header_is_refused_clearly(client: TestClient) -> None:
    response = client.post("/v1/ask", json={"question": "病児保育"}, headers={"X-Assistant-Channel": "fax"})
    assert response.status_code == 422
    assert "x-assistant-channel" in response.json()["error"]["message"].lower()


def test_feedback_201_404_and_a_second_vote_replaces_the_first(client: TestClient) -> None:
    answer = ask(client, "手話を習ってみたいのですが、講座はありますか")
    # Still waiting in this process's queue, or already written: either way it is known.
    first = client.post("/v1/feedback", json={"answer_id": answer["answer_id"], "helpful": True})
    assert first.status_code == 201 and first.json() == {
        "answer_id": answer["answer_id"],
        "helpful": True,
        "status": "recorded",
    }
    flush(client)
    second = client.post(
        "/v1/feedback",
        json={"answer_id": answer["answer_id"], "helpful": False, "comment": "電話 090-1234-5678 に連絡がほしい"},
    )
    assert second.status_code == 201
    flush(client)
    record = questions(client)["items"][0]
    assert record["helpful"] is False and record["comment"] == "電話 [電話番号] に連絡がほしい"
    summary = client.get("/admin/feedback", headers=admin()).json()
    assert summary["votes"] == 1 and summary["unhelpful"] == 1
    assert summary["unhelpful_answers"][0]["question"] == "手話を習ってみたいのですが、講座はありますか"
    assert {"project_id": "sign-language-training", "questions": 1, "helpful": 0, "unhelpful": 1} in summary[
        "by_project"
    ]

    unknown = client.post("/v1/feedback", json={"answer_id": uuid.uuid4().hex, "helpful": True})
    assert unknown.status_code == 404
    assert "answer_id" in unknown.json()["error"]["message"] and "POST /v1/ask" in unknown.json()["error"]["message"]
    for bad in (
        {"helpful": True},
        {"answer_id": answer["answer_id"], "helpful": "yes"},
        {"answer_id": 1, "helpful": 1},
    ):
        assert client.post("/v1/feedback", json=bad).status_code == 422


def test_admin_routes_need_the_key(client: TestClient) -> None:
    for path in ("/admin/questions", "/admin/unanswered", "/admin/feedback", "/admin/questions.csv", "/admin/summary"):
        missing = client.get(path)
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer", path
        assert missing.json()["error"]["code"] == "unauthorized"
        assert client.get(path, headers=admin("wrong-key")).status_code == 401
        assert client.get(path, headers={"Authorization": "Basic eDp5"}).status_code == 401
        assert client.get(path, headers=admin()).status_code == 200, path


def test_without_a_configured_key_every_admin_route_is_403(settings, assistant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with store_client(settings, assistant, tmp_path / "data", admin_token=None) as client:
        for path in ("/admin/questions", "/admin/unanswered", "/admin/feedback", "/admin/questions.csv"):
            for headers in ({}, admin(), admin("")):
                response = client.get(path, headers=headers)
                assert response.status_code == 403, (path, headers)
                assert "ASSISTANT_ADMIN_TOKEN" in response.json()["error"]["message"]


def test_the_csv_download_has_the_bom_and_the_filtered_rows(client: TestClient) -> None:
    ask(client, "デマンドタクシーを町をまたいで使えるようになりますか", headers={"X-Assistant-Channel": "widget"})
    ask(client, "上信電鉄はなくならないの？")
    flush(client)
    response = client.get("/admin/questions.csv", params={"channel": "widget"}, headers=admin())
    assert response.status_code == 200
    assert (
        response.headers["content-type"].startswith("text/csv")
        and "attachment" in response.headers["content-disposition"]
    )
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["question"], r["channel"], r["project_id"]) for r in rows] == [
        ("デマンドタクシーを町をまたいで使えるようになりますか", "widget", "shared-taxi")
    ]
    everything = client.get("/admin/questions.csv", headers=admin()).content.decode("utf-8-sig")
    assert len(list(csv.DictReader(io.StringIO(everything)))) == 2


def test_unanswered_groups_and_summary(client: TestClient) -> None:
    for question in ("パスポートの申請はどこでできますか", "パスポートの申請はどこ？", "今日の天気はどうですか"):
        ask(client, question)
    ask(client, "子どもが熱を出して保育園に行けない")
    flush(client)
    unanswered = client.get("/admin/unanswered", headers=admin()).json()
    assert unanswered["groups"][0]["count"] == 2 and "パスポート" in unanswered["groups"][0]["question"]
    assert unanswered["below"] == 0.75
    summary = client.get("/admin/summary", headers=admin()).json()
    assert summary["today"]["total"] == 4 and summary["today"]["by_channel"] == {"api": 4}
    assert client.get("/admin/unanswered", params={"below": 2}, headers=admin()).status_code == 422
    assert client.get("/admin/questions", params={"since": "yesterday"}, headers=admin()).status_code == 422


def test_follow_ups_are_kept_in_the_database(client: TestClient) -> None:
    session = uuid.uuid4().hex
    first = ask(client, "子どもが熱を出して保育園に行けない", body={"session_id": session})
    second = ask(client, "それはどこにありますか？", body={"session_id": session})
    assert second["follow_up"] is True and second["citations"][0]["project_id"] == first["citations"][0]["project_id"]


def test_a_locked_database_does_not_stop_answers(client: TestClient, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ask(client, "病児保育")  # the database exists and works
    flush(client)
    assert client.get("/readyz").json()["store"]["status"] == "ok"
    locker = sqlite3.connect(tmp_path / "data" / "assistant.db", isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        started = time.perf_counter()
        answer = ask(client, "手話を習ってみたいのですが、講座はありますか")
        assert answer["citations"][0]["project_id"] == "sign-language-training"
        assert time.perf_counter() - started < 5
        deadline = time.monotonic() + 10
        while client.get("/readyz").json()["store"]["status"] != "degraded" and time.monotonic() < deadline:
            time.sleep(0.1)
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["store"]["status"] == "degraded"
        assert ready.json()["store"]["waiting"] >= 1
        # The record waits in this process: feedback on it is accepted.
        vote = client.post("/v1/feedback", json={"answer_id": answer["answer_id"], "helpful": True})
        assert vote.status_code == 201
    finally:
        locker.execute("COMMIT")
        locker.close()
    flush(client)
    assert answer["answer_id"] in {q["answer_id"] for q in questions(client)["items"]}
    assert client.get("/readyz").json()["store"]["status"] == "ok"


def test_recording_can_be_turned_off(settings, assistant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with store_client(settings, assistant, tmp_path / "data", record_questions=False) as client:
        ask(client, "病児保育")
        flush(client)
        assert questions(client)["total"] == 0
        assert client.get("/readyz").json()["store"]["recording"] is False
