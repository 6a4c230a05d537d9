"""Dependencies the routes declare: the loaded assistant, as an ``Annotated`` alias."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from assistant.answering.service import Assistant
from assistant.errors import IndexError_


def get_assistant(request: Request) -> Assistant:
    """The assistant serving now, read once per request: a live index switch (``api/live.py``) replaces
    the reference between requests, so a request keeps the version it started with to its end."""
    assistant: Assistant | None = getattr(request.app.state, "assistant", None)
    if assistant is None:
        raise IndexError_("the assistant is still starting: the index and model are not loaded yet")
    return assistant


AssistantDep = Annotated[Assistant, Depends(get_assistant)]
