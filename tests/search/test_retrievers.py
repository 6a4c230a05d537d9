"""The retrievers are real LangChain retrievers over the real index."""

from __future__ import annotations

import json

import numpy as np
import pytest
from langchain_core.retrievers import BaseRetriever

from assistant.answering.service import Assistant
from assistant.config import ROOT

pytestmark = pytest.mark.slow


def test_dense_lexical_and_hybrid_are_langchain_retrievers(assistant: Assistant) -> None:
    hybrid = assistant.retriever
    for retriever in (hybrid, hybrid.dense, hybrid.lexical):
        assert isinstance(retriever, BaseRetriever)
        docs = retriever.invoke("子どもが熱を出して保育園に行けない")
        assert docs[0].metadata["project_id"] == "sick-child-care"
        assert len(docs) == 3 and docs[0].metadata["score"] >= docs[1].metadata["score"]
    fused = hybrid.invoke("デマンドタクシー")[0].metadata
    assert fused["project_id"] == "shared-taxi" and {"dense", "lexical"} <= set(fused)


def test_lexical_coverage_is_a_share_of_the_question(assistant: Assistant) -> None:
    lexical = assistant.retriever.lexical
    scores = lexical.project_scores("病児保育")
    assert 0 < scores.max() <= 1
    assert lexical.project_scores("量子コンピューターの原理").max() < scores.max() / 2


def test_fusion_methods(assistant: Assistant) -> None:
    import numpy as np

    hybrid = assistant.retriever.model_copy()
    dense, lexical = np.array([0.9, 0.8, 0.7]), np.array([0.0, 0.5, 0.1])
    hybrid.fusion, hybrid.lexical_weight = "linear", 1.0
    assert hybrid.fuse(dense, lexical).argmax() == 1
    hybrid.fusion = "dense"
    assert hybrid.fuse(dense, lexical).argmax() == 0
    # Reciprocal-rank fusion: Σ 1 / (k + rank + 1) over both rankings (dense ranks 0, 1, 2; lexical 2, 0, 1).
    hybrid.fusion, hybrid.rrf_k = "rrf", 60
    expected = [1 / 61 + 1 / 63, 1 / 62 + 1 / 61, 1 / 63 + 1 / 62]
    np.testing.assert_allclose(hybrid.fuse(dense, lexical), expected, rtol=1e-12)
    assert list(np.argsort(-hybrid.fuse(dense, lexical))) == [1, 0, 2]
    hybrid.rrf_k = 1  # the constant is the setting's, not a fixed 60
    np.testing.assert_allclose(hybrid.fuse(dense, lexical), [1 / 2 + 1 / 4, 1 / 3 + 1 / 2, 1 / 4 + 1 / 3], rtol=1e-12)


def test_a_repeated_question_reuses_its_scores_but_not_a_stale_fusion(assistant: Assistant) -> None:
    retriever = assistant.retriever
    retriever.clear_cache()
    calls = assistant.embedder.batcher.batches
    first = retriever.search("手話を習いたいのですが講座はありますか")
    again = retriever.search("手話を習いたいのですが講座はありますか")
    assert again.dense is first.dense and again.lexical is first.lexical, "the scores were computed twice"
    assert again.order == first.order
    assert assistant.embedder.batcher.batches <= calls + 1
    saved = retriever.fusion
    try:
        retriever.fusion = "lexical"
        lexical_only = retriever.search("手話を習いたいのですが講座はありますか")
        assert lexical_only.fused.tolist() == retriever.fuse(first.dense, first.lexical).tolist()
    finally:
        retriever.fusion = saved


def test_words_of_a_topic_no_project_covers_are_a_signal(assistant: Assistant) -> None:
    """冷蔵庫 is in the appliance-recycling topic's examples and in no project's text: a question about
    one is covered by that topic's words more than by any project's, and the confidence feature says so."""
    from assistant.search.confidence import FEATURES, features

    lexical = assistant.retriever.lexical
    fridge = lexical.analyzer.tokens("冷蔵庫と洗濯機を処分したい")
    assert lexical.negative_coverage(fridge) > 2 * lexical.coverage(fridge).max()
    wardrobe = lexical.analyzer.tokens("甘楽町で木のタンスを処分したい")
    assert lexical.coverage(wardrobe).max() > 2 * lexical.negative_coverage(wardrobe)
    assert lexical.negative_coverage([]) == 0.0

    at = FEATURES.index("negative_lexical")
    near_miss = assistant.retriever.search("冷蔵庫と洗濯機を処分したい")
    in_scope = assistant.retriever.search("甘楽町で木のタンスを処分したい")
    assert near_miss.negative_lexical == pytest.approx(lexical.negative_coverage(fridge))
    assert features(near_miss, japanese=True)[at] > 0 > features(in_scope, japanese=True)[at]


def _held_out_questions() -> list[str]:
    files = sorted((ROOT / "eval" / "questions").glob("*.jsonl"))
    return [json.loads(line)["question"] for f in files for line in f.read_text(encoding="utf-8").splitlines()]


def test_the_dense_bm25_table_gives_bm25s_own_scores_bit_for_bit(assistant: Assistant) -> None:
    index = assistant.index
    assert index.negative_bm25 is not None and index.negative_lexical is not None
    checked = 0
    for question in _held_out_questions():
        tokens = assistant.analyzer.tokens(question)
        if not tokens:
            continue
        for bm25, table in ((index.bm25, index.lexical), (index.negative_bm25, index.negative_lexical)):
            ours, theirs = table.get_scores(tokens), bm25.get_scores(tokens)
            assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs), question
        checked += 1
    assert checked > 1000
    assert not index.lexical.get_scores(["一度も出てこない語"]).any()


def test_every_passage_is_scored_as_faiss_scores_it(assistant: Assistant) -> None:
    """One matrix product over the passages replaces a FAISS search for all of them: the same cosines,
    each project's best, each project's best example, and the closest examples best first."""
    index, dense = assistant.index, assistant.retriever.dense
    n = index.vectors.ntotal
    for question in _held_out_questions()[:50]:
        vector = assistant.embedder.encode_query(question)
        scores, examples, closest = dense._passage_scores(vector)
        sims, ids = index.vectors.search(vector.reshape(1, -1), n)
        owners, values = index.passage_project[ids[0]], sims[0].astype(np.float64)
        expected = np.full(len(index.project_ids), -1.0)
        np.maximum.at(expected, owners, values)
        assert np.allclose(scores, expected, atol=1e-6), question
        mask = index.example_mask[ids[0]]
        expected_examples = np.full(len(index.project_ids), -1.0)
        np.maximum.at(expected_examples, owners[mask], values[mask])
        assert np.allclose(examples, expected_examples, atol=1e-6), question
        assert np.allclose(closest, values[mask][: len(closest)], atol=1e-6) and len(closest) == 10
        assert list(np.argsort(-scores, kind="stable")[:3]) == list(np.argsort(-expected, kind="stable")[:3])


def test_numpys_blas_runs_on_one_thread_once_an_assistant_exists(assistant: Assistant) -> None:
    from threadpoolctl import threadpool_info

    assert all(pool["num_threads"] == 1 for pool in threadpool_info() if pool["user_api"] == "blas")
