"""The recorder on real SQLite and PostgreSQL: batches, masking, feedback, outages, the bound, shutdown."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from assistant.store.conversations import hash_session_id
from assistant.store.db import make_engine
from assistant.store.migrate import upgrade
from assistant.store.models import Feedback, Question
from assistant.store.recorder import Recorder
from tests.postgres import PostgresServer
from tests.store.helpers import answer


def count(engine: Engine, model: type[Question] | type[Feedback]) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'assistant.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def test_records_are_written_in_batches(engine: Engine) -> None:
    recorder = Recorder(engine, batch_size=100)
    for i in range(300):  # queued before the writer starts: exactly three batches
        recorder.record_answer(
            answer("sick-child-care"), question=f"質問{i}", channel="api", session_id=None, latency_ms=1
        )
    recorder.start()
    assert recorder.flush(30)
    assert count(engine, Question) == 300
    assert recorder.stats.batches == 3 and recorder.stats.batch_sizes == [100, 100, 100]

    for i in range(500):  # arriving while the writer runs: still far fewer transactions than records
        recorder.record_answer(answer(), question=f"q{i}", channel="widget", session_id=None, latency_ms=1)
    assert recorder.flush(30)
    assert count(engine, Question) == 800 and recorder.stats.batches < 3 + 500
    recorder.close()


def test_what_is_written_is_masked_and_hashed(engine: Engine) -> None:
    recorder = Recorder(engine)
    recorder.start()
    given = answer("health-dial-24", "sick-child-care", lang="ja", confidence=0.87654)
    recorder.record_answer(
        given,
        question="夜中に熱が出たら090-1234-5678に電話していい？ taro@example.jp",
        channel="widget",
        session_id="session-secret-1",
        latency_ms=12.345,
    )
    recorder.close()
    with Session(engine) as session:
        row = session.scalars(select(Question)).one()
    assert row.question == "夜中に熱が出たら[電話番号]に電話していい？ [メール]"
    assert row.session_hash == hash_session_id("session-secret-1") and "secret" not in row.session_hash
    assert row.project_id == "health-dial-24" and row.cited == ["health-dial-24", "sick-child-care"]
    assert row.channel == "widget" and row.answer_id == given.answer_id and row.latency_ms == 12.35
    assert row.asked_at.tzinfo is not None


def test_a_second_vote_replaces_the_first_and_comments_are_masked(engine: Engine) -> None:
    recorder = Recorder(engine)
    first, second = answer("shared-taxi"), answer("joshin-railway")
    recorder.record_answer(first, question="タクシー", channel="api", session_id=None, latency_ms=1)
    recorder.record_answer(second, question="電車", channel="api", session_id=None, latency_ms=1)
    recorder.record_feedback(first.answer_id, helpful=True, comment=None)
    recorder.record_feedback(first.answer_id, helpful=False, comment="連絡は 0274-62-1234 へ")  # same batch
    recorder.start()
    assert recorder.flush(10)
    recorder.record_feedback(second.answer_id, helpful=False, comment="  ")
    recorder.record_feedback(second.answer_id, helpful=True, comment="助かりました")  # a later batch
    recorder.close()
    with Session(engine) as session:
        votes = {f.answer_id: f for f in session.scalars(select(Feedback))}
    assert len(votes) == 2
    assert votes[first.answer_id].helpful is False and votes[first.answer_id].comment == "連絡は [電話番号] へ"
    assert votes[second.answer_id].helpful is True and votes[second.answer_id].comment == "助かりました"


def test_waiting_answers_count_as_known(engine: Engine) -> None:
    recorder = Recorder(engine)  # not started: everything waits
    given = answer("sick-child-care")
    recorder.record_answer(given, question="病児保育", channel="api", session_id=None, latency_ms=1)
    assert recorder.is_waiting(given.answer_id) and not recorder.is_waiting("nope")
    recorder.start()
    assert recorder.flush(10)
    assert not recorder.is_waiting(given.answer_id)
    recorder.close()


def test_no_questions_are_recorded_when_recording_is_off(engine: Engine) -> None:
    recorder = Recorder(engine, record_questions=False)
    recorder.start()
    recorder.record_answer(answer("sick-child-care"), question="病児保育", channel="api", session_id=None, latency_ms=1)
    recorder.close()
    assert count(engine, Question) == 0


def test_a_locked_sqlite_database_does_not_block_recording_and_records_arrive_after(
    sqlite_engine: Engine,
    tmp_path,
    caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    caplog.set_level(logging.WARNING, logger="assistant.store")
    recorder = Recorder(sqlite_engine, max_backoff=0.5)
    recorder.start()
    locker = sqlite3.connect(tmp_path / "assistant.db", isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # another writer holds the database
    try:
        started = time.perf_counter()
        for i in range(50):
            recorder.record_answer(answer(), question=f"q{i}", channel="api", session_id=None, latency_ms=1)
        assert time.perf_counter() - started < 0.05, "recording must never wait for the database"
        deadline = time.monotonic() + 10
        while not recorder.health.degraded and time.monotonic() < deadline:
            time.sleep(0.05)
        assert recorder.health.degraded and "locked" in recorder.health.problems()["recorder"]
        time.sleep(2)  # several failed attempts: still one log line
        assert count(sqlite_engine, Question) == 0 and recorder.waiting == 50
    finally:
        locker.execute("COMMIT")
        locker.close()
    assert recorder.flush(15)
    assert count(sqlite_engine, Question) == 50 and not recorder.health.degraded
    recorder.close()
    degraded = [r for r in caplog.records if "store degraded" in r.getMessage()]
    recovered = [r for r in caplog.records if "store recovered" in r.getMessage()]
    assert len(degraded) == 1 and len(recovered) == 1
    assert recorder.stats.failures >= 2


def test_a_postgresql_server_that_goes_down_loses_nothing(
    postgres: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="assistant.store")
    engine = make_engine(postgres.database())
    upgrade(engine)
    recorder = Recorder(engine, max_backoff=0.5)
    recorder.start()
    recorder.record_answer(answer("shared-taxi"), question="before", channel="api", session_id=None, latency_ms=1)
    assert recorder.flush(10)
    postgres.stop()
    try:
        for i in range(20):
            recorder.record_answer(answer(), question=f"during {i}", channel="line", session_id=None, latency_ms=1)
        deadline = time.monotonic() + 10
        while not recorder.health.degraded and time.monotonic() < deadline:
            time.sleep(0.05)
        assert recorder.health.degraded and recorder.waiting == 20
    finally:
        postgres.start()
    assert recorder.flush(20)
    assert count(engine, Question) == 21 and not recorder.health.degraded
    recorder.close()
    engine.dispose()
    assert [r.getMessage() for r in caplog.records if "store degraded" in r.getMessage()].__len__() == 1


def test_the_queue_is_bounded_and_drops_the_oldest_with_a_counted_warning(
    sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="assistant.store")
    recorder = Recorder(sqlite_engine, max_waiting=5, batch_size=5)  # not started: as if the database were down
    for i in range(8):
        recorder.record_answer(answer(), question=f"q{i}", channel="api", session_id=None, latency_ms=1)
    assert recorder.stats.dropped == 3 and recorder.waiting == 5
    recorder.start()
    recorder.close()
    with Session(sqlite_engine) as session:
        assert sorted(session.scalars(select(Question.question))) == ["q3", "q4", "q5", "q6", "q7"]
    warnings = [r.getMessage() for r in caplog.records if "dropping the oldest" in r.getMessage()]
    assert len(warnings) == 1 and "3 dropped" not in warnings[0]  # logged once, at the first drop


def test_shutdown_flushes_what_waits(engine: Engine) -> None:
    recorder = Recorder(engine)
    recorder.start()
    for i in range(400):
        recorder.record_answer(answer(), question=f"q{i}", channel="cli", session_id=None, latency_ms=1)
    lost = recorder.close()
    assert lost == 0 and count(engine, Question) == 400


def test_shutdown_with_the_database_down_says_what_was_lost(
    sqlite_engine: Engine,
    tmp_path,
    caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    caplog.set_level(logging.WARNING, logger="assistant.store")
    recorder = Recorder(sqlite_engine, max_backoff=0.1)
    recorder.start()
    locker = sqlite3.connect(tmp_path / "assistant.db", isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        for i in range(3):
            recorder.record_answer(answer(), question=f"q{i}", channel="api", session_id=None, latency_ms=1)
        started = time.monotonic()
        assert recorder.close(timeout=1.5) == 3
        assert time.monotonic() - started < 8
    finally:
        locker.execute("COMMIT")
        locker.close()
    assert any("3 records could not be written" in r.getMessage() for r in caplog.records)
