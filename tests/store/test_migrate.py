"""Migrations on real SQLite and PostgreSQL: from empty, again (idempotent), and refusing a newer database."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from assistant.errors import StoreVersionError
from assistant.store.db import make_engine
from assistant.store.migrate import current_revision, head_revision, upgrade
from assistant.store.models import Base
from tests.conftest import CliRunner

TABLES = {"questions", "feedback", "conversations", "line_events"}


def test_upgrade_from_empty_creates_every_table_matching_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    result = upgrade(engine)
    assert result.before is None and result.after == head_revision()
    assert TABLES <= set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        # The migration and the models describe the same schema: autogenerate finds nothing to do.
        assert (
            compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata) == []
        )
        if engine.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
    engine.dispose()


def test_upgrade_again_changes_nothing(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO line_events (event_id, received_at) VALUES ('e1', '2026-01-01 00:00:00')"
                if engine.dialect.name == "sqlite"
                else "INSERT INTO line_events (event_id, received_at) VALUES ('e1', TIMESTAMP '2026-01-01 00:00:00')"
            )
        )
    again = upgrade(engine)
    assert again.before == again.after == head_revision()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM line_events")).scalar() == 1
    engine.dispose()


def _stamp_newer(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfacef00d'"))
    engine.dispose()


def test_a_database_newer_than_the_code_is_refused_untouched(database_url: str) -> None:
    _stamp_newer(database_url)
    engine = make_engine(database_url)
    with pytest.raises(StoreVersionError) as raised:
        upgrade(engine)
    message = str(raised.value)
    assert "'f00dfacef00d'" in message and repr(head_revision()) in message
    with engine.connect() as connection:
        assert current_revision(connection) == "f00dfacef00d"
    engine.dispose()


def test_the_cli_upgrades_and_refuses_a_newer_database(run_cli: CliRunner, tmp_path: Path) -> None:
    env = {"ASSISTANT_DATA_DIR": str(tmp_path / "data"), "ASSISTANT_DATABASE_URL": ""}
    first = run_cli("db", "upgrade", env=env)
    assert first.returncode == 0, first.stderr
    assert f"-> {head_revision()}" in first.stdout and (tmp_path / "data" / "assistant.db").is_file()
    again = run_cli("db", "upgrade", env=env)
    assert again.returncode == 0 and "already" in again.stdout

    _stamp_newer(f"sqlite:///{tmp_path / 'data' / 'assistant.db'}")
    for command in (["db", "upgrade"], ["serve", "--port", "1"]):
        refused = run_cli(*command, env=env)
        assert refused.returncode == 2, (command, refused.stdout, refused.stderr)
        assert "'f00dfacef00d'" in refused.stderr and repr(head_revision()) in refused.stderr
        assert "Traceback" not in refused.stderr + refused.stdout


def test_a_bad_database_url_is_a_clear_error(run_cli: CliRunner) -> None:
    result = run_cli("db", "upgrade", env={"ASSISTANT_DATABASE_URL": "mysql://x@localhost/db"})
    assert result.returncode == 2
    assert "ASSISTANT_DATABASE_URL" in result.stderr and "Traceback" not in result.stderr
    unreachable = run_cli(
        "db", "upgrade", env={**os.environ, "ASSISTANT_DATABASE_URL": "postgresql+psycopg://u@127.0.0.1:1/x"}
    )
    assert unreachable.returncode == 2 and "cannot migrate" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr
