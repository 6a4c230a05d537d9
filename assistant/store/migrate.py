"""Schema migrations with Alembic, configured in code: no alembic.ini, works from an installed package.

Example::

    result = upgrade(engine)   # on server start and in `assistant db upgrade`
    result.before, result.after  # (None, '0001') on an empty database

A database whose revision this code does not know (a newer version migrated it) is refused
with :class:`~assistant.errors.StoreVersionError` before anything is touched.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from assistant.errors import StoreUnavailableError, StoreVersionError
from assistant.store.db import describe, sqlite_path

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# Any fixed number: PostgreSQL advisory lock held while one process migrates, so replicas starting
# together do not race to create the same tables.
_PG_LOCK_KEY = 0x7A55_0008


@dataclass(frozen=True)
class UpgradeResult:
    """The schema revision before and after an upgrade."""

    before: str | None
    after: str


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations (and at ``connection``, when given).

    Developers create a revision with it::

        python -c "from alembic import command; from assistant.store.migrate import alembic_config; \\
                   command.revision(alembic_config(), 'what changed')"
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the store has no migrations"
    return head


def current_revision(connection: Connection) -> str | None:
    """The database's revision (None when it was never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def check_known(connection: Connection, url: str) -> str | None:
    """The database's revision, if this code knows it.

    Raises:
        StoreVersionError: the revision is unknown here (the database is newer than this code).
    """
    revision = current_revision(connection)
    if revision is None:
        return None
    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except CommandError:
        raise StoreVersionError(
            f"the database {describe(url)} is at schema revision {revision!r}, which this version of the "
            f"assistant does not know (its newest is {head_revision()!r}): a newer version migrated it. "
            "Run that newer version, or point ASSISTANT_DATABASE_URL at another database."
        ) from None
    return revision


def upgrade(engine: Engine) -> UpgradeResult:
    """Migrate the database to the newest revision (idempotent; one process at a time).

    Raises:
        StoreVersionError: the database is newer than this code; nothing was changed.
        StoreUnavailableError: the database cannot be reached or written.
    """
    url = engine.url.render_as_string(hide_password=False)
    try:
        with _migration_lock(engine), engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            before = check_known(connection, url)
            command.upgrade(alembic_config(connection), "head")
            after = current_revision(connection)
    except SQLAlchemyError as exc:
        raise StoreUnavailableError(
            f"cannot migrate the database {describe(engine.url)}: {getattr(exc, 'orig', None) or exc}"
        ) from exc
    assert after is not None
    return UpgradeResult(before=before, after=after)


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """For a SQLite file, an exclusive lock on a file beside it (workers of one server start together).

    A separate file, because closing any descriptor of the database file itself would drop
    SQLite's own locks in this process.
    """
    path = sqlite_path(engine.url)
    if path is None:
        yield
        return
    with open(path.with_name(path.name + ".migrate-lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
