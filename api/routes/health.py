"""``/healthz`` (the process is up) and ``/readyz`` (index and model loaded)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """The process serves requests."""

    status: Literal["ok"]


class Ready(BaseModel):
    """The assistant can answer, from this index version and model."""

    status: Literal["ready"]
    index: str
    model: str
    projects: int


class NotReady(BaseModel):
    """The index and the model are still loading."""

    status: Literal["starting"]


@router.get("/healthz", summary="The process is up", response_model=Health)
def healthz() -> Health:
    """Always 200 while the process serves requests."""
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="The index and the model are loaded",
    response_model=Ready,
    responses={503: {"model": NotReady, "description": "Still starting: the index and the model are not loaded."}},
)
def readyz(request: Request) -> Ready | JSONResponse:
    """200 with the index version once the assistant can answer; 503 before."""
    assistant = getattr(request.app.state, "assistant", None)
    if assistant is None or not assistant.ready:
        return JSONResponse(status_code=503, content=NotReady(status="starting").model_dump())
    manifest = assistant.index.manifest
    return Ready(status="ready", index=manifest.version, model=manifest.model, projects=manifest.projects)
