"""The database engine: SQLite in WAL mode by default, PostgreSQL (psycopg 3) through the same setting.

Example::

    engine = make_engine(settings.database)   # sqlite:///…/data/assistant.db unless ASSISTANT_DATABASE_URL is set
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from assistant.errors import ConfigError

BUSY_TIMEOUT_MS = 1000
"""How long a SQLite statement waits for another writer before failing.

Writes here take milliseconds, so a second is ample for ordinary contention (two workers, the
recorder and a conversation); a database held locked for longer counts as unavailable: the
recorder retries later and conversations fall back to memory, so no answer waits on it.
"""

CONNECT_TIMEOUT_S = 2
"""How long a PostgreSQL connection attempt may take before the store counts as unavailable."""


def utcnow() -> datetime:
    """Now, in UTC (what the store writes; the database stores it without a zone)."""
    return datetime.now(UTC)


def parse_url(url: str) -> URL:
    """The URL parsed, or a :class:`ConfigError` naming the setting.

    Raises:
        ConfigError: not a SQLAlchemy URL, or a database other than SQLite or PostgreSQL.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"ASSISTANT_DATABASE_URL={url!r} is not a database URL: {exc}") from exc
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"ASSISTANT_DATABASE_URL: {parsed.get_backend_name()!r} is not supported; "
            "use sqlite:///path/to/file.db or postgresql+psycopg://user:password@host/db"
        )
    if parsed.get_backend_name() == "postgresql" and parsed.drivername != "postgresql+psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 is the driver installed
    return parsed


def describe(url: str | URL) -> str:
    """The URL with its password hidden, for messages and logs."""
    parsed = url if isinstance(url, URL) else make_url(url)
    return parsed.render_as_string(hide_password=True)


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL (None for an in-memory database or another backend)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).expanduser()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their folder created and WAL mode on every connection.

    Raises:
        ConfigError: the URL is not a SQLite or PostgreSQL URL.
    """
    parsed = parse_url(url)
    options: dict[str, Any] = {
        "pool_pre_ping": True,  # a database that restarted is reconnected to, not failed on
        "hide_parameters": True,  # error messages never carry the values written
        "pool_timeout": 2,  # a starved pool fails fast; the callers fall back or retry
    }
    path = sqlite_path(parsed)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, **options, pool_size=10, max_overflow=10)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "sqlite":
        return create_engine(parsed, **options)
    connect_args: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_S}
    if "options" not in parsed.query:
        # A table held locked (a long migration, a stuck admin session) fails a write quickly.
        connect_args["options"] = f"-c lock_timeout={BUSY_TIMEOUT_MS}"
    return create_engine(parsed, **options, connect_args=connect_args)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers (staff, conversations) run while the recorder writes; NORMAL sync is safe in WAL."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()
