"""``POST /v1/ask``: a question in, an answer with citations out (and recorded, masked, off the request path)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Header, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.concurrency import run_in_threadpool

from api.deps import AssistantDep
from api.responses import BODY_ERRORS, error_responses
from assistant.answering.service import AskResult, Assistant
from assistant.answering.validation import VISIBLE_PATTERN
from assistant.config import Settings
from assistant.store.runtime import Store

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
    town: StrictStr | None = Field(
        default=None,
        max_length=64,
        description=(
            "The resident's town when the channel knows it (a town selector, a LINE quick reply): 富岡市, "
            "下仁田町, 南牧村 or 甘楽町, by any of their names, kana or romaji readings (Tomioka, Shimonita, "
            "Nanmoku, Kanra). Any other place is taken as outside the zone. A town the question itself "
            "states as home wins."
        ),
        examples=["下仁田町"],
    )


ChannelHeader = Annotated[
    Literal["api", "widget"],
    Header(
        alias="X-Assistant-Channel",
        description="Where the question was asked, for the record: `widget` from the website widget, else `api`.",
    ),
]


def _answer(assistant: Assistant, store: Store | None, body: AskRequest, channel: str) -> AskResult:
    return _recorded(assistant.ask(body.question, body.session_id, town=body.town), store, body, channel)


def _recorded(result: AskResult, store: Store | None, body: AskRequest, channel: str) -> AskResult:
    if store is not None:  # queued for the recorder's thread: returns at once
        store.recorder.record_answer(
            result, question=body.question, channel=channel, session_id=body.session_id, latency_ms=result.elapsed_ms
        )
    return result


@router.post(
    "/ask",
    response_model=AskResult,
    summary="Answer a question, citing the joint project it comes from",
    responses=error_responses(*BODY_ERRORS, 503),
)
async def ask(body: AskRequest, assistant: AssistantDep, request: Request, channel: ChannelHeader = "api") -> AskResult:
    """Answer a question from the corpus: the right joint project with citations, or an honest abstention."""
    store: Store | None = getattr(request.app.state, "store", None)
    # A kept answer outside a conversation is a dictionary lookup: answered here, with no thread hop.
    # In a conversation the turn reads the conversation store (a database with replicas): a thread.
    if body.session_id is None and (kept := assistant.kept(body.question, town=body.town)) is not None:
        return _recorded(kept, store, body, channel)
    return await run_in_threadpool(_answer, assistant, store, body, channel)


def document_limits(app: FastAPI, settings: Settings) -> None:
    """Write the configured question length limit into the OpenAPI schema (it is a setting, not a constant)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            question = build()["components"]["schemas"]["AskRequest"]["properties"]["question"]
            question["maxLength"] = settings.max_question_chars
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
