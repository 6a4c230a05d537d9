"""What staff read, on real SQLite and PostgreSQL: filters, pages, unanswered groups, feedback, CSV, overview."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from assistant.store import queries
from assistant.store.models import Feedback, Question
from assistant.store.queries import JST, QuestionFilter

# 2026-12-01 15:30 UTC is 2026-12-02 00:30 in Japan: a Japanese day starts at 15:00 UTC.
NOW = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)


def row(text: str, *, at: datetime = NOW, cited: tuple[str, ...] = (), **kwargs: object) -> Question:
    values: dict[str, object] = {
        "answer_id": f"a{abs(hash((text, at, cited, tuple(kwargs.items())))):x}",
        "asked_at": at,
        "channel": "api",
        "lang": "ja",
        "answer_lang": "ja",
        "question": text,
        "abstained": not cited,
        "follow_up": False,
        "project_id": cited[0] if cited else None,
        "cited_ids": " ".join(cited),
        "confidence": 0.95 if cited else 0.2,
        "latency_ms": 10.0,
        "session_hash": None,
    }
    values.update(kwargs)
    return Question(**values)


def add(engine: Engine, *items: object) -> None:
    with Session(engine) as session, session.begin():
        session.add_all(items)


@pytest.fixture
def session(engine: Engine):  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        yield session


def test_filters_and_pages(engine: Engine, session: Session) -> None:
    add(
        engine,
        row("病児保育はどこ", cited=("sick-child-care", "family-support-center"), channel="widget"),
        row("タクシー", cited=("shared-taxi",), channel="line", lang="ja-easy", at=NOW - timedelta(hours=1)),
        row("weather?", lang="en", at=NOW - timedelta(hours=2)),
        row("電車", cited=("joshin-railway",), channel="cli", at=NOW - timedelta(days=3)),
    )
    everything = queries.list_questions(session, QuestionFilter())
    assert everything.total == 4 and [q.question for q in everything.items][0] == "病児保育はどこ"

    def texts(**filters: object) -> list[str]:
        return [q.question for q in queries.list_questions(session, QuestionFilter(**filters)).items]

    assert texts(channel="widget") == ["病児保育はどこ"]
    assert texts(lang="en") == ["weather?"]
    assert texts(abstained=True) == ["weather?"]
    assert texts(abstained=False, channel="cli") == ["電車"]
    assert texts(project="family-support-center") == ["病児保育はどこ"]  # any cited project, not only the first
    assert texts(project="care") == []  # whole ids only
    assert texts(q="タク") == ["タクシー"]
    assert texts(q="%") == []  # wildcards are text
    # JST days: NOW is 00:30 on 12-02 in Japan; an hour and two hours earlier were still 12-01.
    assert texts(since=date(2026, 12, 2)) == ["病児保育はどこ"]
    assert texts(until=date(2026, 12, 1), since=date(2026, 12, 1)) == ["タクシー", "weather?"]
    assert texts(until=date(2026, 11, 30)) == ["電車"]

    first = queries.list_questions(session, QuestionFilter(), page=1, per_page=3)
    second = queries.list_questions(session, QuestionFilter(), page=2, per_page=3)
    assert len(first.items) == 3 and [q.question for q in second.items] == ["電車"] and second.total == 4
    record = first.items[0]
    assert record.cited_ids == ["sick-child-care", "family-support-center"] and record.asked_at.tzinfo is not None


def test_the_filter_rejects_what_is_not_a_project_id() -> None:
    with pytest.raises(ValueError):
        QuestionFilter(project="x' OR 1=1")


def test_unanswered_groups_near_duplicates_most_frequent_first(engine: Engine, session: Session) -> None:
    add(
        engine,
        row("パスポートの申請はどこでできますか", at=NOW - timedelta(minutes=1)),
        row("パスポートの申請はどこ？", at=NOW - timedelta(minutes=2)),
        row("パスポートの申請はどこでできますか？", at=NOW - timedelta(minutes=3), lang="ja-easy"),
        row("ごみの収集日は何曜日", at=NOW - timedelta(minutes=4)),
        row("ゴミの収集日は何曜日ですか", at=NOW - timedelta(minutes=5)),
        row("今日の天気", at=NOW - timedelta(minutes=6)),
        # answered, weakly: listed as low-confidence
        row("タクシーの割引", cited=("shared-taxi",), confidence=0.7, at=NOW - timedelta(minutes=7)),
        # answered well, or a follow-up: not listed
        row("病児保育", cited=("sick-child-care",), confidence=0.99),
        row("それはどこ？", cited=("sick-child-care",), confidence=0.3, follow_up=True),
    )
    result = queries.unanswered(session, QuestionFilter(), below=0.75)
    assert result.questions == 7 and result.total_groups == 4
    assert queries.unanswered(session, QuestionFilter(), below=0.75, limit=1).total_groups == 4
    summary = [(g.count, g.question) for g in result.groups]
    assert summary[0][0] == 3 and "パスポート" in summary[0][1]
    assert summary[1][0] == 2 and "収集日" in summary[1][1]
    assert sorted(summary[2:]) == [(1, "タクシーの割引"), (1, "今日の天気")]
    passport = result.groups[0]
    assert passport.abstained == 3 and passport.low_confidence == 0 and passport.langs == {"ja": 2, "ja-easy": 1}
    assert [e.question for e in passport.examples][0] == "パスポートの申請はどこでできますか"
    taxi = next(g for g in result.groups if g.question == "タクシーの割引")
    assert taxi.low_confidence == 1 and taxi.abstained == 0
    assert queries.unanswered(session, QuestionFilter(channel="widget"), below=0.75).groups == []


def test_grouping_keeps_unrelated_questions_apart() -> None:
    pairs = [
        ("病児保育について教えて", "手話講座について教えて"),
        ("デマンドタクシーの料金", "上信電鉄の料金"),
        ("ごみの収集日", "下水道の料金"),
        ("びょうじほいくについておしえて", "しゅわこうざについておしえて"),
        ("where can I get sick child care", "where can I learn sign language"),
    ]
    for a, b in pairs:
        grams_a = queries._bigrams(queries.normalize_for_grouping(a))
        grams_b = queries._bigrams(queries.normalize_for_grouping(b))
        assert queries._similar(grams_a, grams_b) < queries.GROUPING_SIMILARITY, (a, b)


def test_feedback_summary_counts_per_project_and_lists_unhelpful_answers(engine: Engine, session: Session) -> None:
    add(
        engine,
        row("病児保育", cited=("sick-child-care",), answer_id="q1"),
        row("病児保育の場所", cited=("sick-child-care",), answer_id="q2"),
        row("タクシー", cited=("shared-taxi",), answer_id="q3"),
        row("天気", answer_id="q4"),
        Feedback(answer_id="q1", helpful=True, comment=None, created_at=NOW),
        Feedback(answer_id="q2", helpful=False, comment="場所が載っていない", created_at=NOW + timedelta(minutes=1)),
        Feedback(answer_id="q4", helpful=False, comment=None, created_at=NOW),
    )
    summary = queries.feedback_summary(session, QuestionFilter())
    assert (summary.votes, summary.helpful, summary.unhelpful) == (3, 1, 2)
    per = {p.project_id: (p.questions, p.helpful, p.unhelpful) for p in summary.by_project}
    assert per == {"sick-child-care": (2, 1, 1), "shared-taxi": (1, 0, 0), None: (1, 0, 1)}
    assert [(a.answer_id, a.question, a.comment) for a in summary.unhelpful_answers] == [
        ("q2", "病児保育の場所", "場所が載っていない"),
        ("q4", "天気", None),
    ]


def test_csv_has_a_bom_a_header_and_escapes_formulas(engine: Engine, session: Session) -> None:
    add(
        engine,
        row('病児保育, "どこ"', cited=("sick-child-care", "family-support-center"), answer_id="q1"),
        row('=HYPERLINK("http://evil")', answer_id="q2", at=NOW - timedelta(minutes=1)),
        Feedback(answer_id="q1", helpful=True, comment="ありがとう", created_at=NOW),
    )
    data = "".join(queries.csv_chunks(queries.iter_questions(session, QuestionFilter()), rows_per_chunk=1))
    assert data.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(data.removeprefix("\ufeff"))))
    assert tuple(rows[0]) == queries.CSV_COLUMNS
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["question"] == '病児保育, "どこ"' and first["cited_ids"] == "sick-child-care family-support-center"
    assert first["asked_at_jst"] == NOW.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S") == "2026-12-02 00:30:00"
    assert first["helpful"] == "true" and first["comment"] == "ありがとう" and first["abstained"] == "false"
    second = dict(zip(rows[0], rows[2], strict=True))
    assert second["question"].startswith("'=HYPERLINK")
    assert len(rows) == 3


def test_overview_counts_today_and_the_week(engine: Engine, session: Session) -> None:
    add(
        engine,
        row("病児保育", cited=("sick-child-care",), channel="widget"),
        row("天気", lang="en", channel="line", at=NOW - timedelta(minutes=10)),
        row("タクシー", cited=("shared-taxi",), at=NOW - timedelta(days=2)),
        row("old", at=NOW - timedelta(days=20)),
    )
    result = queries.overview(session, below=0.75, now=NOW)
    assert result.today.total == 2 and result.today.by_channel == {"widget": 1, "line": 1}
    assert result.week.total == 3 and result.week.by_lang == {"ja": 2, "en": 1} and result.week.abstained == 1
    assert [g.question for g in result.unanswered.groups] == ["天気"]
    assert result.today.since == datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # midnight JST
