"""The FastAPI app factory.

Example::

    app = create_app(settings)          # loads corpus, index and model in the lifespan
    uvicorn.run(app, host="127.0.0.1", port=8000)

Tests pass an already loaded :class:`~assistant.answering.service.Assistant` so the model loads once.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api.errors import install_error_handlers
from api.limits import BodySizeLimit
from api.live import watch_index
from api.responses import document_validation_errors
from api.routes import ask, health, projects, widget
from assistant import __version__
from assistant.answering.service import Assistant
from assistant.config import Settings, get_settings


def create_app(
    settings: Settings | None = None,
    *,
    assistant: Assistant | None = None,
    draining: threading.Event | None = None,
) -> FastAPI:
    """Build the app.

    The lifespan loads the assistant (unless given), warms it up once, and watches ``index/CURRENT``
    to switch to newly published versions live (``api/live.py``). ``draining`` is set by the server
    on SIGTERM (``api/server.py``): ``/readyz`` then reports not ready.
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loaded = assistant or Assistant.load(settings)
        loaded.warm_up()
        app.state.assistant = loaded
        async with watch_index(app.state, settings):
            yield

    app = FastAPI(
        title="富岡甘楽 joint-services assistant",
        version=__version__,
        description=(
            "Answers residents' questions about the joint projects of the 富岡甘楽定住自立圏, "
            "citing the project every answer comes from. Answers are composed from the curated "
            "corpus only; a question no project answers gets an honest abstention."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.draining = draining or threading.Event()
    # Added first so it runs inside CORS: a 413 still carries the CORS headers the widget needs to read it.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        # The widget sends JSON and names its channel; nothing else crosses origins (no cookies).
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-Assistant-Channel"],
        )
    install_error_handlers(app)
    app.include_router(ask.router)
    app.include_router(projects.router)
    app.include_router(health.router)
    app.include_router(widget.router)
    document_validation_errors(app)
    ask.document_limits(app, settings)
    return app
