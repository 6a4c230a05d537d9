"""Whether the store works: each part reports, and every change of state is logged once.

The store never stops an answer: when the database is down or locked, the parts keep going
(records wait, conversations fall back to memory) and report here; ``/readyz`` shows it as
``degraded`` (still 200) and the log says so once when it starts and once when it ends.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger("assistant.store")


class StoreHealth:
    """The state of each part of the store: ok, or the reason it is not."""

    def __init__(self) -> None:
        self._problems: dict[str, str] = {}
        self._lock = threading.Lock()

    def failed(self, part: str, reason: str) -> None:
        """``part`` could not use the database; logged when it was fine before."""
        with self._lock:
            was_ok = part not in self._problems
            self._problems[part] = reason
        if was_ok:
            log.warning("store degraded: %s: %s; answers continue without it", part, reason)

    def ok(self, part: str) -> None:
        """``part`` used the database successfully; logged when it had failed before."""
        with self._lock:
            if part not in self._problems:
                return
            del self._problems[part]
        log.warning("store recovered: %s works again", part)

    @property
    def degraded(self) -> bool:
        """True while some part cannot use the database."""
        return bool(self._problems)

    def problems(self) -> dict[str, str]:
        """Each failing part and why."""
        with self._lock:
            return dict(self._problems)


def reason(exc: BaseException) -> str:
    """A database error in one line: the driver's own message, without the SQL statement SQLAlchemy adds."""
    return " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
