"""``/healthz`` (the process is up) and ``/readyz`` (index and model loaded; the store ok or degraded)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    """Always 200 while the process serves requests."""
    return {"status": "ok"}


@router.get("/readyz", summary="The index and the model are loaded", response_model=None)
def readyz(request: Request) -> JSONResponse | dict[str, Any]:
    """200 with the index version once the assistant can answer; 503 before.

    ``store`` says whether the database works; ``degraded`` still answers 200, because
    answers do not depend on it (records wait, conversations fall back to memory).
    """
    assistant = getattr(request.app.state, "assistant", None)
    if assistant is None or not assistant.ready:
        return JSONResponse(status_code=503, content={"status": "starting"})
    manifest = assistant.index.manifest
    body: dict[str, Any] = {
        "status": "ready",
        "index": manifest.version,
        "model": manifest.model,
        "projects": manifest.projects,
    }
    store = getattr(request.app.state, "store", None)
    if store is not None:
        body["store"] = store.status()
    return body
