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
- ``latency_p50_ms`` / ``latency_p95_ms``: time inside ``ask`` per question.
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
    def correct(self) -> bool:
        """In scope: the right project first; out of scope: an abstention."""
        return self.hit if self.question.in_scope else self.abstained

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
            "correct": self.correct,
            "elapsed_ms": self.elapsed_ms,
        }


def _outcome(question: EvalQuestion, result: AskResult) -> Outcome:
    cited = [c.project_id for c in result.citations]
    ranking = [] if result.abstained else cited + [c.project_id for c in result.candidates if c.project_id not in cited]
    return Outcome(question, cited, ranking, result.abstained, result.confidence, result.follow_up, result.elapsed_ms)


def run_questions(
    assistant: Assistant,
    questions: list[EvalQuestion],
    *,
    progress: Callable[[Iterable[EvalQuestion]], Iterable[EvalQuestion]] | None = None,
) -> list[Outcome]:
    """Ask every question; follow-ups after their earlier question, in one session each."""
    by_id = {q.id: q for q in questions}
    outcomes = []
    for question in progress(questions) if progress else questions:
        session = f"eval:{question.id}"
        if question.follow_up_of:
            assistant.ask(by_id[question.follow_up_of].question, session_id=session)
            result = assistant.ask(question.question, session_id=session)
        else:
            result = assistant.ask(question.question)
        outcomes.append(_outcome(question, result))
    return outcomes


def _percentile(values: list[float], q: float) -> float:
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
        latency_p95_ms=round(_percentile(latencies, 0.95), 2),
        by_lang=_group(outcomes, lambda o: o.question.lang),
        by_kind=_group(outcomes, lambda o: o.question.kind),
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
