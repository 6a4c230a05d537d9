"""Session memory: remembers the cited projects for a while, and no longer."""

from __future__ import annotations

from assistant.answering.sessions import SessionStore


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_recent_projects_most_recent_first_and_bounded() -> None:
    store = SessionStore(ttl=60, turns=1, clock=Clock())
    store.remember("s", ["a", "b"], "ja")
    store.remember("s", ["c"], "en")
    assert store.recent("s") == ["c", "a", "b"]
    assert store.language("s") == "en"
    store.remember("s", ["d", "e", "f"])
    assert store.recent("s") == ["d", "e", "f"]  # turns=1 keeps three ids


def test_sessions_expire_after_silence() -> None:
    clock = Clock()
    store = SessionStore(ttl=60, clock=clock)
    store.remember("s", ["a"])
    clock.now = 59
    assert store.recent("s") == ["a"]
    clock.now = 59 + 61
    assert store.recent("s") == [] and len(store) == 0


def test_no_session_id_remembers_nothing() -> None:
    store = SessionStore()
    store.remember(None, ["a"])
    assert store.recent(None) == [] and len(store) == 0


def test_the_store_is_bounded() -> None:
    store = SessionStore(max_sessions=2)
    for sid in ("a", "b", "c"):
        store.remember(sid, ["x"])
    assert len(store) == 2 and store.recent("a") == []
