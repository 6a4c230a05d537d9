"""The real server process: personal data never reaches its log or its database file; two workers share
conversations through one SQLite database."""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.api.server import cpu_seconds, serve

pytestmark = pytest.mark.slow

KEY = "e2e-admin-key-0123456789"
PHONE, EMAIL, MY_NUMBER = "090-1234-5678", "taro.yamada@example.jp", "1234 5678 9018"  # 123456789018: valid
SECRETS = [PHONE, "09012345678", EMAIL, "taro.yamada", MY_NUMBER, "123456789018"]


@pytest.fixture
def server_env(settings, built_index, tmp_path: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "ASSISTANT_INDEX_DIR": str(settings.index_dir),
        "ASSISTANT_EMBEDDING_MODEL": settings.embedding_model,
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_ADMIN_TOKEN": KEY,
        "ASSISTANT_TORCH_THREADS": "1",
    }


def database_bytes(data: Path) -> bytes:
    files = [data / "assistant.db", data / "assistant.db-wal", data / "assistant.db-shm"]
    return b"".join(f.read_bytes() for f in files if f.exists())


def test_the_server_parses_http_with_httptools_on_uvloop(server_env: dict[str, str], tmp_path: Path) -> None:
    """`assistant serve` runs uvicorn's C parser on libuv's loop (``PROTOCOLS`` in api/server.py), not the
    pure-Python h11 and asyncio it would otherwise fall back to: about 0.5 ms less per request on
    loopback (scripts/http_overhead.py)."""
    with serve(server_env, tmp_path / "server.log") as server:
        assert httpx.get(f"{server.base}/healthz", timeout=30).status_code == 200
        maps = Path(f"/proc/{server.process.pid}/maps").read_text()
    assert "/httptools/parser/" in maps and "/uvloop/loop" in maps


def test_personal_data_is_masked_in_the_record_and_absent_from_log_and_database(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    question = (
        f"子どもが熱を出しました。電話は{PHONE}、メールは{EMAIL}、マイナンバーは{MY_NUMBER}です。病児保育を使えますか"
    )
    log = tmp_path / "server.log"
    with serve(server_env, log) as server, httpx.Client(base_url=server.base, timeout=60) as client:
        asked = client.post("/v1/ask", json={"question": question, "session_id": f"s-{PHONE}"})
        assert asked.status_code == 200
        answer_id = asked.json()["answer_id"]
        vote = client.post(
            "/v1/feedback", json={"answer_id": answer_id, "helpful": False, "comment": f"{EMAIL}へ連絡を"}
        )
        assert vote.status_code == 201
        # Personal data in a URL reaches uvicorn's access log unless the log is masked.
        assert client.get(f"/v1/projects/{PHONE}").status_code == 404
        headers = {"Authorization": f"Bearer {KEY}"}
        found = client.get("/admin/questions", params={"q": EMAIL}, headers=headers)
        assert found.status_code == 200 and found.json()["total"] == 0  # nothing stored holds it

        items: list[dict[str, object]] = []
        for _ in range(100):  # the record and the vote are written off the request path
            items = client.get("/admin/questions", headers=headers).json()["items"]
            if items and items[0].get("comment"):
                break
            time.sleep(0.1)
        record = items[0]
        assert record["answer_id"] == answer_id
        assert record["question"] == (
            "子どもが熱を出しました。電話は[電話番号]、メールは[メール]、マイナンバーは[マイナンバー]です。病児保育を使えますか"
        )
        assert record["comment"] == "[メール]へ連絡を" and record["helpful"] is False
    # uvicorn exits by re-raising the SIGTERM it handled, after a clean shutdown.
    assert server.process.returncode in (0, -15) and "Application shutdown complete" in log.read_text()

    text = log.read_text(encoding="utf-8", errors="replace")
    assert "GET /v1/projects/[電話番号]" in text  # the access log was there, masked
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} in the server log"
    data = tmp_path / "data"
    for stage in ("before checkpoint", "after checkpoint"):
        raw = database_bytes(data)
        assert raw, stage
        for secret in SECRETS:
            assert secret.encode() not in raw, f"{secret!r} in the database files ({stage})"
            assert secret.encode("utf-16-le") not in raw, f"{secret!r} (UTF-16) in the database files ({stage})"
        assert "[マイナンバー]".encode() in raw or stage == "before checkpoint"
        with sqlite3.connect(data / "assistant.db") as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()


def test_two_workers_continue_each_others_conversations(server_env: dict[str, str], tmp_path: Path) -> None:
    firsts = [
        ("子どもが熱を出して保育園に行けない", "sick-child-care"),
        ("手話を習ってみたいのですが、講座はありますか", "sign-language-training"),
        ("デマンドタクシーを町をまたいで使えるようになりますか", "shared-taxi"),
        ("夜中に具合が悪くなったら電話で相談できるところはありますか", "health-dial-24"),
        ("I want to learn sign language", "sign-language-training"),
    ]
    follow_ups = [
        "それはどこにありますか？",
        "それは誰が使えますか？",
        "who can use it?",
        "where is it?",
        "それはいつから？",
    ]
    sessions = [(uuid.uuid4().hex, *firsts[i % len(firsts)], follow_ups[i % len(follow_ups)]) for i in range(50)]
    with serve(server_env, tmp_path / "server.log", workers=2) as server:
        workers = server.worker_pids()
        assert len(workers) == 2, workers
        before = {pid: cpu_seconds(pid) for pid in workers}

        def post(body: dict[str, object]) -> dict[str, object]:
            # A new connection for every request, so the kernel hands them to either worker.
            response = httpx.post(f"{server.base}/v1/ask", json=body, timeout=60, headers={"Connection": "close"})
            assert response.status_code == 200, response.text
            return response.json()  # type: ignore[no-any-return]

        for session, question, expected, _ in sessions:
            first = post({"question": question, "session_id": session})
            assert first["citations"][0]["project_id"] == expected  # type: ignore[index]
        unresolved = []
        for session, _, expected, follow_up in sessions:
            second = post({"question": follow_up, "session_id": session})
            cited = second["citations"][0]["project_id"] if second["citations"] else None  # type: ignore[index]
            if not (second["follow_up"] and cited == expected):
                unresolved.append((follow_up, expected, cited))
        used = {pid: cpu_seconds(pid) - before[pid] for pid in workers}
    assert unresolved == [], unresolved
    # Both workers answered a fair share: the follow-ups cannot all have met the worker of their first turn.
    total = sum(used.values())
    assert min(used.values()) > 0.1 * total, used
    with sqlite3.connect(tmp_path / "data" / "assistant.db") as connection:
        turns = connection.execute("SELECT turns, count(*) FROM conversations GROUP BY turns").fetchall()
        recorded = connection.execute("SELECT count(*) FROM questions").fetchone()[0]
    connection.close()
    assert turns == [(2, 50)] and recorded == 100
