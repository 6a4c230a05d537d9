"""An app over the shared loaded assistant with its own database (a temp folder) and admin key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app

ADMIN_KEY = "test-admin-key-0123456789"

AppFactory = Callable[..., Any]


@contextmanager
def store_client(settings: Any, assistant: Any, data_dir: Path, **overrides: Any) -> Iterator[TestClient]:
    """A TestClient (lifespan run) on a fresh SQLite database in ``data_dir``."""
    values = {"data_dir": data_dir, "database_url": "", "admin_token": SecretStr(ADMIN_KEY), **overrides}
    app = create_app(settings.model_copy(update=values), assistant=assistant)
    with TestClient(app) as client:
        yield client


def admin(key: str = ADMIN_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def flush(client: TestClient) -> None:
    """Wait for the app's recorder to write what waits (records are written off the request path)."""
    assert client.app.state.store.recorder.flush(20)  # type: ignore[attr-defined]
