"""Live index switching: every server process moves to a newly published version between requests.

The app holds one reference, ``app.state.assistant``. Each request reads it once (``api/deps.py``)
and keeps that object to its end, so a question in flight finishes on the version it started on.

:class:`IndexWatcher` reads ``index/CURRENT`` every ``index_poll_seconds`` (0: never by itself),
and at once on ``SIGHUP``. When it names another version than the one served, the watcher loads
that version beside the served one (a new :class:`Assistant` sharing the loaded model, the
tokenizer and the conversation store), warms it up, then replaces the reference: one assignment,
atomic for every request that starts after it. A version that fails to load is logged once and
ignored; the served version carries on.

Example (what the app's lifespan does)::

    async with watch_index(app.state, settings):
        yield
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

from assistant.answering.service import Assistant
from assistant.config import Settings
from assistant.search.index import load_version
from assistant.search.versions import current_name

log = logging.getLogger("assistant.api.live")


class IndexWatcher:
    """Switches ``state.assistant`` to the version ``CURRENT`` names, when it can be loaded."""

    def __init__(self, state: Any, settings: Settings) -> None:
        self.state = state
        self.settings = settings
        self.failed: set[str] = set()
        self._not_visible: set[str] = set()
        self._lock = threading.Lock()

    @property
    def served(self) -> Assistant:
        """The assistant requests get now."""
        assistant: Assistant = self.state.assistant
        return assistant

    def check(self) -> bool:
        """Switch if ``CURRENT`` names another loadable version; True when it switched."""
        with self._lock:  # a poll and a SIGHUP never load the same version twice at once
            index_dir = self.settings.index_dir
            name = current_name(index_dir)
            served = self.served
            if name is None or name == served.index.manifest.version or name in self.failed:
                return False
            if not (index_dir / name / "manifest.json").is_file():
                # On a shared volume the pointer may be seen before the folder: try again next time.
                if name not in self._not_visible:
                    self._not_visible.add(name)
                    log.warning("CURRENT names %s, which is not visible yet; still serving %s", name, _name(served))
                return False
            started = time.perf_counter()
            try:
                fresh = served.with_index(
                    load_version(index_dir / name, model=self.settings.model_spec, backend=served.embedder.backend)
                )
                fresh.warm_up()
            except Exception as exc:  # any failure: keep serving, never let the watcher die
                self.failed.add(name)
                log.error("index version %s cannot be served, still serving %s: %s", name, _name(served), exc)
                return False
            self.state.assistant = fresh
            seconds = time.perf_counter() - started
            log.info("switched from index %s to %s (%.2f s to load)", _name(served), name, seconds)
            return True


def _name(assistant: Assistant) -> str:
    return assistant.index.manifest.version


async def _poll(watcher: IndexWatcher, every: float, wake: asyncio.Event) -> None:
    while True:
        if every > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=every)
        else:
            await wake.wait()
        wake.clear()
        await asyncio.to_thread(watcher.check)  # loading blocks: keep it off the event loop


@contextlib.asynccontextmanager
async def watch_index(state: Any, settings: Settings) -> AsyncIterator[IndexWatcher]:
    """Run an :class:`IndexWatcher` over ``state.assistant`` while the app serves."""
    watcher = IndexWatcher(state, settings)
    wake = asyncio.Event()
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGHUP, wake.set)
        hooked = True
    except (ValueError, RuntimeError, NotImplementedError):  # not the main thread (e.g. a test client)
        hooked = False
    task = asyncio.create_task(_poll(watcher, settings.index_poll_seconds, wake))
    try:
        yield watcher
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if hooked:
            loop.remove_signal_handler(signal.SIGHUP)
