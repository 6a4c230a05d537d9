"""``assistant tune``: the threshold search, the fitted models and what a run leaves behind."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.config import ROOT
from assistant.corpus import load_corpus
from assistant.evaluation.questions import EvalQuestion, load_questions
from assistant.evaluation.tuning import _previous_project, _threshold, tune
from assistant.search.confidence import FEATURES, FOLLOW_FEATURES, fit_logistic
from tests.conftest import CORPUS

TUNING = ROOT / "eval" / "tuning"


def test_the_threshold_refuses_the_most_out_of_scope_within_the_false_refusal_bound() -> None:
    # 100 in-scope questions, three of them unsure (0.30, 0.50, 0.60); 100 out-of-scope ones.
    inside = [0.95] * 97 + [0.30, 0.50, 0.60]
    outside = [0.10] * 50 + [0.45] * 30 + [0.70] * 20
    p = np.array(inside + outside)
    y = np.array([1.0] * 100 + [0.0] * 100)
    threshold, far, recall = _threshold(p, y, 0.02)
    # Refusing below 0.50 refuses one in-scope question (1%) and 80 out-of-scope ones; no threshold
    # within the bound refuses more of them (below 0.70 would refuse three in-scope ones). The cut
    # is then moved halfway down to the next in-scope score (0.30), so that an in-scope question a
    # little less sure than any seen is not refused; the rates are those of the cut returned.
    assert threshold == pytest.approx(0.40)
    assert far == pytest.approx(0.01) and recall == pytest.approx(0.50)
    # Refusing no in-scope question at all: below 0.30, half of the out-of-scope ones.
    assert _threshold(p, y, 0.0) == pytest.approx((0.30, 0.0, 0.50))


def test_the_stored_coefficients_give_scikit_learns_probabilities() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(7)
    x = rng.normal(size=(300, len(FEATURES)))
    y = (x[:, 0] + 0.5 * x[:, 3] + rng.normal(scale=0.5, size=300) > 0).astype(float)
    model = fit_logistic(x, y)
    scaler = StandardScaler().fit(x)
    reference = LogisticRegression(C=1.0, max_iter=1000).fit(scaler.transform(x), y)
    expected = reference.predict_proba(scaler.transform(x))[:, 1]
    assert np.allclose(model.probabilities(x), expected, atol=1e-9)
    assert model.features == list(FEATURES)


def _turn(id_: str, expected: list[str], before: str | None = None) -> EvalQuestion:
    return EvalQuestion(id=id_, question=id_, expected=expected, lang="ja", kind="follow_up", follow_up_of=before)


def test_a_turn_after_a_refused_one_still_belongs_to_the_project_before_it() -> None:
    first = _turn("a", ["sign-language-training"])
    refused = _turn("b", [], "a")
    back = _turn("c", ["sign-language-training"], "b")
    by_id = {q.id: q for q in (first, refused, back)}
    assert _previous_project(back, by_id) == "sign-language-training"
    assert _previous_project(refused, by_id) == "sign-language-training"
    assert _previous_project(first, by_id) is None


def test_a_run_fits_both_models_and_leaves_the_assistant_as_it_was(assistant) -> None:  # type: ignore[no-untyped-def]
    files = [TUNING / name for name in ("ja.jsonl", "out_of_scope.jsonl", "en.jsonl", "set2-conversations.jsonl")]
    questions = load_questions(files, set(load_corpus(CORPUS).projects))
    before = (assistant.params, assistant.retriever.fusion, assistant.retriever.lexical_weight)
    tuned = tune(assistant, questions, max_false_abstention=0.05)
    assert (assistant.params, assistant.retriever.fusion, assistant.retriever.lexical_weight) == before
    assert tuned.confidence is not None and tuned.confidence.features == list(FEATURES)
    assert tuned.follow_up is not None and tuned.follow_up.features == list(FOLLOW_FEATURES)
    assert 0.0 < tuned.threshold < 1.0
    measured = tuned.measured
    assert measured["tuning_false_abstention_rate"] <= 0.05
    assert measured["questions"] == len([q for q in questions if not q.follow_up_of])
    assert measured["confidence_auc"] > measured["dense_top_auc"] > 0.5
    # Only the fusions asked for are considered.
    dense = tune(assistant, questions, fusions=["dense"])
    assert dense.fusion == "dense" and {row["fusion"] for row in dense.measured["fusion_candidates"]} == {"dense"}
