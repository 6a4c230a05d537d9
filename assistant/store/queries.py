"""What staff read from the record: the question list, unanswered questions, feedback, the overview, CSV.

Each function takes an open :class:`~sqlalchemy.orm.Session` and returns plain pydantic models,
so the admin JSON routes, the staff page and ``assistant report`` share them::

    with store.session() as session:
        page = list_questions(session, QuestionFilter(channel="widget", abstained=True), page=1)
        groups = unanswered(session, QuestionFilter(), below=0.7)

Days are Japanese days (JST, UTC+9, no daylight saving): the municipality's staff read
「今日」 and a date filter as they see them on the office clock.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Select, and_, func, literal, not_, or_, select
from sqlalchemy.orm import Session

from assistant.store.models import Feedback, Question

JST = timezone(timedelta(hours=9), "JST")

Channel = Literal["api", "widget", "line", "cli"]


class QuestionFilter(BaseModel):
    """Which questions: every field optional, all given ones must hold."""

    since: date | None = Field(default=None, description="From this day (JST), inclusive.")
    until: date | None = Field(default=None, description="To this day (JST), inclusive.")
    channel: Channel | None = Field(default=None, description="api, widget, line or cli.")
    lang: str | None = Field(default=None, max_length=16, description="The question's language (ja, en, vi …).")
    project: str | None = Field(
        default=None, pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64, description="A cited project id."
    )
    abstained: bool | None = Field(default=None, description="Only abstentions (true) or only answers (false).")
    q: str | None = Field(default=None, max_length=200, description="Text the (masked) question contains.")

    def conditions(self) -> list[ColumnElement[bool]]:
        """The SQL conditions of this filter."""
        conditions: list[ColumnElement[bool]] = []
        if self.since is not None:
            conditions.append(Question.asked_at >= day_start(self.since))
        if self.until is not None:
            conditions.append(Question.asked_at < day_start(self.until + timedelta(days=1)))
        if self.channel is not None:
            conditions.append(Question.channel == self.channel)
        if self.lang is not None:
            conditions.append(Question.lang == self.lang)
        if self.project is not None:
            # cited_ids is "a b c": pad with spaces so "care" does not match "sick-child-care".
            conditions.append((literal(" ") + Question.cited_ids + literal(" ")).contains(f" {self.project} "))
        if self.abstained is not None:
            conditions.append(Question.abstained.is_(self.abstained))
        if self.q:
            conditions.append(Question.question.icontains(self.q, autoescape=True))
        return conditions


def day_start(day: date) -> datetime:
    """Midnight of ``day`` in Japan, as a UTC time."""
    return datetime.combine(day, time(0), tzinfo=JST).astimezone(UTC)


def today_jst(now: datetime) -> date:
    """The Japanese calendar day at ``now``."""
    return now.astimezone(JST).date()


class QuestionRecord(BaseModel):
    """One recorded question (masked), with the resident's vote on its answer if any."""

    answer_id: str
    asked_at: datetime
    channel: str
    lang: str
    answer_lang: str
    question: str
    abstained: bool
    follow_up: bool
    project_id: str | None
    cited_ids: list[str]
    confidence: float
    latency_ms: float
    session_hash: str | None
    helpful: bool | None = None
    comment: str | None = None


class QuestionPage(BaseModel):
    """One page of questions, newest first."""

    total: int
    page: int
    per_page: int
    items: list[QuestionRecord]


def _records(filters: QuestionFilter) -> Select[Question, bool | None, str | None]:
    return (
        select(Question, Feedback.helpful, Feedback.comment)
        .outerjoin(Feedback, Feedback.answer_id == Question.answer_id)
        .where(*filters.conditions())
        .order_by(Question.asked_at.desc(), Question.id.desc())
    )


def _record(question: Question, helpful: bool | None, comment: str | None) -> QuestionRecord:
    return QuestionRecord(
        answer_id=question.answer_id,
        asked_at=question.asked_at,
        channel=question.channel,
        lang=question.lang,
        answer_lang=question.answer_lang,
        question=question.question,
        abstained=question.abstained,
        follow_up=question.follow_up,
        project_id=question.project_id,
        cited_ids=question.cited,
        confidence=question.confidence,
        latency_ms=question.latency_ms,
        session_hash=question.session_hash,
        helpful=helpful,
        comment=comment,
    )


def list_questions(session: Session, filters: QuestionFilter, *, page: int = 1, per_page: int = 50) -> QuestionPage:
    """The questions matching ``filters``, newest first, one page (1-based) at a time."""
    total = session.scalar(select(func.count()).select_from(Question).where(*filters.conditions())) or 0
    rows = session.execute(_records(filters).limit(per_page).offset((page - 1) * per_page)).all()
    return QuestionPage(
        total=total,
        page=page,
        per_page=per_page,
        items=[_record(question, helpful, comment) for question, helpful, comment in rows],
    )


def iter_questions(session: Session, filters: QuestionFilter, *, chunk: int = 500) -> Iterator[QuestionRecord]:
    """Every question matching ``filters``, newest first, read ``chunk`` rows at a time."""
    for question, helpful, comment in session.execute(_records(filters).execution_options(yield_per=chunk)):
        yield _record(question, helpful, comment)


def get_question(session: Session, answer_id: str) -> QuestionRecord | None:
    """One recorded question by its answer id."""
    row = session.execute(_records(QuestionFilter()).where(Question.answer_id == answer_id)).first()
    if row is None:
        return None
    question, helpful, comment = row
    return _record(question, helpful, comment)


def answer_recorded(session: Session, answer_id: str) -> bool:
    """True when the answer's question is in the record."""
    return session.scalar(select(Question.id).where(Question.answer_id == answer_id)) is not None


# --------------------------------------------------------------------------- CSV

CSV_COLUMNS = (
    "asked_at_jst",
    "channel",
    "lang",
    "answer_lang",
    "question",
    "abstained",
    "follow_up",
    "project_id",
    "cited_ids",
    "confidence",
    "latency_ms",
    "helpful",
    "comment",
    "answer_id",
)


def _cell(value: object) -> str:
    """A CSV cell; text that Excel would run as a formula (=, +, -, @) is prefixed with an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_chunks(records: Iterable[QuestionRecord], *, rows_per_chunk: int = 200) -> Iterator[str]:
    """CSV text in chunks: a UTF-8 byte-order mark first (so Excel reads Japanese correctly), a header, the rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(CSV_COLUMNS)
    for count, record in enumerate(records, 1):
        writer.writerow(
            [
                _cell(record.asked_at.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S")),
                _cell(record.channel),
                _cell(record.lang),
                _cell(record.answer_lang),
                _cell(record.question),
                _cell(record.abstained),
                _cell(record.follow_up),
                _cell(record.project_id),
                _cell(" ".join(record.cited_ids)),
                _cell(round(record.confidence, 4)),
                _cell(record.latency_ms),
                _cell(record.helpful),
                _cell(record.comment),
                _cell(record.answer_id),
            ]
        )
        if count % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


# --------------------------------------------------------------------------- unanswered


class UnansweredExample(BaseModel):
    """One logged question in a group (the staff page triages from these)."""

    answer_id: str
    question: str
    asked_at: datetime
    abstained: bool
    confidence: float
    lang: str
    channel: str


class UnansweredGroup(BaseModel):
    """Near-duplicate questions that went unanswered or were answered with low confidence."""

    question: str = Field(description="The group's most frequent wording.")
    count: int
    abstained: int
    low_confidence: int
    last_asked: datetime
    langs: dict[str, int]
    examples: list[UnansweredExample] = Field(description="Up to five, newest first.")


class UnansweredList(BaseModel):
    """Unanswered groups, most frequent first."""

    below: float = Field(description="Answers below this confidence count as low-confidence.")
    questions: int = Field(description="Questions considered (abstained or low-confidence).")
    total_groups: int = Field(description="Groups found; ``groups`` holds the first ``limit``.")
    groups: list[UnansweredGroup]


def normalize_for_grouping(text: str) -> str:
    """Width, case, spaces, punctuation and symbols folded away: 「病児保育は？」 ≈ 「病児保育は」."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(c for c in folded if unicodedata.category(c)[0] not in "PSZC")


def _bigrams(text: str) -> frozenset[str]:
    """Character bigrams, without the all-hiragana ones when others exist.

    Hiragana carries the grammar (「について教えて」「できますか」), kanji and katakana the topic;
    two questions about different projects asked the same way must not look alike. A question
    written only in hiragana keeps all its bigrams.
    """
    every = frozenset(text[i : i + 2] for i in range(len(text) - 1)) or frozenset([text])
    topical = frozenset(g for g in every if any(not "\u3041" <= c <= "\u309f" for c in g))
    return topical or every


def _similar(a: frozenset[str], b: frozenset[str]) -> float:
    """Dice coefficient of two sets of character bigrams (works for Japanese without a tokenizer)."""
    return 2 * len(a & b) / (len(a) + len(b)) if a or b else 1.0


LOW_CONFIDENCE = 0.75
"""Answers below this confidence are listed with the unanswered ones by default.

Measured on the held-out eval/questions/ with the shipped parameters: 5% of the correct answers
fall below 0.75 (the abstention threshold is 0.62), so the list shows the weakest answers
without flooding staff with good ones. ``below=`` overrides it per request.
"""

GROUPING_SIMILARITY = 0.6
"""Bigram Dice at or above which two questions are one group.

「パスポートの申請はどこ」 and 「パスポートの申請はどこでできますか」 score 0.77; unrelated
questions sharing a word or two stay well below (see tests/store/test_queries.py).
"""


def unanswered(
    session: Session, filters: QuestionFilter, *, below: float, limit: int = 50, scan: int = 5000
) -> UnansweredList:
    """Abstained and low-confidence questions, near-duplicates grouped, most frequent first.

    Follow-ups are left out of the low-confidence side: they resolve through the conversation,
    so their own retrieval confidence is low by nature. ``scan`` bounds how many recent
    questions are grouped.
    """
    scope = filters.model_copy(update={"abstained": None})
    low = and_(Question.abstained.is_(False), not_(Question.follow_up), Question.confidence < below)
    rows = session.scalars(
        select(Question)
        .where(*scope.conditions(), or_(Question.abstained.is_(True), low))
        .order_by(Question.asked_at.desc(), Question.id.desc())
        .limit(scan)
    ).all()

    by_text: dict[str, list[Question]] = defaultdict(list)
    for row in rows:
        by_text[normalize_for_grouping(row.question)].append(row)
    groups: list[list[str]] = []
    grams_of: list[frozenset[str]] = []
    index: dict[str, set[int]] = defaultdict(set)
    for text in sorted(by_text, key=lambda t: -len(by_text[t])):
        grams = _bigrams(text)
        candidates = {g for gram in grams for g in index.get(gram, ())}
        best = max(candidates, key=lambda g: _similar(grams, grams_of[g]), default=None)
        if best is not None and _similar(grams, grams_of[best]) >= GROUPING_SIMILARITY:
            groups[best].append(text)
            continue
        groups.append([text])
        grams_of.append(grams)
        for gram in grams:
            index[gram].add(len(groups) - 1)

    result = []
    for texts in groups:
        members = sorted((q for t in texts for q in by_text[t]), key=lambda q: q.asked_at, reverse=True)
        wording = Counter(q.question for q in members).most_common(1)[0][0]
        result.append(
            UnansweredGroup(
                question=wording,
                count=len(members),
                abstained=sum(q.abstained for q in members),
                low_confidence=sum(not q.abstained for q in members),
                last_asked=members[0].asked_at,
                langs=dict(Counter(q.lang for q in members)),
                examples=[
                    UnansweredExample(
                        answer_id=q.answer_id,
                        question=q.question,
                        asked_at=q.asked_at,
                        abstained=q.abstained,
                        confidence=q.confidence,
                        lang=q.lang,
                        channel=q.channel,
                    )
                    for q in members[:5]
                ],
            )
        )
    result.sort(key=lambda g: (-g.count, -g.last_asked.timestamp()))
    return UnansweredList(below=below, questions=len(rows), total_groups=len(result), groups=result[:limit])


# --------------------------------------------------------------------------- feedback


class ProjectCounts(BaseModel):
    """Per project (the main cited one; None for abstentions): questions, and the votes on their answers."""

    project_id: str | None
    questions: int
    helpful: int
    unhelpful: int


class UnhelpfulAnswer(BaseModel):
    """An answer a resident marked unhelpful, with the question it answered."""

    answer_id: str
    question: str
    asked_at: datetime
    voted_at: datetime
    project_id: str | None
    cited_ids: list[str]
    abstained: bool
    comment: str | None
    lang: str
    channel: str


class FeedbackSummary(BaseModel):
    """Votes in total and per project, and the unhelpful answers (newest first)."""

    votes: int
    helpful: int
    unhelpful: int
    by_project: list[ProjectCounts]
    unhelpful_answers: list[UnhelpfulAnswer]


def feedback_summary(session: Session, filters: QuestionFilter, *, limit: int = 50) -> FeedbackSummary:
    """Feedback on the answers to the questions matching ``filters``."""
    conditions = filters.conditions()
    per_project = session.execute(
        select(
            Question.project_id,
            func.count(Question.id),
            func.count(Feedback.id).filter(Feedback.helpful.is_(True)),
            func.count(Feedback.id).filter(Feedback.helpful.is_(False)),
        )
        .outerjoin(Feedback, Feedback.answer_id == Question.answer_id)
        .where(*conditions)
        .group_by(Question.project_id)
    ).all()
    by_project = sorted(
        (ProjectCounts(project_id=p, questions=n, helpful=yes, unhelpful=no) for p, n, yes, no in per_project),
        key=lambda c: (-c.questions, c.project_id or ""),
    )
    unhelpful_rows = session.execute(
        select(Question, Feedback)
        .join(Feedback, Feedback.answer_id == Question.answer_id)
        .where(*conditions, Feedback.helpful.is_(False))
        .order_by(Feedback.created_at.desc())
        .limit(limit)
    ).all()
    helpful = sum(c.helpful for c in by_project)
    unhelpful = sum(c.unhelpful for c in by_project)
    return FeedbackSummary(
        votes=helpful + unhelpful,
        helpful=helpful,
        unhelpful=unhelpful,
        by_project=by_project,
        unhelpful_answers=[
            UnhelpfulAnswer(
                answer_id=q.answer_id,
                question=q.question,
                asked_at=q.asked_at,
                voted_at=f.created_at,
                project_id=q.project_id,
                cited_ids=q.cited,
                abstained=q.abstained,
                comment=f.comment,
                lang=q.lang,
                channel=q.channel,
            )
            for q, f in unhelpful_rows
        ],
    )


# --------------------------------------------------------------------------- overview


class Counts(BaseModel):
    """How many questions, by channel and by language."""

    since: datetime
    total: int
    abstained: int
    by_channel: dict[str, int]
    by_lang: dict[str, int]


class Overview(BaseModel):
    """The staff summary: the day's and the week's questions, the unanswered top list, feedback per project."""

    generated_at: datetime
    today: Counts
    week: Counts
    unanswered: UnansweredList
    feedback: FeedbackSummary


def counts_since(session: Session, since: datetime) -> Counts:
    """Questions asked since ``since``, by channel and language."""
    recent = Question.asked_at >= since
    by_channel = dict(
        session.execute(select(Question.channel, func.count()).where(recent).group_by(Question.channel)).all()
    )
    by_lang = dict(session.execute(select(Question.lang, func.count()).where(recent).group_by(Question.lang)).all())
    abstained = session.scalar(select(func.count()).where(recent, Question.abstained.is_(True))) or 0
    return Counts(
        since=since,
        total=sum(by_channel.values()),
        abstained=abstained,
        by_channel=dict(sorted(by_channel.items(), key=lambda kv: -kv[1])),
        by_lang=dict(sorted(by_lang.items(), key=lambda kv: -kv[1])),
    )


def overview(session: Session, *, below: float, days: int = 7, now: datetime | None = None, top: int = 10) -> Overview:
    """The day's (since midnight JST) and the last ``days`` days' questions, unanswered top ``top``, feedback."""
    now = now or datetime.now(UTC)
    today = today_jst(now)
    week_start = today - timedelta(days=days - 1)
    window = QuestionFilter(since=week_start)
    return Overview(
        generated_at=now,
        today=counts_since(session, day_start(today)),
        week=counts_since(session, day_start(week_start)),
        unanswered=unanswered(session, window, below=below, limit=top),
        feedback=feedback_summary(session, window, limit=top),
    )
