"""``POST /v1/feedback``: a resident's vote on one answer (a second vote on the same answer replaces the first)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr
from starlette.concurrency import run_in_threadpool

from api.deps import StoreDep
from api.responses import BODY_ERRORS, error_responses
from assistant.errors import NotFoundError

router = APIRouter(prefix="/v1", tags=["feedback"])


class FeedbackRequest(BaseModel):
    """Was the answer helpful? The comment is optional, and masked before it is stored."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"answer_id": "5f0c…", "helpful": False, "comment": "場所が知りたかった"}]}
    )

    answer_id: StrictStr = Field(min_length=1, max_length=64, description="The answer_id that POST /v1/ask returned.")
    helpful: StrictBool
    comment: StrictStr | None = Field(default=None, max_length=2000)


class FeedbackReceipt(BaseModel):
    """The vote, as it will be recorded."""

    answer_id: str
    helpful: bool
    status: Literal["recorded"] = "recorded"


@router.post(
    "/feedback",
    status_code=201,
    response_model=FeedbackReceipt,
    summary="Rate an answer",
    responses=error_responses(*BODY_ERRORS, 404, 503),
)
async def feedback(body: FeedbackRequest, store: StoreDep) -> FeedbackReceipt:
    """Record a vote on an answer; 404 for an answer_id the record does not know."""
    if not await run_in_threadpool(store.answer_known, body.answer_id):
        raise NotFoundError(
            f"no answer with answer_id {body.answer_id!r}: send the answer_id that POST /v1/ask returned "
            f"(answers are kept {store.settings.retention_days} days)"
        )
    store.recorder.record_feedback(body.answer_id, helpful=body.helpful, comment=body.comment)
    return FeedbackReceipt(answer_id=body.answer_id, helpful=body.helpful)
