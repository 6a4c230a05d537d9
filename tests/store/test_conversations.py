"""Conversations in the database (real SQLite and PostgreSQL): shared by workers, hashed, expiring, and
falling back to memory when the database fails."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from assistant.answering.sessions import MemoryConversations
from assistant.store.conversations import Conversation, SqlConversations, hash_session_id
from assistant.store.db import make_engine
from assistant.store.health import StoreHealth
from assistant.store.migrate import upgrade
from assistant.store.models import ConversationRow
from tests.postgres import PostgresServer


def test_the_hash_is_plain_sha256_the_same_on_every_replica() -> None:
    assert hash_session_id("abc") == hashlib.sha256(b"abc").hexdigest()


def test_a_conversation_written_by_one_worker_is_read_by_another(engine: Engine) -> None:
    worker_a = SqlConversations(engine, ttl=1800)
    other_engine = make_engine(engine.url.render_as_string(hide_password=False))  # another process's pool
    worker_b = SqlConversations(other_engine, ttl=1800)
    turn = Conversation().after(["sick-child-care", "family-support-center"], "ja", "甘楽町", keep=9)
    worker_a.put("resident-session-1", turn)
    assert worker_b.get("resident-session-1") == turn
    later = turn.after(["health-dial-24"], "en", None, keep=9)
    worker_b.put("resident-session-1", later)
    assert worker_a.get("resident-session-1") == later
    assert later.projects[0] == "health-dial-24" and later.town == "甘楽町" and later.turns == 2
    assert worker_a.get("someone-else") is None
    with Session(engine) as session:
        rows = session.scalars(select(ConversationRow)).all()
    assert [r.session_hash for r in rows] == [hash_session_id("resident-session-1")]
    other_engine.dispose()


def test_conversations_expire(engine: Engine) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    clock = {"now": now}
    store = SqlConversations(engine, ttl=60, clock=lambda: clock["now"])
    store.put("s", Conversation(projects=["shared-taxi"], turns=1))
    clock["now"] = now + timedelta(seconds=59)
    assert store.get("s") == Conversation(projects=["shared-taxi"], turns=1)
    clock["now"] = now + timedelta(seconds=61)
    assert store.get("s") is None
    assert store.purge_expired() == 1


def test_a_locked_sqlite_database_falls_back_to_memory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'assistant.db'}")
    upgrade(engine)
    health = StoreHealth()
    store = SqlConversations(engine, ttl=1800, fallback=MemoryConversations(ttl=1800), health=health)
    store.put("s", Conversation(projects=["shared-taxi"], turns=1))
    locker = sqlite3.connect(tmp_path / "assistant.db", isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        started = time.perf_counter()
        store.put("s", Conversation(projects=["joshin-railway", "shared-taxi"], turns=2))
        assert time.perf_counter() - started < 3, "a locked database may delay a turn by the busy timeout, no more"
        assert health.degraded and list(health.problems()) == ["conversations (write)"]
        # The newer turn, kept in memory, wins over the older one the database still has.
        assert store.get("s") == Conversation(projects=["joshin-railway", "shared-taxi"], turns=2)
    finally:
        locker.execute("COMMIT")
        locker.close()
    store.put("s", Conversation(projects=["joshin-railway"], turns=3))
    assert not health.degraded
    assert store.get("s") == Conversation(projects=["joshin-railway"], turns=3)
    engine.dispose()


def test_a_postgresql_server_that_is_down_falls_back_to_memory(postgres: PostgresServer) -> None:
    engine = make_engine(postgres.database())
    upgrade(engine)
    health = StoreHealth()
    store = SqlConversations(engine, ttl=1800, fallback=MemoryConversations(ttl=1800), health=health)
    store.put("before", Conversation(projects=["sick-child-care"], turns=1))
    postgres.stop()
    try:
        started = time.perf_counter()
        store.put("during", Conversation(projects=["shared-taxi"], turns=1))
        assert store.get("during") == Conversation(projects=["shared-taxi"], turns=1)
        assert time.perf_counter() - started < 5
        assert health.degraded
    finally:
        postgres.start()
    assert store.get("before") == Conversation(projects=["sick-child-care"], turns=1)
    store.put("after", Conversation(projects=["shared-taxi"], turns=1))
    assert not health.degraded
    engine.dispose()
