"""The FastAPI app factory.

Example::

    app = create_app(settings)          # loads corpus, index and model in the lifespan
    uvicorn.run(app, host="127.0.0.1", port=8000)

Tests pass an already loaded :class:`~assistant.answering.service.Assistant` so the model loads once.

The lifespan also opens the store (``assistant.store``): it migrates the schema (a database
newer than the code stops the start; one that cannot be reached only degrades it), starts the
recorder and the daily purge, and keeps conversations in the database so any worker continues
any conversation. On exit it writes what waits to be recorded.
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
from api.routes import admin, ask, feedback, health, line, projects, staff, widget
from api.routes import publish as publish_routes
from assistant import __version__
from assistant.answering.service import Assistant
from assistant.answering.sessions import MemoryConversations
from assistant.config import Settings, get_settings
from assistant.store import logs
from assistant.store.runtime import Store

PURGE_EVERY_SECONDS = 24 * 3600


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
    logs.install()  # personal data masked in every log line from here on

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = Store(settings)
        store.migrate_or_degrade()
        store.start(purge_every=PURGE_EVERY_SECONDS)
        app.state.store = store
        try:
            if assistant is None:
                loaded = Assistant.load(settings)
                # Conversations in the database: the next turn may reach another worker or replica.
                loaded.conversations = store.conversations(MemoryConversations(ttl=settings.session_ttl_seconds))
            else:
                loaded = assistant
            loaded.warm_up()
            line.load_sdk(settings)
            app.state.assistant = loaded
            async with watch_index(app.state, settings):
                yield
        finally:
            store.close()

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
    app.include_router(feedback.router)
    app.include_router(projects.router)
    app.include_router(health.router)
    app.include_router(widget.router)
    app.include_router(admin.router)
    app.include_router(publish_routes.router)
    app.include_router(line.router)
    app.include_router(staff.router)
    document_validation_errors(app)
    ask.document_limits(app, settings)
    return app
