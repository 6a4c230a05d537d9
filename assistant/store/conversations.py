"""Conversations in the database, so any worker or replica continues any conversation.

:class:`Conversation` is what a session's earlier turns established; the answering service
reads one before it answers and writes the updated one after, through the
``ConversationStore`` protocol (``assistant.answering.sessions``). :class:`SqlConversations`
implements it on the ``conversations`` table:

- the session id is stored only as its SHA-256, the same on every replica;
- reads and writes are synchronous (the next turn may reach another worker) and cheap: one
  primary-key read, one upsert;
- when the database fails, that call falls back to a store in this process's memory and the
  store reports itself degraded, so the answer never fails for it.

Only project ids, the answer language and the town are kept, never the residents' words.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from assistant.store.db import utcnow
from assistant.store.health import StoreHealth, reason
from assistant.store.models import ConversationRow


@dataclass(frozen=True)
class Conversation:
    """What one session's earlier turns established."""

    projects: list[str] = field(default_factory=list)
    """Project ids cited in the last turns, most recent first."""
    lang: str = ""
    """The language of the last answer."""
    town: str | None = None
    """The member municipality the resident said they live in, once known."""
    turns: int = 0
    """How many questions the session has asked."""

    def after(self, cited: list[str], lang: str, town: str | None, *, keep: int) -> Conversation:
        """The conversation after one more answer citing ``cited`` (the first is the main one)."""
        merged = [*cited, *(p for p in self.projects if p not in cited)] if cited else list(self.projects)
        return replace(
            self,
            projects=merged[:keep],
            lang=lang or self.lang,
            town=town or self.town,
            turns=self.turns + 1,
        )


class ConversationFallback(Protocol):
    """Where a conversation goes while the database fails (the in-process store of ``answering``)."""

    def get(self, session_id: str) -> Conversation | None: ...

    def put(self, session_id: str, conversation: Conversation) -> None: ...


def hash_session_id(session_id: str) -> str:
    """SHA-256 of the session id, hex: what the database keeps instead of the id."""
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


class SqlConversations:
    """Conversations in the ``conversations`` table; expire ``ttl`` seconds after the last turn.

    Example::

        conversations = SqlConversations(engine, ttl=1800, fallback=MemoryConversations(ttl=1800))
        Assistant(..., conversations=conversations)
    """

    READ = "conversations (read)"
    WRITE = "conversations (write)"

    def __init__(
        self,
        engine: Engine,
        *,
        ttl: float,
        fallback: ConversationFallback | None = None,
        health: StoreHealth | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.ttl = timedelta(seconds=ttl)
        self.fallback = fallback
        self.health = health or StoreHealth()
        self._clock = clock
        upsert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._insert = upsert(ConversationRow)

    def get(self, session_id: str) -> Conversation | None:
        """The live conversation of ``session_id``, or None when new or expired."""
        key = hash_session_id(session_id)
        try:
            with self.engine.connect() as connection:
                row = connection.execute(
                    select(ConversationRow).where(
                        ConversationRow.session_hash == key, ConversationRow.expires_at > self._clock()
                    )
                ).first()
        except SQLAlchemyError as exc:
            self.health.failed(self.READ, reason(exc))
            return self.fallback.get(session_id) if self.fallback is not None else None
        self.health.ok(self.READ)
        stored = (
            Conversation(projects=list(row.projects), lang=row.lang, town=row.town, turns=row.turns) if row else None
        )
        # A turn saved in memory while the database was failing is newer if it counts more turns.
        remembered = self.fallback.get(session_id) if self.fallback is not None else None
        if remembered is not None and (stored is None or remembered.turns > stored.turns):
            return remembered
        return stored

    def put(self, session_id: str, conversation: Conversation) -> None:
        """Save ``session_id``'s conversation; its expiry starts again."""
        values = {
            "session_hash": hash_session_id(session_id),
            "projects": list(conversation.projects),
            "lang": conversation.lang,
            "town": conversation.town,
            "turns": conversation.turns,
            "expires_at": self._clock() + self.ttl,
        }
        statement = self._insert.values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[ConversationRow.session_hash],
            set_={name: statement.excluded[name] for name in values if name != "session_hash"},
        )
        try:
            with self.engine.begin() as connection:
                connection.execute(statement)
        except SQLAlchemyError as exc:
            self.health.failed(self.WRITE, reason(exc))
            if self.fallback is not None:
                self.fallback.put(session_id, conversation)
            return
        self.health.ok(self.WRITE)

    def purge_expired(self) -> int:
        """Delete expired conversations; how many."""
        with self.engine.begin() as connection:
            result = connection.execute(delete(ConversationRow).where(ConversationRow.expires_at <= self._clock()))
        return int(result.rowcount or 0)
