"""Retention on real SQLite and PostgreSQL: what is older than ASSISTANT_RETENTION_DAYS goes, the rest stays."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from assistant.store.models import ConversationRow, Feedback, LineEvent, Question
from assistant.store.retention import DailyPurge, purge
from tests.conftest import CliRunner

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def question(answer_id: str, asked_at: datetime) -> Question:
    return Question(
        answer_id=answer_id,
        asked_at=asked_at,
        channel="api",
        lang="ja",
        answer_lang="ja",
        question="病児保育",
        abstained=False,
        follow_up=False,
        project_id="sick-child-care",
        cited_ids="sick-child-care",
        confidence=0.9,
        latency_ms=10.0,
        session_hash=None,
    )


def fill(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        session.add_all(
            [
                question("old", NOW - timedelta(days=400)),
                question("edge-old", NOW - timedelta(days=365, seconds=1)),
                question("edge-new", NOW - timedelta(days=364, hours=23)),
                question("new", NOW - timedelta(days=1)),
                # A vote given recently on an answer that is itself past the retention goes with it.
                Feedback(answer_id="edge-old", helpful=False, comment=None, created_at=NOW - timedelta(days=300)),
                Feedback(answer_id="new", helpful=True, comment=None, created_at=NOW - timedelta(hours=1)),
                ConversationRow(
                    session_hash="a" * 64, projects=["x"], lang="ja", town=None, turns=1, expires_at=NOW - timedelta(1)
                ),
                ConversationRow(
                    session_hash="b" * 64, projects=["y"], lang="ja", town=None, turns=1, expires_at=NOW + timedelta(1)
                ),
                LineEvent(event_id="e-old", received_at=NOW - timedelta(days=8)),
                LineEvent(event_id="e-new", received_at=NOW - timedelta(days=6)),
            ]
        )


def test_purge_deletes_exactly_what_is_past_the_retention(engine: Engine) -> None:
    fill(engine)
    counts = purge(engine, 365, now=NOW)
    assert (counts.questions, counts.feedback, counts.conversations, counts.line_events) == (2, 1, 1, 1)
    assert counts.cutoff == NOW - timedelta(days=365)
    with Session(engine) as session:
        assert sorted(session.scalars(select(Question.answer_id))) == ["edge-new", "new"]
        assert list(session.scalars(select(Feedback.answer_id))) == ["new"]
        assert list(session.scalars(select(ConversationRow.session_hash))) == ["b" * 64]
        assert list(session.scalars(select(LineEvent.event_id))) == ["e-new"]
    again = purge(engine, 365, now=NOW)
    assert (again.questions, again.feedback, again.conversations, again.line_events) == (0, 0, 0, 0)
    assert "purged 0 questions" in again.summary()


def test_a_shorter_retention_deletes_more(engine: Engine) -> None:
    fill(engine)
    counts = purge(engine, 2, now=NOW)
    assert counts.questions == 3 and counts.line_events == 2


def test_the_daily_purge_runs_at_start_and_then_on_schedule(engine: Engine) -> None:
    daily = DailyPurge(lambda: purge(engine, 365), every=0.2)
    daily.start()
    time.sleep(1)
    daily.stop()
    assert daily.runs >= 3


def test_the_daily_purge_survives_a_failure() -> None:
    calls = []

    def failing() -> object:
        calls.append(1)
        raise RuntimeError("database gone")

    daily = DailyPurge(failing, every=0.1, retry_after=0.1)  # type: ignore[arg-type]
    daily.start()
    time.sleep(0.5)
    daily.stop()
    assert len(calls) >= 2 and daily.runs == 0


def test_the_cli_purges_and_prints_counts(run_cli: CliRunner, tmp_path: Path) -> None:
    from assistant.store.db import make_engine
    from assistant.store.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'assistant.db'}")
    upgrade(engine)
    with Session(engine) as session, session.begin():
        session.add(question("ancient", datetime.now(UTC) - timedelta(days=30)))
        session.add(question("recent", datetime.now(UTC)))
    engine.dispose()
    env = {"ASSISTANT_DATA_DIR": str(tmp_path), "ASSISTANT_DATABASE_URL": "", "ASSISTANT_RETENTION_DAYS": "10"}
    result = run_cli("purge", env=env)
    assert result.returncode == 0, result.stderr
    assert "purged 1 questions" in result.stdout and "retention 10 days" in result.stdout
