"""``/healthz`` (the process is up) and ``/readyz`` (index and model loaded)."""

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
    """200 with the index version served once the assistant can answer; 503 while starting or draining."""
    assistant = getattr(request.app.state, "assistant", None)
    if assistant is None or not assistant.ready:
        return JSONResponse(status_code=503, content={"status": "starting"})
    manifest = assistant.index.manifest
    served = {"index": manifest.version, "model": manifest.model, "projects": manifest.projects}
    draining = getattr(request.app.state, "draining", None)
    if draining is not None and draining.is_set():
        # SIGTERM received: in-flight requests finish, but a load balancer should stop sending.
        return JSONResponse(status_code=503, content={"status": "draining", **served})
    return {"status": "ready", **served}
