"""Retention: records older than ``ASSISTANT_RETENTION_DAYS`` are deleted (`assistant purge`, and daily by the server).

- questions asked, and feedback given, before the cut-off (feedback on a purged question goes with it);
- conversations past their expiry;
- LINE webhook event ids older than a week (or the retention, if shorter): LINE redelivers an
  event within minutes to hours, so a week of ids is ample to answer each event once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, or_, select

from assistant.store.db import utcnow
from assistant.store.health import reason
from assistant.store.models import ConversationRow, Feedback, LineEvent, Question

log = logging.getLogger("assistant.store")

LINE_EVENT_DAYS = 7


@dataclass(frozen=True)
class PurgeCounts:
    """How many rows a purge deleted, and the cut-off it used."""

    cutoff: datetime
    questions: int
    feedback: int
    conversations: int
    line_events: int

    def summary(self) -> str:
        """One line for staff."""
        return (
            f"purged {self.questions} questions and {self.feedback} feedback older than "
            f"{self.cutoff:%Y-%m-%d %H:%M} UTC, {self.conversations} expired conversations, "
            f"{self.line_events} old LINE event ids"
        )


def purge(engine: Engine, retention_days: int, *, now: datetime | None = None) -> PurgeCounts:
    """Delete what is older than ``retention_days`` (and expired conversations), in one transaction.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the database failed (the caller decides what that means).
    """
    now = now or utcnow()
    cutoff = now - timedelta(days=retention_days)
    line_cutoff = now - timedelta(days=min(retention_days, LINE_EVENT_DAYS))
    old_answers = select(Question.answer_id).where(Question.asked_at < cutoff)
    with engine.begin() as connection:
        feedback = connection.execute(
            delete(Feedback).where(or_(Feedback.created_at < cutoff, Feedback.answer_id.in_(old_answers)))
        ).rowcount
        questions = connection.execute(delete(Question).where(Question.asked_at < cutoff)).rowcount
        conversations = connection.execute(delete(ConversationRow).where(ConversationRow.expires_at <= now)).rowcount
        line_events = connection.execute(delete(LineEvent).where(LineEvent.received_at < line_cutoff)).rowcount
    return PurgeCounts(
        cutoff=cutoff,
        questions=int(questions or 0),
        feedback=int(feedback or 0),
        conversations=int(conversations or 0),
        line_events=int(line_events or 0),
    )


class DailyPurge:
    """A background thread that purges at start and then every ``every`` seconds (a day by default).

    With several workers or replicas each one purges; the deletes are idempotent, so that is harmless.
    """

    def __init__(self, run: Callable[[], PurgeCounts], *, every: float = 24 * 3600, retry_after: float = 3600) -> None:
        self._run_purge = run
        self.every = every
        self.retry_after = retry_after
        self.runs = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="assistant-purge", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread (a purge under way finishes first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                counts = self._run_purge()
            except Exception as exc:  # the thread must outlive any failure; the next run tries again
                log.warning("store: the daily purge failed (%s); trying again in %.0f s", reason(exc), self.retry_after)
                wait = self.retry_after
            else:
                self.runs += 1
                log.info("store: %s", counts.summary())
                wait = self.every
            self._stop.wait(wait)
