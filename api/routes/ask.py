"""``POST /v1/ask``: a question in, an answer with citations out (and recorded, masked, off the request path)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.concurrency import run_in_threadpool

from api.deps import AssistantDep
from assistant.answering.service import AskResult, Assistant
from assistant.store.runtime import Store

router = APIRouter(prefix="/v1", tags=["ask"])


class AskRequest(BaseModel):
    """A resident's question, and optionally the conversation it belongs to."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"question": "子どもが熱を出して保育園に行けない", "session_id": "abc123"}]}
    )

    question: StrictStr = Field(description="The question, as the resident typed it.")
    session_id: StrictStr | None = Field(
        default=None,
        max_length=128,
        description="Opaque conversation id; follow-ups in it resolve to earlier projects.",
    )


ChannelHeader = Annotated[
    Literal["api", "widget"],
    Header(
        alias="X-Assistant-Channel",
        description="Where the question was asked, for the record: `widget` from the website widget, else `api`.",
    ),
]


def _answer(assistant: Assistant, store: Store | None, body: AskRequest, channel: str) -> AskResult:
    result = assistant.ask(body.question, body.session_id)
    if store is not None:
        store.recorder.record_answer(
            result, question=body.question, channel=channel, session_id=body.session_id, latency_ms=result.elapsed_ms
        )
    return result


@router.post("/ask", response_model=AskResult, summary="Answer a question, citing the joint project it comes from")
async def ask(body: AskRequest, assistant: AssistantDep, request: Request, channel: ChannelHeader = "api") -> AskResult:
    """Answer a question from the corpus: the right joint project with citations, or an honest abstention."""
    store: Store | None = getattr(request.app.state, "store", None)
    return await run_in_threadpool(_answer, assistant, store, body, channel)
