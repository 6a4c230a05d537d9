"""Conversation memory: the projects cited in a session's last turns, for a while.

A follow-up such as 「それはどこにありますか？」 or "who can use it?" names no project; the
session remembers which projects the previous answers cited so the follow-up resolves to
them. Entries expire after ``ttl`` seconds of silence and the store holds at most
``max_sessions`` (least recently used dropped first), so memory stays bounded.

Only project ids and the answer language are kept, never the residents' words.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Entry:
    projects: list[str] = field(default_factory=list)
    lang: str = ""
    touched: float = 0.0


class SessionStore:
    """In-process session memory (one per server process)."""

    def __init__(
        self,
        *,
        ttl: float = 1800,
        turns: int = 3,
        max_sessions: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.turns = turns
        self.max_sessions = max_sessions
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def _live(self, session_id: str | None) -> _Entry | None:
        if not session_id:
            return None
        entry = self._entries.get(session_id)
        if entry is not None and self._clock() - entry.touched > self.ttl:
            del self._entries[session_id]
            return None
        return entry

    def recent(self, session_id: str | None) -> list[str]:
        """Project ids cited in this session's last turns, most recent first (empty if expired)."""
        with self._lock:
            entry = self._live(session_id)
            return list(entry.projects) if entry else []

    def language(self, session_id: str | None) -> str:
        """The language of the session's last answer ("" if none)."""
        with self._lock:
            entry = self._live(session_id)
            return entry.lang if entry else ""

    def remember(self, session_id: str | None, project_ids: list[str], lang: str = "") -> None:
        """Record the projects one answer cited (the first is the main one) and its language."""
        if not session_id or not project_ids:
            return
        with self._lock:
            entry = self._entries.pop(session_id, None) or _Entry()
            merged = [*project_ids, *(p for p in entry.projects if p not in project_ids)]
            entry.projects = merged[: self.turns * 3]
            entry.lang = lang or entry.lang
            entry.touched = self._clock()
            self._entries[session_id] = entry
            while len(self._entries) > self.max_sessions:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
