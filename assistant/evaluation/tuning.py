"""Choose the fusion, the abstention threshold, the follow-up model and the list width by measurement.

``assistant tune`` runs the tuning questions (``eval/tuning/``, never the held-out
``eval/questions/``) through the retrievers and:

1. scores every fusion candidate (dense only, lexical only, reciprocal-rank fusion, and
   dense + w × lexical coverage for a grid of w) by hit@1 on in-scope questions, MRR breaking
   ties, and keeps the best;
2. fits the confidence model (a scikit-learn logistic regression over
   :data:`assistant.search.confidence.FEATURES`) with in-scope questions as positives and
   out-of-scope ones as negatives;
3. picks the threshold that abstains on the most out-of-scope questions while wrongly
   abstaining on at most ``max_false_abstention`` of the in-scope ones (a long message counts by
   its most confident sentence, as the service reads it);
4. fits the follow-up model on the conversation turns: whether a turn depends on the
   conversation's project (:data:`assistant.search.confidence.FOLLOW_FEATURES`);
5. picks the width of list answers that best matches the list questions' expected sets.

It writes the result, with what it measured, to the parameters file the service reads. The
statistics (logistic regression, AUC, ROC thresholds) are scikit-learn's; inference applies the
stored coefficients.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from assistant.answering.language import Language, detect
from assistant.answering.service import Assistant, sentences
from assistant.evaluation.questions import EvalQuestion
from assistant.search.confidence import FOLLOW_FEATURES, features, fit_logistic
from assistant.search.params import RetrievalParams
from assistant.search.readings import mostly_kana
from assistant.search.retrievers import Fusion, Retrieval

LINEAR_WEIGHTS = [round(0.25 * i, 2) for i in range(0, 17)]  # 0 … 4
RRF_KS = [5, 20, 60]
LIST_MARGINS = [round(0.01 * i, 2) for i in range(0, 31)]
MAX_FALSE_ABSTENTION = 0.025
"""In-scope tuning questions the threshold may refuse (counted as here: a question by its most
confident sentence): the smallest bound at which the tuning set's out-of-scope refusals, as
``assistant eval --questions eval/tuning/`` counts them (the whole answer path), reach the 92%
target. That eval gave 91.0% at 0.02; 92.5% at 0.025, with 2.7% of answerable questions refused;
93.6% at 0.03, with 3.0% (2026-11-30)."""
Floats = npt.NDArray[np.float64]


@dataclass
class _Scored:
    """One question's raw scores: the whole text and each of its sentences (dense, lexical, negative, ceiling)."""

    question: EvalQuestion
    texts: list[Retrieval]
    japanese: bool


def _hit_and_rr(fused: Floats, expected: list[int]) -> tuple[float, float]:
    order = list(np.argsort(-fused, kind="stable"))
    rank = min(order.index(e) for e in expected) + 1
    return float(order[0] in expected), 1.0 / rank


def _with_fused(retrieval: Retrieval, fused: Floats) -> Retrieval:
    return replace(retrieval, fused=fused, order=[int(i) for i in np.argsort(-fused, kind="stable")])


def _query(assistant: Assistant, question: str) -> tuple[str, Language]:
    """The question as the service searches it (romaji turned into kana), and its language."""
    language = detect(question, parser=assistant.analyzer.parse)
    return language.kana or question, language


def tune(
    assistant: Assistant,
    questions: list[EvalQuestion],
    *,
    max_false_abstention: float = MAX_FALSE_ABSTENTION,
    fusions: list[Fusion] | None = None,
) -> RetrievalParams:
    """Measure the candidates on ``questions`` and return the best parameters (the assistant is left as it was).

    Args:
        assistant: a loaded assistant (its index and model are what is tuned for).
        questions: the tuning questions.
        max_false_abstention: tolerated share of in-scope tuning questions refused.
        fusions: consider only these fusion methods (all when None).
    """
    from sklearn.metrics import roc_auc_score

    started = time.perf_counter()
    retriever = assistant.retriever
    position = {pid: i for i, pid in enumerate(assistant.index.project_ids)}
    standalone = [q for q in questions if not q.follow_up_of and q.kind != "town_list"]
    scored = []
    for question in standalone:
        query, language = _query(assistant, question.question)
        japanese = language.japanese
        # As the service reads it (Assistant.evidence): the whole, each sentence of a long message, kana
        # written with the corpus's words and the question without what it negates when those differ
        # (the more confident counts).
        spelled = assistant.readings.spelled(query) if mostly_kana(query) else query
        affirmed = assistant.negations.without(query) if japanese else query
        texts = list(dict.fromkeys([query, *sentences(query), spelled, affirmed]))
        named = [
            replace(r, named=assistant.names.named(t)) for r, t in zip(retriever.search_many(texts), texts, strict=True)
        ]
        scored.append(_Scored(question, named, japanese))
    inside = [s for s in scored if s.question.in_scope]

    candidates: list[tuple[Fusion, float, int]] = [("dense", 0.0, 60), ("lexical", 0.0, 60)]
    candidates += [("rrf", 0.0, k) for k in RRF_KS] + [("linear", w, 60) for w in LINEAR_WEIGHTS if w > 0]
    if fusions is not None:
        candidates = [c for c in candidates if c[0] in fusions]
    table: list[dict[str, Any]] = []
    for fusion, weight, k in candidates:
        retriever.fusion, retriever.lexical_weight, retriever.rrf_k = fusion, weight, k
        whole = [s.texts[0] for s in inside]
        hits, rrs = zip(
            *(
                _hit_and_rr(retriever.fuse(r.dense, r.lexical), [position[e] for e in s.question.expected])
                for r, s in zip(whole, inside, strict=True)
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

    fused = [[_with_fused(r, retriever.fuse(r.dense, r.lexical)) for r in s.texts] for s in scored]
    x = np.array([features(rs[0], japanese=s.japanese) for rs, s in zip(fused, scored, strict=True)])
    y = np.array([1.0 if s.question.in_scope else 0.0 for s in scored])
    model = fit_logistic(x, y)
    # As the service reads a long message: by its most confident sentence.
    p = np.array(
        [
            max(model.probability(features(r, japanese=s.japanese)) for r in rs)
            for rs, s in zip(fused, scored, strict=True)
        ]
    )
    threshold, far, recall = _threshold(p, y, max_false_abstention)

    tuned = RetrievalParams(
        fusion=best["fusion"],
        lexical_weight=best["weight"],
        rrf_k=best["rrf_k"],
        confidence=model,
        threshold=threshold,
        list_margin=assistant.params.list_margin,
        related_margin=assistant.params.related_margin,
        max_list=assistant.params.max_list,
    )
    original = assistant.params
    assistant.params = tuned
    try:
        follow, follow_measured = _follow_model(assistant, questions)
        list_margin = _list_margin(assistant, [s for s in scored if s.question.kind == "list"], fused, scored)
    finally:
        assistant.params = original
        retriever.fusion, retriever.lexical_weight, retriever.rrf_k = (
            original.fusion,
            original.lexical_weight,
            original.rrf_k,
        )
    return tuned.model_copy(
        update={
            "follow_up": follow,
            "list_margin": list_margin,
            "measured": {
                "command": "assistant tune",
                "date": time.strftime("%Y-%m-%d", time.gmtime()),
                "model": assistant.index.manifest.model,
                "backend": assistant.embedder.backend,
                "questions": len(scored),
                "in_scope": len(inside),
                "out_of_scope": len(scored) - len(inside),
                "fusion_candidates": table,
                "chosen": best,
                "max_false_abstention": max_false_abstention,
                "tuning_false_abstention_rate": round(far, 4),
                "tuning_abstention_recall": round(recall, 4),
                "confidence_auc": round(float(roc_auc_score(y, p)), 4),
                "dense_top_auc": round(float(roc_auc_score(y, x[:, 0])), 4),
                **follow_measured,
                "seconds": round(time.perf_counter() - started, 1),
            },
        }
    )


def _threshold(p: Floats, y: Floats, max_far: float) -> tuple[float, float, float]:
    """The threshold with the best out-of-scope recall whose false-abstention rate stays within ``max_far``.

    Candidates are the ROC curve's thresholds (scikit-learn). Returns (threshold, false-abstention
    rate, out-of-scope recall), the rates measured at the returned threshold.
    """
    from sklearn.metrics import roc_curve

    def rates(t: float) -> tuple[float, float]:
        return float(np.mean(p[y == 1] < t)), float(np.mean(p[y == 0] < t))

    _, _, cuts = roc_curve(y, p)
    chosen, best_recall = 0.0, -1.0
    for t in sorted({float(min(c, 1.0)) for c in cuts} | {0.0}):
        far, recall = rates(t)
        if far <= max_far and recall >= best_recall:
            chosen, best_recall = t, recall
    # Leave a margin: halfway down to the next in-scope probability below the cut, so an
    # in-scope question a little less sure than any seen in tuning is not refused.
    below = p[(y == 1) & (p < chosen)]
    if below.size:
        chosen = (chosen + float(below.max())) / 2
    far, recall = rates(chosen)
    return round(chosen, 6), far, recall


def _previous_project(question: EvalQuestion, by_id: dict[str, EvalQuestion]) -> str | None:
    """The project the conversation was about before this turn (the last earlier turn that had one)."""
    turn = by_id.get(question.follow_up_of or "")
    while turn is not None:
        if turn.expected:
            return turn.expected[0]
        turn = by_id.get(turn.follow_up_of or "")
    return None


def _follow_model(assistant: Assistant, questions: list[EvalQuestion]) -> tuple[Any, dict[str, Any]]:
    """Fit P(turn depends on the conversation's project) on the tuning conversations' later turns."""
    from sklearn.metrics import roc_auc_score

    by_id = {q.id: q for q in questions}
    rows, labels = [], []
    for turn in questions:
        previous_id = _previous_project(turn, by_id) if turn.follow_up_of else None
        if previous_id is None:
            continue
        previous = assistant.index.project_ids.index(previous_id)
        query, language = _query(assistant, turn.question)
        # Read as Assistant.ask reads it: a sentence asking for another language is not the question.
        read = assistant.read_turn(turn.question, query, language, previous)
        if read.only_language:
            continue  # answered with the conversation's project, without the model
        asked = assistant.turn_cues.aspect(read.text) or assistant.turn_cues.aspect(read.query)
        rows.append(assistant.follow_signals(read.text, read.query, read.evidence, previous, asked))
        labels.append(1.0 if turn.expected[:1] == [previous_id] else 0.0)
    if len(set(labels)) < 2:
        return None, {"follow_turns": len(labels)}
    x, y = np.array(rows), np.array(labels)
    model = fit_logistic(x, y, features=FOLLOW_FEATURES)
    p = model.probabilities(x)
    accuracy = float(np.mean((p >= 0.5) == (y == 1)))
    return model, {
        "follow_turns": len(labels),
        "follow_positive": int(y.sum()),
        "follow_auc": round(float(roc_auc_score(y, p)), 4),
        "follow_accuracy": round(accuracy, 4),
    }


def _list_margin(
    assistant: Assistant, lists: list[_Scored], fused: list[list[Retrieval]], scored: list[_Scored]
) -> float:
    """The margin whose list answers best match the expected sets (mean F1)."""
    if not lists:
        return assistant.params.list_margin
    by_question = {id(s): rs[0] for s, rs in zip(scored, fused, strict=True)}
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
