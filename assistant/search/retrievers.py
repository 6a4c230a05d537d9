"""Dense, lexical and fused retrieval over projects, as LangChain ``BaseRetriever``\\ s.

- :class:`DenseRetriever`: the question's embedding against every passage (FAISS inner
  product); a project scores its best passage.
- :class:`LexicalRetriever`: BM25 over one document per project, on fugashi tokens. Scores
  are divided by the question's own BM25 ceiling (the sum of its tokens' idf × (k1 + 1)), so
  they read as "how much of the question the project covers", whatever the question's length or
  language; words the corpus never uses lower it. (bm25s's Lucene scoring leaves out the
  (k1 + 1) factor, so the share stays below 1 / (k1 + 1) = 0.4: a scale, not a probability; the
  fusion weight and the confidence model are fitted on it as it is.)
- :class:`HybridRetriever`: dense + ``lexical_weight`` × lexical coverage (or reciprocal-rank
  fusion, or one side alone, for comparison). The method and weight are chosen by measurement
  (``assistant tune``), not by hand; see ``assistant/data/retrieval_params.json``.

Each returns project-level ``Document``\\ s, best first, with ``project_id`` and the scores
in their metadata. :meth:`HybridRetriever.search` gives the same as arrays, for the service.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr

from assistant.model.embeddings import Embedder
from assistant.search.index import SearchIndex
from assistant.search.tokens import TextAnalyzer

Floats = npt.NDArray[np.float64]
Fusion = Literal["linear", "rrf", "dense", "lexical"]
NEIGHBOURS = 10
"""How many nearest resident-style questions vote on whether a question is a need no project answers."""


class _ProjectRetriever(BaseRetriever):
    """Shared plumbing: project scores → ranked project documents."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: SearchIndex
    k: int = 3

    def project_scores(self, query: str) -> Floats:  # pragma: no cover - overridden
        raise NotImplementedError

    def _documents(self, scores: Floats, extra: dict[str, Floats] | None = None) -> list[Document]:
        order = np.argsort(-scores, kind="stable")[: self.k]
        docs = []
        for position in order:
            meta: dict[str, Any] = {"project_id": self.index.project_ids[position], "score": float(scores[position])}
            for name, values in (extra or {}).items():
                meta[name] = float(values[position])
            docs.append(Document(page_content=self.index.documents[position].page_content, metadata=meta))
        return docs

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return self._documents(self.project_scores(query))


def one_blas_thread() -> None:
    """Run numpy's BLAS on one thread, for the whole process.

    The dense side scores every passage with one matrix-vector product (:meth:`DenseRetriever._passage_scores`).
    OpenBLAS splits a product that size over both cores, and its threads then wait spinning for the
    next one, taking the cores from the model and from other residents' requests: in alternating
    runs of 913 questions from 16 clients against an OpenVINO server (a scratch script, not in the
    repo), two BLAS threads gave 43–45 answers/s and one gave 73–81. Every product the server makes
    is that small; the model runtimes have their own threads.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


class DenseRetriever(_ProjectRetriever):
    """Embedding similarity; a project's score is its closest passage's cosine."""

    embedder: Embedder

    def project_scores(self, query: str) -> Floats:
        vector = self.embedder.encode_query(query)
        return self.scores_for_vector(vector)

    def negative_for_vector(self, vector: npt.NDArray[np.float32]) -> tuple[float, str | None]:
        """The closest out-of-scope example's cosine and its topic (0 and None without any)."""
        negatives = self.index.negatives
        if negatives is None or negatives.ntotal == 0:
            return 0.0, None
        sims, ids = negatives.search(vector.reshape(1, -1), 1)
        return float(sims[0][0]), self.index.negative_topics[int(ids[0][0])]

    def scores_for_vector(self, vector: npt.NDArray[np.float32]) -> Floats:
        """Per-project best-passage cosine for an already embedded question."""
        return self.project_and_example_scores(vector)[0]

    def project_and_example_scores(self, vector: npt.NDArray[np.float32]) -> tuple[Floats, Floats]:
        """Per-project best-passage cosine, and best cosine among its resident-style questions only."""
        scores, examples, _ = self._passage_scores(vector)
        return scores, examples

    def _passage_scores(self, vector: npt.NDArray[np.float32]) -> tuple[Floats, Floats, Floats]:
        """Per project, its best passage's cosine and its best example's; and the closest examples' cosines.

        Every passage is scored, so one matrix product does it; asking FAISS for all 1,601
        neighbours sorted them all, and ``np.maximum.at`` then grouped them. With the lexical side's
        :class:`~assistant.search.index.BM25Table`, retrieval without the model went from 1.0–1.5 to
        0.73–0.79 ms of CPU per question (``scripts/retrieval_cost.py``), with the same answers.
        """
        index = self.index
        values = (index.passage_vectors @ vector).astype(np.float64)
        example_values = values[index.example_rows]
        closest = np.sort(example_values)[::-1][:NEIGHBOURS]
        return index.best_per_project(values), index.best_example_per_project(example_values), closest

    def negative_share(self, vector: npt.NDArray[np.float32], closest_examples: Floats) -> float:
        """Of the question's nearest resident-style questions (projects' and out-of-scope ones together),
        the share that no project answers: a need-against-need vote, where one close topic word of a
        project's summary does not count."""
        negatives = self.index.negatives
        if negatives is None or negatives.ntotal == 0:
            return 0.0
        sims, _ = negatives.search(vector.reshape(1, -1), min(NEIGHBOURS, negatives.ntotal))
        merged = sorted([(float(v), 0) for v in closest_examples] + [(float(v), 1) for v in sims[0]], reverse=True)
        nearest = merged[:NEIGHBOURS]
        return sum(flag for _, flag in nearest) / len(nearest) if nearest else 0.0


class LexicalRetriever(_ProjectRetriever):
    """BM25 on fugashi tokens, as a share of the question's own BM25 ceiling."""

    analyzer: TextAnalyzer

    def project_scores(self, query: str) -> Floats:
        return self.coverage(self.analyzer.tokens(query))

    def coverage(self, tokens: list[str], ceiling: float | None = None) -> Floats:
        """Each project's BM25 score over the question's ceiling (0 to 0.4: see the module docstring).

        ``ceiling``: :meth:`ceiling` of these tokens, when the caller has it already.
        """
        if not tokens:
            return np.zeros(len(self.index.project_ids))
        raw = np.asarray(self.index.lexical.get_scores(tokens), dtype=np.float64)
        return raw / (self.ceiling(tokens) if ceiling is None else ceiling)

    def negative_coverage(self, tokens: list[str]) -> float:
        """How much of the question the closest topic no project covers covers lexically.

        The same measure as :meth:`coverage` (0 to 0.4), over one document per out-of-scope topic: 「冷蔵庫を
        処分したい」 shares 冷蔵庫 with the appliance-recycling topic, which no project's text has.
        """
        table = self.index.negative_lexical
        if not tokens or table is None:
            return 0.0
        ceiling = _ceiling(tokens, self.index.negative_frequency, len(self.index.negative_topic_ids), table.k1)
        return float(np.max(table.get_scores(tokens))) / ceiling

    def ceiling(self, tokens: list[str]) -> float:
        """The question's ceiling over the projects' documents: Σ idf × (k1 + 1).

        Tokens the corpus never uses count with the idf of an unseen word, so a question
        made of words no project has stays low.
        """
        return _ceiling(tokens, self.index.document_frequency, self.index.lexical_documents, self.index.lexical.k1)


def _ceiling(tokens: list[str], frequency: dict[str, int], documents: int, k1: float) -> float:
    """Σ idf × (k1 + 1) over the tokens, idf as among ``documents`` BM25 documents (the scale of coverage)."""
    total = 0.0
    for token in tokens:
        df = frequency.get(token, 0)
        total += math.log(1 + (documents - df + 0.5) / (df + 0.5)) * (k1 + 1)
    return total


@dataclass(frozen=True)
class Retrieval:
    """One question's scores over all projects (index order) and the ranking they give."""

    dense: Floats
    lexical: Floats
    fused: Floats
    order: list[int]
    negative: float = 0.0
    negative_topic: str | None = None
    ceiling: float = 0.0
    """The question's own BM25 ceiling: how much searchable content it carries (0 for 「それはどこ？」)."""
    examples: Floats | None = None
    """Per project, the closest of its resident-style questions (a need, where the summary is a topic)."""
    named: Floats | None = None
    """Per project, 1 where the question names it (its official name or an alias), else 0."""
    negative_share: float = 0.0
    """Of the question's nearest resident-style questions, the share that no project answers."""
    negative_lexical: float = 0.0
    """How much of the question the lexically closest topic no project covers covers (as :attr:`lexical`)."""

    def top(self, n: int = 1) -> list[int]:
        """Positions of the best ``n`` projects."""
        return self.order[:n]


@dataclass(frozen=True)
class _Scores:
    """One question's scores before fusion (cached per question)."""

    dense: Floats
    examples: Floats
    lexical: Floats
    negative: float
    topic: str | None
    ceiling: float
    negative_share: float
    negative_lexical: float


class HybridRetriever(_ProjectRetriever):
    """Dense and lexical scores fused per project.

    Example::

        retriever = HybridRetriever(index=index, dense=dense, lexical=lexical, lexical_weight=1.0)
        retriever.invoke("子どもが熱を出して保育園に行けない")[0].metadata["project_id"]  # 'sick-child-care'
    """

    dense: DenseRetriever
    lexical: LexicalRetriever
    fusion: Fusion = "linear"
    lexical_weight: float = 1.0
    rrf_k: int = 60
    cache_size: int = 2048
    """Questions whose dense and lexical scores are kept (LRU): a repeated question skips both sides."""

    _scores: OrderedDict[str, _Scores] = PrivateAttr(default_factory=OrderedDict)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def search(self, query: str) -> Retrieval:
        """Score every project for ``query``."""
        return self.search_many([query])[0]

    def search_many(self, queries: list[str]) -> list[Retrieval]:
        """Score every project for each query.

        Every uncached query's embedding is started at once (the batcher embeds them in one model
        call) and the lexical side computed while the model runs (the model releases the GIL), so
        an answer costs about the larger of the two. The per-side scores of recent questions are
        cached; fusion is applied on every call, so changing the fusion (as ``assistant tune``
        does) never reads a stale ranking.
        """
        with self._lock:
            found = {query: self._scores.get(query) for query in queries}
            for query, scores in found.items():
                if scores is not None:
                    self._scores.move_to_end(query)
        missing = [query for query, scores in found.items() if scores is None]
        if missing:
            embedder = self.dense.embedder
            pending = list(zip(missing, embedder.submit_queries(missing), strict=True))
            words: dict[str, tuple[Floats, float, float]] = {}
            for query in missing:
                tokens = self.lexical.analyzer.tokens(query)
                ceiling = self.lexical.ceiling(tokens)
                words[query] = (self.lexical.coverage(tokens, ceiling), ceiling, self.lexical.negative_coverage(tokens))
            for query, future in pending:
                vector = embedder.remember(query, future.result())
                dense, examples, closest = self.dense._passage_scores(vector)
                negative, topic = self.dense.negative_for_vector(vector)
                share = self.dense.negative_share(vector, closest)
                lexical, ceiling, negative_lexical = words[query]
                for array in (dense, examples, lexical):
                    array.setflags(write=False)
                found[query] = _Scores(dense, examples, lexical, negative, topic, ceiling, share, negative_lexical)
            with self._lock:
                for query in missing:
                    self._scores[query] = found[query]  # type: ignore[assignment]
                while len(self._scores) > self.cache_size:
                    self._scores.popitem(last=False)
        return [self._fused(found[query]) for query in queries]  # type: ignore[arg-type]

    def _fused(self, scores: _Scores) -> Retrieval:
        fused = self.fuse(scores.dense, scores.lexical)
        order = [int(i) for i in np.argsort(-fused, kind="stable")]
        return Retrieval(
            scores.dense,
            scores.lexical,
            fused,
            order,
            scores.negative,
            scores.topic,
            scores.ceiling,
            scores.examples,
            negative_share=scores.negative_share,
            negative_lexical=scores.negative_lexical,
        )

    def clear_cache(self) -> None:
        """Forget cached scores (so a benchmark or a comparison measures real work)."""
        with self._lock:
            self._scores.clear()

    def fuse(self, dense: Floats, lexical: Floats) -> Floats:
        """Combine the two score vectors by the configured method."""
        if self.fusion == "dense":
            return dense
        if self.fusion == "lexical":
            return lexical + 1e-6 * dense  # dense only breaks ties (e.g. all-zero lexical scores)
        if self.fusion == "rrf":
            rank_d = np.argsort(np.argsort(-dense, kind="stable"), kind="stable")
            rank_l = np.argsort(np.argsort(-lexical, kind="stable"), kind="stable")
            return np.asarray(1.0 / (self.rrf_k + rank_d + 1) + 1.0 / (self.rrf_k + rank_l + 1), dtype=np.float64)
        return dense + self.lexical_weight * lexical

    def project_scores(self, query: str) -> Floats:
        return self.search(query).fused

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        result = self.search(query)
        return self._documents(result.fused, {"dense": result.dense, "lexical": result.lexical})
