"""Alembic migrations of the store, run by :mod:`assistant.store.migrate` (no alembic.ini needed)."""
