"""``/healthz`` (the process is up) and ``/readyz`` (index and model loaded; the store ok or degraded)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """The process serves requests."""

    status: Literal["ok"]


class StoreStatus(BaseModel):
    """The record's database: degraded still answers (records wait, conversations use memory)."""

    status: Literal["ok", "degraded"]
    database: str = Field(description="sqlite or postgresql.")
    problems: dict[str, str] = Field(description="What fails, by part of the store, while degraded.")
    waiting: int = Field(description="Records waiting to be written.")
    dropped: int = Field(description="Records dropped because too many waited.")
    recording: bool = Field(description="Whether questions are recorded (ASSISTANT_RECORD_QUESTIONS).")


class Ready(BaseModel):
    """The assistant can answer, from this index version and model."""

    status: Literal["ready"]
    index: str = Field(description="The index version served.")
    model: str
    backend: str = Field(description="The embedding backend: onnx, onnx-int8, openvino-bf16, openvino or torch.")
    projects: int
    store: StoreStatus | None = Field(default=None, description="Whether the database works.")


class NotReady(BaseModel):
    """Still loading, or draining before a shutdown: a load balancer should send elsewhere."""

    status: Literal["starting", "draining"]
    index: str | None = None


@router.get("/healthz", summary="The process is up", response_model=Health)
def healthz() -> Health:
    """Always 200 while the process serves requests."""
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="The index and the model are loaded",
    response_model=Ready,
    responses={503: {"model": NotReady, "description": "Still starting, or draining before a shutdown."}},
)
def readyz(request: Request) -> Ready | JSONResponse:
    """200 with the index version served once the assistant can answer; 503 while starting or draining."""
    assistant = getattr(request.app.state, "assistant", None)
    if assistant is None or not assistant.ready:
        return JSONResponse(status_code=503, content=NotReady(status="starting").model_dump())
    manifest = assistant.index.manifest
    draining = getattr(request.app.state, "draining", None)
    if draining is not None and draining.is_set():
        # SIGTERM received: in-flight requests finish, but a load balancer should stop sending.
        return JSONResponse(status_code=503, content=NotReady(status="draining", index=manifest.version).model_dump())
    store = getattr(request.app.state, "store", None)
    return Ready(
        status="ready",
        index=manifest.version,
        model=manifest.model,
        backend=manifest.backend_label,
        projects=manifest.projects,
        store=StoreStatus(**store.status()) if store is not None else None,
    )
