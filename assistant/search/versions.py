"""The index folder as a store of immutable versions: the ``CURRENT`` pointer, the history, the lock.

Layout of ``index/``::

    <version>/                    immutable once renamed into place: vectors, BM25, documents,
                                  manifest.json and corpus/ (the corpus it was built from)
    CURRENT                       the version servers load (replaced atomically)
    HISTORY.json                  the versions made current, oldest first (replaced atomically);
                                  ``assistant rollback`` walks it back
    .publish.lock                 flock held by whoever writes here: publish, index build, rollback
    .<version>.building-<pid>/    a build or publish in progress; garbage once its writer is gone

``CURRENT`` is the one source of truth for what is served; the history only orders versions for
rollback and pruning. Every write is a temp file or folder renamed into place, so a writer killed
at any moment leaves ``CURRENT`` naming a complete version, and the next writer (holding the lock,
so no other writer can be running) removes what the dead one left.

Example::

    with writer_lock(index_dir, "publish"):
        clean_leftovers(index_dir)
        ...                                   # build and check a version
        activate(index_dir, version, how="publish")
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from assistant.errors import IndexError_, PublishBusyError, PublishError

CURRENT = "CURRENT"
HISTORY = "HISTORY.json"
LOCK = ".publish.lock"
KEEP_VERSIONS = 3
"""Published versions kept on disk besides the current and the previous one."""
MAX_HISTORY = 50
BUILDING = ".building-"


@dataclass(frozen=True)
class HistoryEntry:
    """One version made current: when, and by which command."""

    version: str
    at: str
    how: str


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def is_version(path: Path) -> bool:
    """A complete version folder (renamed into place, with its manifest)."""
    return path.is_dir() and not path.name.startswith(".") and (path / "manifest.json").is_file()


def versions(index_dir: Path) -> list[Path]:
    """Every complete version folder, by name (names start with the build time)."""
    if not index_dir.is_dir():
        return []
    return sorted(p for p in index_dir.iterdir() if is_version(p))


def current_name(index_dir: Path) -> str | None:
    """The version ``CURRENT`` names, or None when there is none (cheap: one small read)."""
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return name or None


def current_version(index_dir: Path) -> Path:
    """The folder ``CURRENT`` names.

    Raises:
        IndexError_: no index has been built, or the pointer names a missing folder.
    """
    name = current_name(index_dir)
    if name is None:
        raise IndexError_(f"no search index in {index_dir}: run `assistant index build` (or `make run`)")
    path = index_dir / name
    if not is_version(path):
        raise IndexError_(f"{index_dir / CURRENT} names {name!r}, which is missing: run `assistant index build`")
    return path


def _write_atomically(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    with temp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def point_current(index_dir: Path, version: str) -> None:
    """Replace ``CURRENT`` atomically: a reader sees the old name or the new one, never half of one."""
    _write_atomically(index_dir / CURRENT, version + "\n")


def read_history(index_dir: Path) -> list[HistoryEntry]:
    """The versions made current, oldest first (empty when there is no history yet)."""
    try:
        rows = json.loads((index_dir / HISTORY).read_text(encoding="utf-8"))["versions"]
        return [HistoryEntry(str(r["version"]), str(r["at"]), str(r["how"])) for r in rows]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PublishError(f"{index_dir / HISTORY} is unreadable ({exc}): fix or delete it") from exc


def _write_history(index_dir: Path, entries: list[HistoryEntry]) -> None:
    payload = {"versions": [asdict(e) for e in entries[-MAX_HISTORY:]]}
    _write_atomically(index_dir / HISTORY, json.dumps(payload, ensure_ascii=False, indent=1) + "\n")


def previous_version(index_dir: Path) -> str | None:
    """The version a rollback returns to: the last one made current before the current one, still on disk."""
    current = current_name(index_dir)
    names = [e.version for e in read_history(index_dir)]
    if current in names:
        names = names[: len(names) - 1 - names[::-1].index(current)]
    for name in reversed(names):
        if name != current and is_version(index_dir / name):
            return name
    return None


def activate(index_dir: Path, version: str, *, how: str) -> None:
    """Make ``version`` current, record it in the history, and prune old versions.

    ``CURRENT`` is flipped first: killed right after, the history lacks the new version, and
    the next :func:`activate` records it (``how="recovered"``) before its own.
    """
    if not is_version(index_dir / version):
        raise PublishError(f"cannot make {version!r} current: {index_dir / version} is not a complete index version")
    history = read_history(index_dir)
    current = current_name(index_dir)
    if current and is_version(index_dir / current) and (not history or history[-1].version != current):
        history.append(HistoryEntry(current, _now(), "recovered"))
    point_current(index_dir, version)
    if not history or history[-1].version != version:
        history.append(HistoryEntry(version, _now(), how))
    _write_history(index_dir, history)
    prune(index_dir)


def rollback(index_dir: Path) -> tuple[str, str]:
    """Point ``CURRENT`` at the previous version; returns (from, to).

    The history is cut back first, then ``CURRENT`` flipped: killed in between, a second
    rollback finds the current version missing from the history and flips to the same target.

    Raises:
        PublishError: no current version, or none to roll back to.
    """
    current = current_name(index_dir)
    if current is None:
        raise PublishError(f"nothing to roll back: no version is current in {index_dir}")
    target = previous_version(index_dir)
    if target is None:
        raise PublishError(f"nothing to roll back to: {current} is the only version published in {index_dir}")
    history = read_history(index_dir)
    names = [e.version for e in history]
    cut = len(names) - names[::-1].index(target)
    _write_history(index_dir, history[:cut])
    point_current(index_dir, target)
    return current, target


def prune(index_dir: Path, keep: int = KEEP_VERSIONS) -> list[str]:
    """Remove old versions; never the current one, the previous one, or the last ``keep`` published.

    Complete versions never made current (a publish killed after its build, before the flip)
    are removed too. Returns the names removed.
    """
    recent: list[str] = []
    for entry in reversed(read_history(index_dir)):
        if len(recent) == keep:
            break
        if entry.version not in recent:
            recent.append(entry.version)
    protected = {current_name(index_dir), previous_version(index_dir), *recent}
    removed = []
    for path in versions(index_dir):
        if path.name not in protected:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed


def clean_leftovers(index_dir: Path) -> list[str]:
    """Remove what killed writers left: half-built versions and temp files. Call only under :func:`writer_lock`."""
    removed: list[str] = []
    if not index_dir.is_dir():
        return removed
    for path in index_dir.iterdir():
        name = path.name
        if path.is_dir() and name.startswith(".") and (BUILDING in name or name.startswith(".staging-")):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(name)
        elif path.is_file() and name.startswith((f".{CURRENT}.", f".{HISTORY}.")):
            path.unlink(missing_ok=True)
            removed.append(name)
    return removed


@contextlib.contextmanager
def writer_lock(index_dir: Path, what: str) -> Iterator[None]:
    """Hold the index folder's writer lock (``flock``) for a publish, build or rollback.

    The kernel releases it when the process dies, even by ``kill -9``, so a crashed publish never
    blocks the next one.

    Raises:
        PublishBusyError: another writer holds it; the message says which and since when.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            raise PublishBusyError(
                f"another publish is running on {index_dir} ({holder}): wait for it to finish, then try again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{what}, pid {os.getpid()}, since {_now()}".encode(), 0)
        yield
    finally:
        os.close(fd)
