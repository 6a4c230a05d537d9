"""The store's tables (SQLAlchemy 2, typed declarative). Migrations in ``migrations/`` create them.

Nothing here holds a resident's words unmasked: questions and comments are masked
(:mod:`assistant.store.pii`) before they are written, and session ids are stored only as a hash.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, Index, Integer, MetaData, String, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

CHANNELS = ("api", "widget", "line", "cli")
"""Where a question came from."""


class UTCDateTime(TypeDecorator[datetime]):
    """A UTC time, stored without a zone (the same on SQLite and PostgreSQL), read back zone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """The store's declarative base; constraints get predictable names, so later migrations can name them."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Question(Base):
    """One answered question, masked."""

    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    answer_id: Mapped[str] = mapped_column(String(64), unique=True)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    channel: Mapped[str] = mapped_column(String(16))
    lang: Mapped[str] = mapped_column(String(16))
    """The question's language."""
    answer_lang: Mapped[str] = mapped_column(String(16))
    question: Mapped[str] = mapped_column(Text)
    """The question with personal data masked."""
    abstained: Mapped[bool] = mapped_column(Boolean)
    follow_up: Mapped[bool] = mapped_column(Boolean, default=False)
    """Resolved through the conversation: its low retrieval confidence is expected, not a gap."""
    project_id: Mapped[str | None] = mapped_column(String(64))
    """The main (first) cited project; None when the answer abstained."""
    cited_ids: Mapped[str] = mapped_column(Text, default="")
    """Every cited project id, best first, separated by spaces.

    Plain text rather than JSON so "cited project X" is the same portable LIKE on SQLite and PostgreSQL.
    """
    confidence: Mapped[float] = mapped_column(Float)
    latency_ms: Mapped[float] = mapped_column(Float)
    session_hash: Mapped[str | None] = mapped_column(String(64))
    """SHA-256 of the session id, so staff can see a conversation's turns without the id itself."""

    __table_args__ = (
        # What the staff filters and the report use: time ranges, alone and with a channel or abstention.
        Index("ix_questions_asked_at", "asked_at"),
        Index("ix_questions_channel_asked_at", "channel", "asked_at"),
        Index("ix_questions_lang_asked_at", "lang", "asked_at"),
        Index("ix_questions_abstained_asked_at", "abstained", "asked_at"),
        Index("ix_questions_project_id", "project_id"),
    )

    @property
    def cited(self) -> list[str]:
        """The cited project ids, best first."""
        return self.cited_ids.split()


class Feedback(Base):
    """A resident's vote on one answer; a second vote on the same answer replaces the first.

    No foreign key to ``questions``: a vote may be written in the same batch as its question, and
    questions are purged on their own schedule; the answer id links them.
    """

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    answer_id: Mapped[str] = mapped_column(String(64), unique=True)
    helpful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text)
    """The comment with personal data masked."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_feedback_created_at", "created_at"),)


class ConversationRow(Base):
    """What a session's earlier turns established, so any worker or replica continues it."""

    __tablename__ = "conversations"

    session_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    projects: Mapped[list[str]] = mapped_column(JSON)
    """Project ids cited in the last turns, most recent first."""
    lang: Mapped[str] = mapped_column(String(16))
    town: Mapped[str | None] = mapped_column(String(32))
    turns: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_conversations_expires_at", "expires_at"),)


class LineEvent(Base):
    """A LINE webhook event already handled (LINE redelivers; an event must be answered once)."""

    __tablename__ = "line_events"

    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_line_events_received_at", "received_at"),)
