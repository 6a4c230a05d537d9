"""Conversation memory: remembers the cited projects for a while, and no longer."""

from __future__ import annotations

from assistant.answering.sessions import Conversation, MemoryConversations


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_recent_projects_most_recent_first_and_bounded() -> None:
    first = Conversation().after(["a", "b"], "ja", None, keep=3)
    second = first.after(["c"], "en", None, keep=3)
    assert second.projects == ["c", "a", "b"] and second.lang == "en" and second.turns == 2
    assert second.after(["d", "e", "f"], "", None, keep=3).projects == ["d", "e", "f"]


def test_the_town_once_known_is_kept() -> None:
    known = Conversation().after(["a"], "ja", "南牧村", keep=3)
    assert known.after(["b"], "ja", None, keep=3).town == "南牧村"


def test_conversations_expire_after_silence() -> None:
    clock = Clock()
    store = MemoryConversations(ttl=60, clock=clock)
    store.put("s", Conversation(projects=["a"]))
    clock.now = 59
    assert store.get("s") == Conversation(projects=["a"])
    clock.now = 59 + 61
    assert store.get("s") is None and len(store) == 0


def test_the_store_is_bounded() -> None:
    store = MemoryConversations(max_sessions=2)
    for sid in ("a", "b", "c"):
        store.put(sid, Conversation(projects=["x"]))
    assert len(store) == 2 and store.get("a") is None
