"""A redelivered LINE event reaching two real worker processes (``assistant serve --workers 2``) is answered once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.api.line_fixtures import SECRET, TOKEN, body_of, line_stand_in, sign, text_event
from tests.api.server import cpu_seconds, serve

pytestmark = pytest.mark.slow

QUESTIONS = [
    "子どもが熱を出して保育園に行けない",
    "夜中に子どもの具合が悪いとき相談できる電話はある？",
    "デマンドタクシーを使いたい",
    "手話を勉強したい",
    "粗大ごみはどこに持って行けばいい",
]
PAIRS = 40


def test_each_event_delivered_twice_to_two_workers_is_replied_to_once(settings, built_index, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with line_stand_in() as stand_in:
        env = {
            "ASSISTANT_INDEX_DIR": str(settings.index_dir),
            "ASSISTANT_EMBEDDING_MODEL": settings.embedding_model,
            "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
            "ASSISTANT_TORCH_THREADS": "1",
            "ASSISTANT_LINE_CHANNEL_SECRET": SECRET,
            "ASSISTANT_LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
            "ASSISTANT_LINE_API_BASE_URL": stand_in.base,
        }
        with serve(env, tmp_path / "server.log", workers=2) as server:
            assert len(server.worker_pids()) == 2
            # CPU time per worker process, from when it is first seen to when it is last seen: under
            # heavy load uvicorn's supervisor may replace a worker that misses its 5 s health check.
            first: dict[int, float] = {}
            last: dict[int, float] = {}

            def sample() -> None:
                for pid in server.worker_pids():
                    try:
                        seconds = cpu_seconds(pid)
                    except FileNotFoundError:
                        continue
                    first.setdefault(pid, seconds)
                    last[pid] = seconds

            sample()
            # Each event's text differs (a number at the end), so none is answered from a kept answer
            # or a cached vector: every first delivery costs its worker a model call.
            events = [text_event(f"{QUESTIONS[i % len(QUESTIONS)]} {i}", user=f"U{i:032d}") for i in range(PAIRS)]
            statuses: list[int] = []

            def deliver(body: bytes) -> None:
                # A new connection each time, as LINE's redelivery would open: any worker may take it.
                response = httpx.post(
                    f"{server.base}/line/webhook",
                    content=body,
                    headers={"X-Line-Signature": sign(body), "Content-Type": "application/json"},
                    timeout=60,
                )
                statuses.append(response.status_code)

            for sent in events:
                first_copy = body_of(sent)
                again = body_of({**sent, "deliveryContext": {"isRedelivery": True}})
                copies = [threading.Thread(target=deliver, args=(body,)) for body in (first_copy, again)]
                for thread in copies:
                    thread.start()
                for thread in copies:
                    thread.join()
                sample()
            assert statuses == [200] * (2 * PAIRS)
            for sent in events:
                stand_in.wait_for(sent["replyToken"], timeout=120)
            time.sleep(2.0)  # a second reply to any event would have arrived by now
            sample()
        for sent in events:
            assert len(stand_in.replies(sent["replyToken"])) == 1, sent["message"]["text"]
        assert len(stand_in.replies()) == PAIRS
        assert (tmp_path / "server.log").read_text().count("redelivered: answered already, skipped") == PAIRS
    used = {pid: last[pid] - first[pid] for pid in first}
    # Both workers answered questions (each answer costs a model call: tenths of a CPU second).
    assert len([seconds for seconds in used.values() if seconds > 0.2]) >= 2, used
