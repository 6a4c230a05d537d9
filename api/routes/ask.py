"""``POST /v1/ask``: a question in, an answer with citations out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.concurrency import run_in_threadpool

from api.deps import AssistantDep
from api.responses import BODY_ERRORS, error_responses
from assistant.answering.service import AskResult
from assistant.answering.validation import VISIBLE_PATTERN
from assistant.config import Settings

router = APIRouter(prefix="/v1", tags=["ask"])


class AskRequest(BaseModel):
    """A resident's question, and optionally the conversation it belongs to."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"question": "子どもが熱を出して保育園に行けない", "session_id": "abc123"}]}
    )

    # Checked by the service (validate_question), for the CLI and the API alike; the schema states the same rule.
    question: StrictStr = Field(
        description=(
            "The question, as the resident typed it: Unicode text (no lone surrogates) with at least one "
            "visible character, at most the configured number of characters (maxLength)."
        ),
        json_schema_extra={"minLength": 1, "pattern": VISIBLE_PATTERN},
    )
    session_id: StrictStr | None = Field(
        default=None,
        max_length=128,
        description="Opaque conversation id; follow-ups in it resolve to earlier projects.",
    )


@router.post(
    "/ask",
    response_model=AskResult,
    summary="Answer a question, citing the joint project it comes from",
    responses=error_responses(*BODY_ERRORS, 503),
)
async def ask(body: AskRequest, assistant: AssistantDep) -> AskResult:
    """Answer a question from the corpus: the right joint project with citations, or an honest abstention."""
    return await run_in_threadpool(assistant.ask, body.question, body.session_id)


def document_limits(app: FastAPI, settings: Settings) -> None:
    """Write the configured question length limit into the OpenAPI schema (it is a setting, not a constant)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            question = build()["components"]["schemas"]["AskRequest"]["properties"]["question"]
            question["maxLength"] = settings.max_question_chars
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
