"""Alembic's entry point: runs the migrations on the connection :mod:`assistant.store.migrate` hands over.

There is no alembic.ini and no offline mode: the store always migrates a live database it is
connected to (on server start, `assistant db upgrade`, or the CLI before recording).
"""

from __future__ import annotations

from alembic import context

from assistant.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through assistant.store.migrate (e.g. `assistant db upgrade`)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things in place; batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
