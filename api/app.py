"""The FastAPI app factory.

Example::

    app = create_app(settings)          # loads corpus, index and model in the lifespan
    uvicorn.run(app, host="127.0.0.1", port=8000)

Tests pass an already loaded :class:`~assistant.answering.service.Assistant` so the model loads once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api.errors import install_error_handlers
from api.limits import BodySizeLimit
from api.responses import document_validation_errors
from api.routes import ask, health, projects
from assistant import __version__
from assistant.answering.service import Assistant
from assistant.config import Settings, get_settings


def create_app(settings: Settings | None = None, *, assistant: Assistant | None = None) -> FastAPI:
    """Build the app. The lifespan loads the assistant (unless given) and warms it up once."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loaded = assistant or Assistant.load(settings)
        loaded.warm_up()
        app.state.assistant = loaded
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
    # Added first so it runs inside CORS: a 413 still carries the CORS headers the widget needs to read it.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"], allow_headers=["*"]
        )
    install_error_handlers(app)
    app.include_router(ask.router)
    app.include_router(projects.router)
    app.include_router(health.router)
    document_validation_errors(app)
    ask.document_limits(app, settings)
    return app
