"""Conversation memory: what a session's earlier turns established, for a while.

A follow-up such as 「それはどこにありますか？」 or "who can use it?" names no project; the
conversation remembers which projects the previous answers cited (and the answer language,
and the resident's town once known) so the follow-up resolves to them.

:class:`ConversationStore` is the seam: the service reads a :class:`Conversation` before it
answers and writes the updated one after. :class:`MemoryConversations` keeps them in this
process (the eval, tests, and the fallback while the database fails);
``assistant.store.conversations.SqlConversations`` keeps them in the database, so any worker
or replica continues any conversation. :class:`Conversation` itself lives in the store (the
store imports nothing from answering) and is re-exported here.

Only project ids, the answer language and the town are kept, never the residents' words.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from assistant.store.conversations import Conversation

__all__ = ["Conversation", "ConversationStore", "MemoryConversations"]


class ConversationStore(Protocol):
    """Where conversations live between turns (memory here, the database in ``assistant.store``)."""

    def get(self, session_id: str) -> Conversation | None:
        """The session's conversation, or None when it is new or has expired."""

    def put(self, session_id: str, conversation: Conversation) -> None:
        """Save the session's conversation (its expiry starts again)."""


@dataclass
class _Entry:
    conversation: Conversation
    touched: float


class MemoryConversations:
    """In-process conversations (one per process): expire after ``ttl`` seconds of silence, LRU-bounded."""

    def __init__(
        self,
        *,
        ttl: float = 1800,
        max_sessions: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_sessions = max_sessions
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session_id: str) -> Conversation | None:
        """The live conversation of ``session_id``, or None."""
        with self._lock:
            entry = self._entries.get(session_id)
            if entry is None:
                return None
            if self._clock() - entry.touched > self.ttl:
                del self._entries[session_id]
                return None
            return entry.conversation

    def put(self, session_id: str, conversation: Conversation) -> None:
        """Save (and refresh) ``session_id``'s conversation."""
        with self._lock:
            self._entries.pop(session_id, None)
            self._entries[session_id] = _Entry(conversation, self._clock())
            while len(self._entries) > self.max_sessions:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
