"""``/admin/...``: the record for staff, as JSON and CSV, behind the admin key (``ASSISTANT_ADMIN_TOKEN``).

The routes are thin: each opens a session and calls :mod:`assistant.store.queries`, which
the staff page and ``assistant report`` use as well.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import Field
from sqlalchemy import select

from api.deps import AdminDep, StoreDep
from api.responses import error_responses
from assistant.store import queries
from assistant.store.queries import (
    LOW_CONFIDENCE,
    FeedbackSummary,
    Overview,
    QuestionFilter,
    QuestionPage,
    UnansweredList,
)

# Every route here answers 401/403 (the admin key) and 503 (the database out of reach); 422 for a bad
# filter is declared by FastAPI itself wherever a route has query parameters.
router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[AdminDep], responses=error_responses(401, 403, 503))


class QuestionQuery(QuestionFilter):
    """The question filters, and which page."""

    page: int = Field(default=1, ge=1)
    per_page: int = Field(default=50, ge=1, le=500)


class UnansweredQuery(QuestionFilter):
    """The question filters, the confidence under which an answer counts as weak, and how many groups."""

    below: float = Field(default=LOW_CONFIDENCE, ge=0, le=1)
    limit: int = Field(default=50, ge=1, le=500)


class FeedbackQuery(QuestionFilter):
    """The question filters, and how many unhelpful answers to list."""

    limit: int = Field(default=50, ge=1, le=500)


def _filters(query: QuestionFilter) -> QuestionFilter:
    return QuestionFilter.model_validate(query.model_dump(include=set(QuestionFilter.model_fields)))


@router.get("/questions", response_model=QuestionPage, summary="Recorded questions, newest first (masked)")
def questions(query: Annotated[QuestionQuery, Query()], store: StoreDep) -> QuestionPage:
    """One page of questions; filter by date range (JST days), channel, language, project, abstained, text."""
    with store.session() as session:
        return queries.list_questions(session, _filters(query), page=query.page, per_page=query.per_page)


@router.get("/unanswered", response_model=UnansweredList, summary="Unanswered questions, grouped, most frequent first")
def unanswered(query: Annotated[UnansweredQuery, Query()], store: StoreDep) -> UnansweredList:
    """Abstained and low-confidence questions, near-duplicates grouped."""
    with store.session() as session:
        return queries.unanswered(session, _filters(query), below=query.below, limit=query.limit)


@router.get("/feedback", response_model=FeedbackSummary, summary="Feedback: counts per project, unhelpful answers")
def feedback(query: Annotated[FeedbackQuery, Query()], store: StoreDep) -> FeedbackSummary:
    """Votes per project and the answers marked unhelpful, with their questions."""
    with store.session() as session:
        return queries.feedback_summary(session, _filters(query), limit=query.limit)


@router.get("/summary", response_model=Overview, summary="The day's and the week's questions, unanswered, feedback")
def summary(store: StoreDep, days: Annotated[int, Query(ge=1, le=366)] = 7) -> Overview:
    """What `assistant report` prints: counts by channel and language, the unanswered top list, feedback."""
    with store.session() as session:
        return queries.overview(session, below=LOW_CONFIDENCE, days=days)


@router.get(
    "/questions.csv",
    response_class=StreamingResponse,
    summary="Recorded questions as CSV (UTF-8 with BOM, for Excel)",
    responses={200: {"content": {"text/csv": {}}}},
)
def questions_csv(query: Annotated[QuestionFilter, Query()], store: StoreDep) -> StreamingResponse:
    """Every question matching the filters, newest first, as a CSV file."""
    with store.session() as session:
        session.execute(select(1))  # a database that is down answers 503 here, not mid-download

    def chunks() -> Iterator[bytes]:
        with store.session() as session:
            for text in queries.csv_chunks(queries.iter_questions(session, query)):
                yield text.encode("utf-8")

    name = f"questions-{datetime.now(UTC).astimezone(queries.JST):%Y%m%d-%H%M}.csv"
    return StreamingResponse(
        chunks(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
