"""Run question sets through the assistant and measure it honestly.

Every question goes through :meth:`Assistant.ask`, the same code path as ``/v1/ask``. A
follow-up is asked right after its earlier question in one session, as a resident would.
Out-of-scope questions count: abstaining on them is a success, answering them is a failure.

Metrics (over in-scope questions unless said otherwise):

- ``hit_at_1``: the first citation is an expected project;
- ``recall_at_3``: share of expected projects among the first three of the ranking
  (citations first, then the rest of the retrieval ranking; nothing if it abstained);
- ``mrr``: mean reciprocal rank of the first expected project in that ranking;
- ``abstention_precision``: of the questions it abstained on, the share that were out of scope;
- ``abstention_recall``: of out-of-scope questions, the share it abstained on;
- ``false_abstention_rate``: of in-scope questions, the share it wrongly abstained on;
- ``latency_p50_ms`` / ``latency_p95_ms``: time inside ``ask`` per question;
- ``conversation_turns``: of conversation turns after the first, the share answered right
  (a follow-up resolved, a switch followed, a refusal refused);
- ``two_needs_both``: of two-need questions, the share citing both projects;
- ``answer_language``: of all questions, the share answered in the question's language;
- ``town_coverage``: of questions where the resident's town is known, the share with the right
  project first and the right statement of whether it covers that town;
- ``town_list_exact``: of "what can residents of X use?" questions, the share listing exactly the
  projects that cover X;
- ``worst_lang_accuracy`` / ``worst_kind_accuracy``: the lowest accuracy of any language or kind.

A question's ``correct`` is the figure its kind is judged by: the right project first (and, for a
town question, the right coverage statement; for a list of a town's projects, exactly those), or a
refusal for a question no project answers.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from assistant.answering.service import AskResult, Assistant
from assistant.evaluation.questions import EvalQuestion


@dataclass(frozen=True)
class Outcome:
    """What came back for one question, and how it scores."""

    question: EvalQuestion
    cited: list[str]
    ranking: list[str]
    abstained: bool
    confidence: float
    follow_up: bool
    elapsed_ms: float
    answer_lang: str = ""
    covers_town: bool | None = None

    @property
    def hit(self) -> bool:
        return self.question.in_scope and bool(self.cited) and self.cited[0] in self.question.expected

    @property
    def recall_at_3(self) -> float:
        expected = self.question.expected
        return len(set(self.ranking[:3]) & set(expected)) / len(expected) if expected else 0.0

    @property
    def reciprocal_rank(self) -> float:
        for rank, pid in enumerate(self.ranking, 1):
            if pid in self.question.expected:
                return 1.0 / rank
        return 0.0

    @property
    def both_cited(self) -> bool:
        """Every expected project is cited (two needs in one message)."""
        return self.question.in_scope and set(self.question.expected) <= set(self.cited)

    @property
    def list_exact(self) -> bool:
        """Exactly the expected projects are cited (a list of a town's projects)."""
        return self.question.in_scope and set(self.question.expected) == set(self.cited)

    @property
    def lang_ok(self) -> bool:
        """The answer came in the question's language."""
        return self.answer_lang in self.question.answer_langs

    @property
    def coverage_ok(self) -> bool:
        """The right project first, and the right statement of whether it covers the resident's town."""
        return self.hit and self.covers_town is self.question.covers_town

    @property
    def correct(self) -> bool:
        """What the question's kind is judged by (see the module docstring)."""
        q = self.question
        if not q.in_scope:
            return self.abstained
        if q.kind == "town_list":
            return self.list_exact
        if q.town is not None and q.covers_town is not None:
            return self.coverage_ok
        return self.hit

    def as_dict(self) -> dict[str, Any]:
        q = self.question
        return {
            "id": q.id,
            "question": q.question,
            "lang": q.lang,
            "kind": q.kind,
            "expected": q.expected,
            "cited": self.cited,
            "ranking": self.ranking[:5],
            "abstained": self.abstained,
            "confidence": self.confidence,
            "answer_lang": self.answer_lang,
            "town": q.town,
            "covers_town": self.covers_town,
            "expected_covers_town": q.covers_town,
            "follow_up_of": q.follow_up_of,
            "correct": self.correct,
            "elapsed_ms": self.elapsed_ms,
        }


def _outcome(question: EvalQuestion, result: AskResult) -> Outcome:
    cited = [c.project_id for c in result.citations]
    ranking = [] if result.abstained else cited + [c.project_id for c in result.candidates if c.project_id not in cited]
    covers = result.citations[0].covers_town if result.citations else None
    return Outcome(
        question,
        cited,
        ranking,
        result.abstained,
        result.confidence,
        result.follow_up,
        result.elapsed_ms,
        answer_lang=result.answer_lang,
        covers_town=covers,
    )


def run_questions(
    assistant: Assistant,
    questions: list[EvalQuestion],
    *,
    progress: Callable[[Iterable[EvalQuestion]], Iterable[EvalQuestion]] | None = None,
) -> list[Outcome]:
    """Ask every question in order; each conversation's turns in one session, each turn scored.

    A question without ``follow_up_of`` starts a new session; a later turn continues the session of
    the turn it follows (which the question file puts before it).
    """
    sessions: dict[str, str] = {}
    outcomes = []
    for question in progress(questions) if progress else questions:
        session = sessions[question.follow_up_of] if question.follow_up_of else f"eval:{question.id}"
        sessions[question.id] = session
        result = assistant.ask(question.question, session_id=session, town=question.town_field)
        outcomes.append(_outcome(question, result))
    return outcomes


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0–1) by linear interpolation; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def _ratio(numerator: float, denominator: float) -> float:
    return round(numerator / denominator, 4) if denominator else 0.0


@dataclass
class Metrics:
    """The figures of one run."""

    questions: int
    in_scope: int
    out_of_scope: int
    hit_at_1: float
    recall_at_3: float
    mrr: float
    abstention_precision: float
    abstention_recall: float
    false_abstention_rate: float
    accuracy: float
    latency_p50_ms: float
    latency_p95_ms: float
    conversation_turns: float = 0.0
    two_needs_both: float = 0.0
    answer_language: float = 0.0
    town_coverage: float = 0.0
    town_list_exact: float = 0.0
    worst_lang_accuracy: float = 0.0
    worst_kind_accuracy: float = 0.0
    by_lang: dict[str, dict[str, float]] = field(default_factory=dict)
    by_kind: dict[str, dict[str, float]] = field(default_factory=dict)
    by_project: dict[str, dict[str, float]] = field(default_factory=dict)

    def headline(self) -> dict[str, float]:
        """The figures the README and the gate use."""
        return {
            "hit_at_1": self.hit_at_1,
            "recall_at_3": self.recall_at_3,
            "mrr": self.mrr,
            "abstention_precision": self.abstention_precision,
            "abstention_recall": self.abstention_recall,
            "false_abstention_rate": self.false_abstention_rate,
            "conversation_turns": self.conversation_turns,
            "two_needs_both": self.two_needs_both,
            "answer_language": self.answer_language,
            "town_coverage": self.town_coverage,
            "town_list_exact": self.town_list_exact,
            "worst_lang_accuracy": self.worst_lang_accuracy,
            "worst_kind_accuracy": self.worst_kind_accuracy,
        }


def _group(outcomes: list[Outcome], key: Callable[[Outcome], str]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        groups[key(outcome)].append(outcome)
    table = {}
    for name, members in sorted(groups.items()):
        inside = [o for o in members if o.question.in_scope]
        outside = [o for o in members if not o.question.in_scope]
        table[name] = {
            "questions": len(members),
            "accuracy": _ratio(sum(o.correct for o in members), len(members)),
            "hit_at_1": _ratio(sum(o.hit for o in inside), len(inside)),
            "abstention_recall": _ratio(sum(o.abstained for o in outside), len(outside)),
            "false_abstention_rate": _ratio(sum(o.abstained for o in inside), len(inside)),
            "answer_language": _ratio(sum(o.lang_ok for o in members), len(members)),
        }
    return table


def compute_metrics(outcomes: list[Outcome]) -> Metrics:
    """Aggregate outcomes into metrics and breakdowns by language, kind and project."""
    inside = [o for o in outcomes if o.question.in_scope]
    outside = [o for o in outcomes if not o.question.in_scope]
    abstained = [o for o in outcomes if o.abstained]
    latencies = [o.elapsed_ms for o in outcomes]
    by_project: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in inside:
        for pid in outcome.question.expected:
            by_project[pid].append(outcome)
    turns = [o for o in outcomes if o.question.follow_up_of]
    two = [o for o in outcomes if o.question.kind == "two_needs"]
    towns = [o for o in inside if o.question.town is not None and o.question.covers_town is not None]
    town_lists = [o for o in inside if o.question.kind == "town_list"]
    by_lang = _group(outcomes, lambda o: o.question.lang)
    by_kind = _group(outcomes, lambda o: o.question.kind)
    return Metrics(
        questions=len(outcomes),
        in_scope=len(inside),
        out_of_scope=len(outside),
        hit_at_1=_ratio(sum(o.hit for o in inside), len(inside)),
        recall_at_3=_ratio(sum(o.recall_at_3 for o in inside), len(inside)),
        mrr=_ratio(sum(o.reciprocal_rank for o in inside), len(inside)),
        abstention_precision=_ratio(sum(not o.question.in_scope for o in abstained), len(abstained)),
        abstention_recall=_ratio(sum(o.abstained for o in outside), len(outside)),
        false_abstention_rate=_ratio(sum(o.abstained for o in inside), len(inside)),
        accuracy=_ratio(sum(o.correct for o in outcomes), len(outcomes)),
        latency_p50_ms=round(statistics.median(latencies), 2) if latencies else 0.0,
        latency_p95_ms=round(percentile(latencies, 0.95), 2),
        conversation_turns=_ratio(sum(o.correct for o in turns), len(turns)),
        two_needs_both=_ratio(sum(o.both_cited for o in two), len(two)),
        answer_language=_ratio(sum(o.lang_ok for o in outcomes), len(outcomes)),
        town_coverage=_ratio(sum(o.coverage_ok for o in towns), len(towns)),
        town_list_exact=_ratio(sum(o.list_exact for o in town_lists), len(town_lists)),
        worst_lang_accuracy=min((row["accuracy"] for row in by_lang.values()), default=0.0),
        worst_kind_accuracy=min((row["accuracy"] for row in by_kind.values()), default=0.0),
        by_lang=by_lang,
        by_kind=by_kind,
        by_project={
            pid: {
                "questions": len(members),
                "hit_at_1": _ratio(sum(o.hit for o in members), len(members)),
                "recall_at_3": _ratio(sum(pid in o.ranking[:3] for o in members), len(members)),
            }
            for pid, members in sorted(by_project.items())
        },
    )


def failures(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """Every question answered wrongly: what was expected and what came back."""
    return [o.as_dict() for o in outcomes if not o.correct]
