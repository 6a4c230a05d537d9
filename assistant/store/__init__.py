"""The store: the question record, feedback, conversations and LINE event ids, in SQLite or PostgreSQL.

- ``db.py``: the engine (SQLite in WAL mode by default; PostgreSQL through psycopg 3);
- ``models.py`` and ``migrations/``: the tables and their Alembic migrations (``migrate.py``);
- ``pii.py``: masking of personal data, before anything is stored or logged (``logs.py``);
- ``recorder.py``: recording off the request path, in batches, surviving a database outage;
- ``conversations.py``: conversations any worker or replica continues;
- ``queries.py``: what staff read (admin API, staff page, ``assistant report``);
- ``retention.py``: purging what is older than the retention;
- ``health.py``: ok or degraded, each change logged once (``/readyz`` shows it);
- ``runtime.py``: all of it together, as the server and the CLI open it.

The store imports nothing from answering, search or the API.
"""
