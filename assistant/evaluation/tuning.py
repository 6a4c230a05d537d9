"""Choose the fusion, the abstention threshold and the list width by measurement.

``assistant tune`` runs the tuning questions (``eval/tuning/``, never the held-out
``eval/questions/``) through the retrievers and:

1. scores every fusion candidate (dense only, lexical only, reciprocal-rank fusion, and
   dense + w × lexical coverage for a grid of w) by hit@1 on in-scope questions, MRR breaking
   ties, and keeps the best;
2. fits the confidence model (logistic regression over :data:`assistant.search.confidence.FEATURES`)
   with in-scope questions as positives and out-of-scope ones as negatives;
3. picks the threshold that abstains on the most out-of-scope questions while wrongly
   abstaining on at most ``max_false_abstention`` of the in-scope ones;
4. picks the width of list answers that best matches the list questions' expected sets.

It writes the result, with what it measured, to the parameters file the service reads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.answering.language import detect
from assistant.answering.service import Assistant
from assistant.evaluation.questions import EvalQuestion
from assistant.search.confidence import features, fit_logistic
from assistant.search.params import RetrievalParams
from assistant.search.retrievers import Fusion, Retrieval

LINEAR_WEIGHTS = [round(0.25 * i, 2) for i in range(0, 17)]  # 0 … 4
RRF_KS = [5, 20, 60]
LIST_MARGINS = [round(0.01 * i, 2) for i in range(0, 31)]


@dataclass
class _Scored:
    question: EvalQuestion
    dense: np.ndarray[Any, np.dtype[np.float64]]
    lexical: np.ndarray[Any, np.dtype[np.float64]]
    negative: float
    japanese: bool


def _hit_and_rr(fused: np.ndarray[Any, np.dtype[np.float64]], expected: list[int]) -> tuple[float, float]:
    order = list(np.argsort(-fused, kind="stable"))
    rank = min(order.index(e) for e in expected) + 1
    return float(order[0] in expected), 1.0 / rank


def tune(
    assistant: Assistant,
    questions: list[EvalQuestion],
    *,
    max_false_abstention: float = 0.03,
    fusions: list[Fusion] | None = None,
) -> RetrievalParams:
    """Measure the candidates on ``questions`` and return the best parameters (the assistant is left as it was).

    Args:
        assistant: a loaded assistant (its index and model are what is tuned for).
        questions: the tuning questions.
        max_false_abstention: tolerated share of in-scope tuning questions refused.
        fusions: consider only these fusion methods (all when None).
    """
    started = time.perf_counter()
    retriever = assistant.retriever
    position = {pid: i for i, pid in enumerate(assistant.index.project_ids)}
    standalone = [q for q in questions if not q.follow_up_of]
    scored = []
    for question in standalone:
        result = retriever.search(question.question)
        japanese = detect(question.question).answer != "en"
        scored.append(_Scored(question, result.dense, result.lexical, result.negative, japanese))
    inside = [s for s in scored if s.question.in_scope]

    candidates: list[tuple[Fusion, float, int]] = [("dense", 0.0, 60), ("lexical", 0.0, 60)]
    candidates += [("rrf", 0.0, k) for k in RRF_KS] + [("linear", w, 60) for w in LINEAR_WEIGHTS if w > 0]
    if fusions is not None:
        candidates = [c for c in candidates if c[0] in fusions]
    table: list[dict[str, Any]] = []
    for fusion, weight, k in candidates:
        retriever.fusion, retriever.lexical_weight, retriever.rrf_k = fusion, weight, k
        hits, rrs = zip(
            *(
                _hit_and_rr(retriever.fuse(s.dense, s.lexical), [position[e] for e in s.question.expected])
                for s in inside
            ),
            strict=True,
        )
        table.append(
            {
                "fusion": fusion,
                "weight": weight,
                "rrf_k": k,
                "hit_at_1": float(np.mean(hits)),
                "mrr": float(np.mean(rrs)),
            }
        )
    best = max(table, key=lambda row: (round(row["hit_at_1"], 6), round(row["mrr"], 6)))
    retriever.fusion, retriever.lexical_weight, retriever.rrf_k = best["fusion"], best["weight"], best["rrf_k"]

    retrievals = [_retrieval(retriever.fuse(s.dense, s.lexical), s) for s in scored]
    x = np.array([features(r, japanese=s.japanese) for r, s in zip(retrievals, scored, strict=True)])
    y = np.array([1.0 if s.question.in_scope else 0.0 for s in scored])
    model = fit_logistic(x, y)
    probabilities = model.probabilities(x)
    threshold, far, recall = _threshold(probabilities, y, max_false_abstention)

    list_margin = _list_margin(assistant, [s for s in scored if s.question.kind == "list"], retrievals, scored)
    params = RetrievalParams(
        fusion=best["fusion"],
        lexical_weight=best["weight"],
        rrf_k=best["rrf_k"],
        confidence=model,
        threshold=threshold,
        list_margin=list_margin,
        related_margin=assistant.params.related_margin,
        max_list=assistant.params.max_list,
        measured={
            "command": "assistant tune",
            "date": time.strftime("%Y-%m-%d", time.gmtime()),
            "model": assistant.index.manifest.model,
            "questions": len(scored),
            "in_scope": len(inside),
            "out_of_scope": len(scored) - len(inside),
            "fusion_candidates": table,
            "chosen": best,
            "tuning_false_abstention_rate": round(far, 4),
            "tuning_abstention_recall": round(recall, 4),
            "confidence_auc": round(_auc(probabilities[y == 1], probabilities[y == 0]), 4),
            "dense_top_auc": round(_auc(x[y == 1, 0], x[y == 0, 0]), 4),
            "seconds": round(time.perf_counter() - started, 1),
        },
    )
    retriever.fusion = assistant.params.fusion
    retriever.lexical_weight = assistant.params.lexical_weight
    retriever.rrf_k = assistant.params.rrf_k
    return params


def _retrieval(fused: np.ndarray[Any, np.dtype[np.float64]], scored: _Scored) -> Retrieval:
    order = [int(i) for i in np.argsort(-fused, kind="stable")]
    return Retrieval(scored.dense, scored.lexical, fused, order, scored.negative)


def _threshold(
    p: np.ndarray[Any, np.dtype[np.float64]], y: np.ndarray[Any, np.dtype[np.float64]], max_far: float
) -> tuple[float, float, float]:
    """The threshold with the best out-of-scope recall whose false-abstention rate stays within ``max_far``.

    Returns (threshold, false-abstention rate, out-of-scope recall), the rates measured at the
    returned threshold.
    """

    def rates(t: float) -> tuple[float, float]:
        return float(np.mean(p[y == 1] < t)), float(np.mean(p[y == 0] < t))

    chosen, best_recall = 0.0, -1.0
    for t in np.unique(np.concatenate([p, [0.0]])):
        far, recall = rates(float(t))
        if far <= max_far and recall >= best_recall:
            chosen, best_recall = float(t), recall
    # Leave a margin: halfway down to the next in-scope probability below the cut, so an
    # in-scope question a little less sure than any seen in tuning is not refused.
    below = p[(y == 1) & (p < chosen)]
    if below.size:
        chosen = (chosen + float(below.max())) / 2
    far, recall = rates(chosen)
    return round(chosen, 6), far, recall


def _auc(positive: np.ndarray[Any, np.dtype[np.float64]], negative: np.ndarray[Any, np.dtype[np.float64]]) -> float:
    if not len(positive) or not len(negative):
        return 0.0
    greater = (positive[:, None] > negative[None, :]).mean()
    ties = (positive[:, None] == negative[None, :]).mean()
    return float(greater + 0.5 * ties)


def _list_margin(
    assistant: Assistant, lists: list[_Scored], retrievals: list[Retrieval], scored: list[_Scored]
) -> float:
    """The margin whose list answers best match the expected sets (mean F1)."""
    if not lists:
        return assistant.params.list_margin
    by_question = {id(s): r for s, r in zip(scored, retrievals, strict=True)}
    original = assistant.params.list_margin
    best = (original, -1.0)
    for margin in LIST_MARGINS:
        assistant.params.list_margin = margin
        f1s = []
        for s in lists:
            chosen = {
                assistant.index.project_ids[i]
                for i in assistant._list_projects(assistant.named_categories(s.question.question), by_question[id(s)])
            }
            expected = set(s.question.expected)
            overlap = len(chosen & expected)
            f1s.append(2 * overlap / (len(chosen) + len(expected)) if chosen or expected else 1.0)
        if float(np.mean(f1s)) > best[1]:
            best = (margin, float(np.mean(f1s)))
    assistant.params.list_margin = original
    return best[0]
