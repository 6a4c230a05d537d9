"""Dependencies the routes declare: the loaded assistant and the store, as ``Annotated`` aliases; the admin key."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from assistant.answering.service import Assistant
from assistant.config import Settings
from assistant.errors import IndexError_, StoreUnavailableError
from assistant.store.runtime import Store


def get_assistant(request: Request) -> Assistant:
    """The assistant serving now, read once per request: a live index switch (``api/live.py``) replaces
    the reference between requests, so a request keeps the version it started with to its end."""
    assistant: Assistant | None = getattr(request.app.state, "assistant", None)
    if assistant is None:
        raise IndexError_("the assistant is still starting: the index and model are not loaded yet")
    return assistant


AssistantDep = Annotated[Assistant, Depends(get_assistant)]


def get_store(request: Request) -> Store:
    """The store the lifespan opened."""
    store: Store | None = getattr(request.app.state, "store", None)
    if store is None:
        raise StoreUnavailableError("the server is still starting: the store is not open yet")
    return store


StoreDep = Annotated[Store, Depends(get_store)]


_bearer = HTTPBearer(auto_error=False, description="ASSISTANT_ADMIN_TOKEN, sent as `Authorization: Bearer <key>`.")


def require_admin(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Let staff in with the admin key: 403 when none is configured, 401 for a missing or wrong one."""
    settings: Settings = request.app.state.settings
    configured = settings.admin_token.get_secret_value() if settings.admin_token else ""
    if not configured:
        raise HTTPException(
            status_code=403,
            detail="the admin routes are off: set ASSISTANT_ADMIN_TOKEN to a long random key and restart the server",
        )
    given = credentials.credentials if credentials else ""
    if not hmac.compare_digest(given.encode("utf-8"), configured.encode("utf-8")):
        raise HTTPException(
            status_code=401,
            detail="a valid admin key is required: send `Authorization: Bearer <ASSISTANT_ADMIN_TOKEN>`",
            headers={"WWW-Authenticate": "Bearer"},
        )


AdminDep = Depends(require_admin)
"""For ``dependencies=[AdminDep]`` on a router or route that only staff may use."""
