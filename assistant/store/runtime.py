"""The store as the server and the CLI use it: engine, schema, recorder, conversations, purge, health.

Example::

    store = Store(settings)
    store.migrate()                 # StoreVersionError for a database newer than this code
    store.start(purge_every=86400)  # the recorder thread (and the daily purge)
    store.recorder.record_answer(result, question=text, channel="api", session_id=sid, latency_ms=8.1)
    with store.session() as session:
        queries.list_questions(session, QuestionFilter())
    store.close()                   # writes what waits
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from assistant.config import Settings
from assistant.errors import StoreUnavailableError
from assistant.store import queries
from assistant.store.conversations import ConversationFallback, SqlConversations
from assistant.store.db import describe, make_engine, utcnow
from assistant.store.health import StoreHealth, reason
from assistant.store.migrate import UpgradeResult, upgrade
from assistant.store.models import LineEvent
from assistant.store.recorder import Recorder
from assistant.store.retention import DailyPurge, PurgeCounts, purge

log = logging.getLogger("assistant.store")


class Store:
    """One database, and everything of the assistant that lives in it."""

    SCHEMA = "schema"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.database
        self.engine = make_engine(self.url)
        self.health = StoreHealth()
        self.recorder = Recorder(
            self.engine,
            health=self.health,
            record_questions=settings.record_questions,
            before_write=self.ensure_schema,
        )
        self._schema_ready = False
        self._schema_lock = threading.Lock()
        self._purge: DailyPurge | None = None

    @property
    def description(self) -> str:
        """The database URL without its password."""
        return describe(self.engine.url)

    # ------------------------------------------------------------------ lifecycle

    def migrate(self) -> UpgradeResult:
        """Bring the schema to the newest revision.

        Raises:
            StoreVersionError: the database is newer than this code.
            StoreUnavailableError: the database cannot be reached.
        """
        with self._schema_lock:
            result = upgrade(self.engine)
            self._schema_ready = True
        self.health.ok(self.SCHEMA)
        return result

    def migrate_or_degrade(self) -> None:
        """Migrate; if the database cannot be reached, carry on degraded (the recorder migrates once it can).

        Raises:
            StoreVersionError: the database is newer than this code (the server must not start).
        """
        try:
            self.migrate()
        except StoreUnavailableError as exc:
            self.health.failed(self.SCHEMA, str(exc))

    def ensure_schema(self) -> None:
        """Migrate once, if that has not happened yet (called before each write)."""
        if not self._schema_ready:
            self.migrate()

    def start(self, *, purge_every: float | None = None) -> None:
        """Start the recorder thread, and the periodic purge when ``purge_every`` (seconds) is given."""
        self.recorder.start()
        if purge_every is not None and self._purge is None:
            self._purge = DailyPurge(self.purge, every=purge_every)
            self._purge.start()

    def close(self, timeout: float = 10.0) -> int:
        """Stop the purge, write what waits (retrying up to ``timeout`` s), release connections; records lost."""
        if self._purge is not None:
            self._purge.stop()
            self._purge = None
        lost = self.recorder.close(timeout)
        self.engine.dispose()
        return lost

    # ------------------------------------------------------------------ parts

    def conversations(self, fallback: ConversationFallback | None = None) -> SqlConversations:
        """Conversations in this database, falling back to ``fallback`` while it fails."""
        return SqlConversations(
            self.engine, ttl=self.settings.session_ttl_seconds, fallback=fallback, health=self.health
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read session; database failures become :class:`StoreUnavailableError` (503 in the API).

        Raises:
            StoreUnavailableError: the database cannot be reached or read.
        """
        try:
            with Session(self.engine) as session:
                yield session
        except SQLAlchemyError as exc:
            raise StoreUnavailableError(f"the database {self.description} cannot be read: {reason(exc)}") from exc

    def answer_known(self, answer_id: str) -> bool:
        """True when the answer is recorded, or waits in this process's queue to be.

        Raises:
            StoreUnavailableError: the database cannot be read.
        """
        if self.recorder.is_waiting(answer_id):
            return True
        with self.session() as session:
            return queries.answer_recorded(session, answer_id)

    def first_delivery(self, event_id: str) -> bool:
        """Remember a LINE webhook event id; True the first time it is seen, False for a redelivery.

        Raises:
            StoreUnavailableError: the database cannot be written (the caller decides whether to
                answer anyway and risk a duplicate reply).
        """
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(LineEvent)
            .values(event_id=event_id, received_at=utcnow())
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(LineEvent.event_id)  # a row only when inserted (rowcount is not portable for INSERT)
        )
        try:
            self.ensure_schema()
            with self.engine.begin() as connection:
                inserted = connection.execute(statement).first()
        except SQLAlchemyError as exc:
            raise StoreUnavailableError(f"cannot record LINE event ids in {self.description}: {reason(exc)}") from exc
        return inserted is not None

    def purge(self, now: datetime | None = None) -> PurgeCounts:
        """Delete what is older than the retention (``ASSISTANT_RETENTION_DAYS``) and expired conversations.

        Raises:
            StoreUnavailableError: the database cannot be reached or written.
        """
        self.ensure_schema()
        try:
            return purge(self.engine, self.settings.retention_days, now=now)
        except SQLAlchemyError as exc:
            raise StoreUnavailableError(f"cannot purge {self.description}: {reason(exc)}") from exc

    def status(self) -> dict[str, Any]:
        """For ``/readyz``: ok or degraded, why, and how many records wait or were dropped."""
        problems = self.health.problems()
        return {
            "status": "degraded" if problems else "ok",
            "database": self.engine.dialect.name,
            "problems": problems,
            "waiting": self.recorder.waiting,
            "dropped": self.recorder.stats.dropped,
            "recording": self.settings.record_questions,
        }
