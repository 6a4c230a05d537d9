"""Recording answers and feedback off the request path: a bounded queue, one writer thread, batches.

The request thread only appends to a queue (microseconds). A background thread takes what
waits, masks personal data (:func:`assistant.store.pii.mask`), and writes it in one
transaction per batch. When the database is down or locked, the batch is retried with
backoff while new records wait in the queue; answers go on. Only if the queue reaches its
bound is the oldest record dropped, counted and logged. :meth:`Recorder.close` writes what
waits before the process exits.

Example::

    recorder = Recorder(engine)
    recorder.start()
    recorder.record_answer(result, question=text, channel="api", session_id=None, latency_ms=12.3)
    recorder.close()   # flushes
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite

from assistant.store.conversations import hash_session_id
from assistant.store.db import utcnow
from assistant.store.health import StoreHealth, reason
from assistant.store.models import CHANNELS, Feedback, Question
from assistant.store.pii import mask

log = logging.getLogger("assistant.store")


class _Cited(Protocol):
    @property
    def project_id(self) -> str: ...


class Answer(Protocol):
    """What the recorder reads from an answer (``AskResult`` has these; the store does not import it)."""

    @property
    def answer_id(self) -> str: ...
    @property
    def lang(self) -> str: ...
    @property
    def answer_lang(self) -> str: ...
    @property
    def abstained(self) -> bool: ...
    @property
    def confidence(self) -> float: ...
    @property
    def follow_up(self) -> bool: ...
    @property
    def citations(self) -> Sequence[_Cited]: ...


@dataclass(frozen=True)
class _QuestionEntry:
    """An answered question as it waits: raw until the writer masks it."""

    answer_id: str
    asked_at: datetime
    channel: str
    question: str
    lang: str
    answer_lang: str
    abstained: bool
    follow_up: bool
    cited: tuple[str, ...]
    confidence: float
    latency_ms: float
    session_id: str | None

    def row(self) -> dict[str, Any]:
        return {
            "answer_id": self.answer_id,
            "asked_at": self.asked_at,
            "channel": self.channel,
            "question": mask(self.question),
            "lang": self.lang,
            "answer_lang": self.answer_lang,
            "abstained": self.abstained,
            "follow_up": self.follow_up,
            "project_id": self.cited[0] if self.cited else None,
            "cited_ids": " ".join(self.cited),
            "confidence": self.confidence,
            "latency_ms": self.latency_ms,
            "session_hash": hash_session_id(self.session_id) if self.session_id else None,
        }


@dataclass(frozen=True)
class _FeedbackEntry:
    answer_id: str
    helpful: bool
    comment: str | None
    created_at: datetime

    def row(self) -> dict[str, Any]:
        comment = mask(self.comment.strip()) if self.comment and self.comment.strip() else None
        return {"answer_id": self.answer_id, "helpful": self.helpful, "comment": comment, "created_at": self.created_at}


_Entry = _QuestionEntry | _FeedbackEntry


@dataclass
class RecorderStats:
    """Counters since start."""

    written: int = 0
    batches: int = 0
    dropped: int = 0
    lost_at_exit: int = 0
    failures: int = 0
    batch_sizes: list[int] = field(default_factory=list)


class Recorder:
    """Records answers and feedback in the background, in batches; never blocks or fails an answer.

    Args:
        engine: the database.
        health: where failures and recoveries are reported (and logged once per change).
        record_questions: False records no questions (``ASSISTANT_RECORD_QUESTIONS=false``); feedback still is.
        max_waiting: the queue's bound; beyond it the oldest waiting record is dropped and counted.
        batch_size: the most records written in one transaction.
        linger: how long the writer waits, once a record arrives, for more to join its batch. Under
            load this turns many small transactions into a few large ones; it also moves the
            writer's work (which shares the GIL with the requests) out of the moment a response is sent.
        max_backoff: the longest wait, in seconds, between two attempts while the database fails.
        before_write: called before each write (the store makes sure the schema exists).
    """

    PART = "recorder"

    def __init__(
        self,
        engine: Engine,
        *,
        health: StoreHealth | None = None,
        record_questions: bool = True,
        max_waiting: int = 10_000,
        batch_size: int = 500,
        linger: float = 0.05,
        max_backoff: float = 30.0,
        before_write: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.health = health or StoreHealth()
        self.record_questions = record_questions
        self.max_waiting = max_waiting
        self.batch_size = batch_size
        self.linger = linger
        self.max_backoff = max_backoff
        self.before_write = before_write
        self.stats = RecorderStats()
        self._queue: deque[_Entry] = deque()
        self._inflight: list[_Entry] = []
        self._waiting_ids: Counter[str] = Counter()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._dropping = False
        self._deadline = 0.0
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        self._questions = dialect.insert(Question).on_conflict_do_nothing(index_elements=["answer_id"])
        feedback = dialect.insert(Feedback)
        self._feedback = feedback.on_conflict_do_update(
            index_elements=["answer_id"],
            set_={name: feedback.excluded[name] for name in ("helpful", "comment", "created_at")},
        )

    # ------------------------------------------------------------------ request side

    def record_answer(
        self, answer: Answer, *, question: str, channel: str, session_id: str | None, latency_ms: float
    ) -> None:
        """Queue one answered question (masked later, before it is written). Returns at once."""
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}; one of {', '.join(CHANNELS)}")
        if not self.record_questions:
            return
        self._put(
            _QuestionEntry(
                answer_id=answer.answer_id,
                asked_at=utcnow(),
                channel=channel,
                question=question,
                lang=answer.lang,
                answer_lang=answer.answer_lang,
                abstained=answer.abstained,
                follow_up=answer.follow_up,
                cited=tuple(c.project_id for c in answer.citations),
                confidence=float(answer.confidence),
                latency_ms=round(float(latency_ms), 2),
                session_id=session_id,
            )
        )

    def record_feedback(self, answer_id: str, *, helpful: bool, comment: str | None) -> None:
        """Queue a vote on an answer (a later vote on the same answer replaces it). Returns at once."""
        self._put(_FeedbackEntry(answer_id=answer_id, helpful=helpful, comment=comment, created_at=utcnow()))

    def is_waiting(self, answer_id: str) -> bool:
        """True when that answer's question is queued or being written by this process."""
        with self._cond:
            return self._waiting_ids[answer_id] > 0

    @property
    def waiting(self) -> int:
        """Records not yet written."""
        with self._cond:
            return len(self._queue) + len(self._inflight)

    def _put(self, entry: _Entry) -> None:
        dropped = None
        with self._cond:
            if len(self._queue) >= self.max_waiting:
                dropped = self._queue.popleft()
                self._forget([dropped])
                self.stats.dropped += 1
            self._queue.append(entry)
            if isinstance(entry, _QuestionEntry):
                self._waiting_ids[entry.answer_id] += 1
            self._cond.notify_all()
            first_drop = dropped is not None and not self._dropping
            if first_drop:
                self._dropping = True
        if first_drop:
            log.warning(
                "store: %d records are waiting for the database, the most kept; dropping the oldest "
                "(%d dropped so far)",
                self.max_waiting,
                self.stats.dropped,
            )

    def _forget(self, entries: Sequence[_Entry]) -> None:
        for entry in entries:
            if isinstance(entry, _QuestionEntry):
                self._waiting_ids[entry.answer_id] -= 1
                if self._waiting_ids[entry.answer_id] <= 0:
                    del self._waiting_ids[entry.answer_id]

    # ------------------------------------------------------------------ writer side

    def start(self) -> None:
        """Start the writer thread (once)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="assistant-recorder", daemon=True)
            self._thread.start()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is written; False if that took longer than ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._inflight:
                left = deadline - time.monotonic()
                if left <= 0 or self._thread is None:
                    return False
                self._cond.wait(min(left, 0.1))
        return True

    def close(self, timeout: float = 10.0) -> int:
        """Write what waits (retrying for up to ``timeout`` seconds), stop the thread; how many records were lost."""
        if self._thread is None:
            lost = self.waiting
        else:
            self._deadline = time.monotonic() + timeout
            self._stop.set()
            with self._cond:
                self._cond.notify_all()
            self._thread.join(timeout + 5)
            self._thread = None
            lost = self.waiting
        if lost:
            self.stats.lost_at_exit += lost
            log.warning("store: %d records could not be written before exit: the database was unavailable", lost)
            with self._cond:
                self._queue.clear()
                self._inflight = []
                self._waiting_ids.clear()
        return lost

    def _run(self) -> None:
        delay = 0.0
        while True:
            with self._cond:
                if not self._inflight:
                    while not self._queue and not self._stop.is_set():
                        self._cond.wait()
                    if not self._queue:
                        return  # stopping, and nothing waits
                    until = time.monotonic() + self.linger
                    while len(self._queue) < self.batch_size and not self._stop.is_set():
                        left = until - time.monotonic()
                        if left <= 0:
                            break
                        self._cond.wait(left)
                    count = min(self.batch_size, len(self._queue))
                    self._inflight = [self._queue.popleft() for _ in range(count)]
                batch = self._inflight
            try:
                self._write(batch)
            except Exception as exc:  # any failure: keep the batch, retry it later
                self.stats.failures += 1
                self.health.failed(self.PART, f"{reason(exc)} ({self.waiting} records waiting)")
                if self._stop.is_set() and time.monotonic() >= self._deadline:
                    return  # close() counts what is left
                delay = min(self.max_backoff, delay * 2 or 0.1)
                if self._stop.is_set():
                    delay = min(delay, max(0.0, self._deadline - time.monotonic()))
                    time.sleep(delay)
                else:
                    self._stop.wait(delay)
                continue
            delay = 0.0
            with self._cond:
                self._forget(batch)
                self._inflight = []
                self.stats.written += len(batch)
                self.stats.batches += 1
                self.stats.batch_sizes.append(len(batch))
                del self.stats.batch_sizes[:-1000]
                self._dropping = False
                self._cond.notify_all()
            self.health.ok(self.PART)

    def _write(self, batch: Sequence[_Entry]) -> None:
        if self.before_write is not None:
            self.before_write()
        questions = [entry.row() for entry in batch if isinstance(entry, _QuestionEntry)]
        # One vote per answer per statement: the last one, as a later vote replaces an earlier one.
        votes = {entry.answer_id: entry.row() for entry in batch if isinstance(entry, _FeedbackEntry)}
        with self.engine.begin() as connection:
            if questions:
                connection.execute(self._questions, questions)
            if votes:
                connection.execute(self._feedback, list(votes.values()))
