"""``POST /v1/ask``: a question in, an answer with citations out."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.concurrency import run_in_threadpool

from api.deps import AssistantDep
from assistant.answering.service import AskResult

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


@router.post("/ask", response_model=AskResult, summary="Answer a question, citing the joint project it comes from")
async def ask(body: AskRequest, assistant: AssistantDep) -> AskResult:
    """Answer a question from the corpus: the right joint project with citations, or an honest abstention."""
    return await run_in_threadpool(assistant.ask, body.question, body.session_id)
