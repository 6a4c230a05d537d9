"""The store as the server opens it (real SQLite and PostgreSQL): known answers, LINE event ids, status."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.errors import StoreUnavailableError
from assistant.store.runtime import Store
from tests.store.helpers import answer


@pytest.fixture
def store(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    opened = Store(Settings(data_dir=tmp_path, database_url=database_url))
    opened.migrate()
    opened.start()
    yield opened
    opened.close()


def test_answers_are_known_while_waiting_and_once_written(store: Store) -> None:
    given = answer("sick-child-care")
    store.recorder.record_answer(given, question="病児保育", channel="api", session_id=None, latency_ms=1)
    assert store.answer_known(given.answer_id)
    assert store.recorder.flush(10)
    assert store.answer_known(given.answer_id) and not store.answer_known("unknown-answer")


def test_line_events_are_handled_once(store: Store) -> None:
    assert store.first_delivery("01HEVENT0000000000000000AA") is True
    assert store.first_delivery("01HEVENT0000000000000000AA") is False
    assert store.first_delivery("01HEVENT0000000000000000BB") is True


def test_status_is_ok_then_degraded_when_unreachable(store: Store, tmp_path: Path) -> None:
    assert store.status()["status"] == "ok" and store.status()["waiting"] == 0
    unreachable = Store(Settings(data_dir=tmp_path, database_url="postgresql+psycopg://u@127.0.0.1:1/nowhere"))
    unreachable.migrate_or_degrade()
    status = unreachable.status()
    assert status["status"] == "degraded" and "schema" in status["problems"]
    with pytest.raises(StoreUnavailableError):
        unreachable.answer_known("x")
    with pytest.raises(StoreUnavailableError):
        unreachable.first_delivery("x")
    assert unreachable.close() == 0
