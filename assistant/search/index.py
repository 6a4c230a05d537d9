"""Build, store and load the search index.

A build writes a new folder ``index/<version>/`` holding:

- ``vectors.faiss``: the dense passages' vectors (inner product on unit vectors; a flat
  index is exact and fast at this size: HNSW or IVF pay off only past ~100k vectors);
- ``bm25/``: BM25 (bm25s) over the fugashi tokens of one document per project;
- ``negatives.faiss`` / ``negatives.jsonl``: examples of topics no project covers, whose
  closeness to a question is one of the abstention signals;
- ``negatives_bm25/`` / ``negatives_documents.jsonl``: BM25 over one document per such topic (its
  example questions), so a question sharing more words with a topic no project covers than with
  any project is seen as one (no folder when the corpus lists no such topic);
- ``passages.jsonl`` and ``documents.jsonl``: what was indexed, with project ids;
- ``corpus/``: a copy of the corpus files it was built from, so a server serves exactly what
  was published whatever staff are editing in ``corpus/`` meanwhile;
- ``manifest.json``: corpus digest, model id and fingerprint, the embedding backend and its
  precision (``onnx``/``torch``, ``fp32``/``int8``: vectors differ slightly between them),
  dimension, counts, build time.

A version is built in a hidden folder and renamed into place whole, then made current through
:mod:`assistant.search.versions` (``CURRENT`` replaced atomically, history, pruning), so a server
or a second build never sees a half-written index. Loading a version loads its own corpus copy
(validated, checked against the manifest's digest) and refuses a version built with another
model, or by an older assistant, with a message that says why.

Example::

    path = build_index(settings.index_dir, load_corpus(settings.corpus_dir), embedder)
    index = load_index(settings.index_dir, model=settings.model_spec, backend="onnx")
    index.corpus.projects["sick-child-care"]      # the corpus that version was built from
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.documents import Document

from assistant.corpus import Corpus, corpus_digest, corpus_files, load_corpus
from assistant.errors import CorpusError, IndexError_, StaleIndexError
from assistant.model.embeddings import Embedder, Vectors
from assistant.model.fingerprint import model_fingerprint
from assistant.search.documents import DOCUMENTS_VERSION, build_documents, negative_documents
from assistant.search.tokens import TextAnalyzer
from assistant.search.versions import BUILDING, activate
from assistant.search.versions import CURRENT as CURRENT  # re-exported: callers knew them from here
from assistant.search.versions import current_version as current_version

ANALYZER_VERSION = 3
"""Bump when the lexical tokens change: older indexes become stale."""
INDEX_FORMAT = 4
"""Bump when a version folder's layout or its vectors change (2: it carries its corpus; 3: BM25 over
out-of-scope topics; 4: int8 embeds each passage alone). A build reuses the passage vectors of an index
of the same format, model and backend only."""
CORPUS_SNAPSHOT = "corpus"


@dataclass(frozen=True)
class Manifest:
    """What an index was built from, and when."""

    version: str
    built_at: str
    build_seconds: float
    corpus_digest: str
    model: str
    model_fingerprint: str
    dimension: int
    projects: int
    passages: int
    negatives: int
    documents_version: int
    analyzer_version: int
    project_ids: list[str]
    index_format: int = 1  # manifests written before the field existed are format 1
    backend: str = "torch"
    """The engine that embedded the passages (indexes older than this field were all built with torch)."""
    quantization: str = "fp32"

    @property
    def backend_label(self) -> str:
        """``torch``, ``onnx`` or ``onnx-int8``, as :attr:`Embedder.backend` names them."""
        return self.backend if self.quantization == "fp32" else f"{self.backend}-{self.quantization}"

    def problems_against(
        self, *, corpus_digest: str | None, model: str, model_fingerprint: str, backend: str | None = None
    ) -> list[str]:
        """Why this index does not fit the corpus, model and backend configured now (empty if it fits).

        ``corpus_digest`` None skips the corpus check: a server serves the version's own corpus.
        ``backend`` is the configured engine's label (``onnx``, ``onnx-int8``, ``torch``); None
        skips that check (for callers that only inspect an index).
        """
        problems = []
        if corpus_digest is not None and self.corpus_digest != corpus_digest:
            problems.append("the corpus has changed since it was built")
        if self.model != model:
            problems.append(f"it was built with the model {self.model!r}, but {model!r} is configured")
        elif self.model_fingerprint != model_fingerprint:
            problems.append(f"the model {model!r} has changed since it was built")
        if backend is not None and self.backend_label != backend:
            problems.append(
                f"it was built with the {self.backend_label} embedding backend, but {backend} is configured "
                "(ASSISTANT_EMBEDDING_BACKEND); vectors differ slightly between backends"
            )
        if (
            self.documents_version != DOCUMENTS_VERSION
            or self.analyzer_version != ANALYZER_VERSION
            or self.index_format != INDEX_FORMAT
        ):
            problems.append("it was built by an older version of the assistant")
        return problems


@dataclass
class SearchIndex:
    """A loaded index version: FAISS vectors, BM25, and the corpus they were built from."""

    manifest: Manifest
    path: Path
    corpus: Corpus
    project_ids: list[str]
    passages: list[Document]
    passage_project: np.ndarray[Any, np.dtype[np.int64]]
    documents: list[Document]
    document_frequency: dict[str, int]
    vectors: Any  # faiss.Index
    bm25: Any  # bm25s.BM25
    negatives: Any  # faiss.Index of out-of-scope examples
    negative_topics: list[str]
    negative_bm25: Any  # bm25s.BM25 over one document per out-of-scope topic; None when there is none
    negative_frequency: dict[str, int]
    negative_topic_ids: list[str]
    """The out-of-scope topics in ``negative_bm25``'s document order."""
    example_mask: np.ndarray[Any, np.dtype[np.bool_]] = field(init=False, repr=False)
    """Which passages are resident-style questions (examples), as opposed to names and summaries."""
    passage_vectors: np.ndarray[Any, np.dtype[np.float32]] = field(init=False, repr=False)
    """The passages' vectors as one matrix (a copy of the flat FAISS index's, 2.4 MB), row by passage."""
    lexical: BM25Table = field(init=False, repr=False)
    """``bm25``'s scores, one dense row per token."""
    negative_lexical: BM25Table | None = field(init=False, repr=False)
    """``negative_bm25``'s, likewise (None without it)."""
    example_rows: np.ndarray[Any, np.dtype[np.int64]] = field(init=False, repr=False)
    """The passages that are examples, by position."""

    def __post_init__(self) -> None:
        self.example_mask = np.array(
            [str(p.metadata.get("field", "")).startswith("example") for p in self.passages], dtype=bool
        )
        self.passage_vectors = self.vectors.reconstruct_n(0, self.vectors.ntotal)
        self.example_rows = np.flatnonzero(self.example_mask)
        self._by_project = _Groups(self.passage_project)
        self._examples_by_project = _Groups(self.passage_project[self.example_rows])
        self.lexical = BM25Table(self.bm25)
        self.negative_lexical = BM25Table(self.negative_bm25) if self.negative_bm25 is not None else None

    def best_per_project(self, values: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Each project's highest value among its passages' ``values`` (one per passage; -1 without any)."""
        return self._by_project.maximum(values, len(self.project_ids))

    def best_example_per_project(self, values: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.float64]]:
        """The same among its examples, ``values`` given for :attr:`example_rows` only."""
        return self._examples_by_project.maximum(values, len(self.project_ids))

    @property
    def lexical_documents(self) -> int:
        """How many documents BM25 scores (one per project)."""
        return len(self.documents)


class _Groups:
    """Rows grouped by owner, for a per-owner maximum in one ``np.maximum.reduceat``."""

    def __init__(self, owners: np.ndarray[Any, np.dtype[np.int64]]) -> None:
        self.order = np.argsort(owners, kind="stable")
        ordered = owners[self.order]
        self.starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if len(ordered) else ordered
        self.owners = ordered[self.starts]

    def maximum(self, values: np.ndarray[Any, Any], size: int) -> np.ndarray[Any, np.dtype[np.float64]]:
        out = np.full(size, -1.0)
        if len(self.order):
            out[self.owners] = np.maximum.reduceat(values[self.order], self.starts)
        return out


class BM25Table:
    """A bm25s index's precomputed scores as one dense row per token (vocabulary × documents).

    ``get_scores`` gives what ``bm25s.BM25.get_scores`` gives, bit for bit: the rows of the
    question's known tokens added in the question's order, in the index's own dtype. bm25s adds
    each token's postings with ``np.add.at``, which a py-spy profile of the server under 16 clients
    put at a tenth of its samples; with a few dozen documents the dense table is small
    (vocabulary × documents floats).
    """

    def __init__(self, bm25: Any) -> None:
        scores = bm25.scores
        indptr = np.asarray(scores["indptr"])
        indices = np.asarray(scores["indices"])
        data = np.asarray(scores["data"])
        tokens = len(indptr) - 1
        self.documents = int(scores["num_docs"])
        self.dtype = np.dtype(bm25.dtype)
        self.k1 = float(bm25.k1)
        self.rows = np.zeros((tokens, self.documents), dtype=self.dtype)
        self.rows[np.repeat(np.arange(tokens), np.diff(indptr)), indices] = data
        self.vocabulary: dict[str, int] = dict(bm25.vocab_dict)
        self.nonoccurrence = getattr(bm25, "nonoccurrence_array", None)

    def get_scores(self, tokens: list[str]) -> np.ndarray[Any, Any]:
        """Each document's BM25 score for ``tokens`` (tokens the index never saw count for nothing)."""
        ids = [self.vocabulary[token] for token in tokens if token in self.vocabulary]
        scores = np.zeros(self.documents, dtype=self.dtype)
        for token in ids:
            scores += self.rows[token]
        if self.nonoccurrence is not None:
            scores += self.nonoccurrence[np.asarray(ids, dtype=np.int64)].sum()
        return scores


def _bm25(analyzer: TextAnalyzer, documents: list[Document]) -> tuple[Any, dict[str, int]]:
    """BM25 over the documents' tokens, and each token's document frequency (for the question's ceiling).

    (None, {}) when the documents hold no token at all (no out-of-scope topic, or only examples made
    of words BM25 drops: bm25s cannot index an empty vocabulary).
    """
    import bm25s

    doc_tokens = [analyzer.tokens(doc.page_content) for doc in documents]
    if not any(doc_tokens):
        return None, {}
    bm25 = bm25s.BM25()
    bm25.index(doc_tokens, show_progress=False)
    frequency: dict[str, int] = {}
    for tokens in doc_tokens:
        for token in set(tokens):
            frequency[token] = frequency.get(token, 0) + 1
    return bm25, frequency


def _write_jsonl(path: Path, documents: list[Document]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for doc in documents:
            handle.write(json.dumps({"text": doc.page_content, "metadata": doc.metadata}, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[Document]:
    with path.open(encoding="utf-8") as handle:
        return [Document(page_content=row["text"], metadata=row["metadata"]) for row in map(json.loads, handle)]


def _known_vectors(index_dir: Path, fingerprint: str, backend: str) -> dict[str, Vectors]:
    """Passage vectors of the current index, if it was built with the same model, backend and index format:
    text → vector.

    A staff edit to one project then re-embeds only the passages that changed.
    """
    import faiss

    try:
        path = current_version(index_dir)
        manifest = read_manifest(path)
    except IndexError_:
        return {}
    if (
        manifest.model_fingerprint != fingerprint
        or manifest.backend_label != backend
        or manifest.index_format != INDEX_FORMAT
    ):
        return {}
    known: dict[str, Vectors] = {}
    for name in ("vectors", "negatives"):
        try:
            stored = faiss.read_index(str(path / f"{name}.faiss"))
            docs = _read_jsonl(path / ("passages.jsonl" if name == "vectors" else "negatives.jsonl"))
        except (OSError, RuntimeError, ValueError):
            continue
        if stored.ntotal != len(docs):
            continue
        vectors = stored.reconstruct_n(0, stored.ntotal)
        known.update({doc.page_content: vectors[i] for i, doc in enumerate(docs)})
    return known


def _embed_with_progress(embedder: Embedder, texts: list[str], known: dict[str, Vectors], show: bool) -> Vectors:
    from tqdm import tqdm

    missing = sorted({t for t in texts if t not in known})
    fresh: dict[str, Vectors] = {}
    batch = embedder.batch_size
    with tqdm(total=len(missing), desc="embedding passages", unit="passage", disable=not show) as bar:
        for start in range(0, len(missing), batch):
            chunk = missing[start : start + batch]
            fresh.update(zip(chunk, embedder.encode_documents(chunk), strict=True))
            bar.update(len(chunk))
    return np.stack([fresh[t] if t in fresh else known[t] for t in texts]).astype(np.float32)


def _snapshot_corpus(corpus: Corpus, target: Path) -> None:
    """Copy the corpus files into ``target``; refuse if they no longer are what ``corpus`` was loaded from."""
    if corpus.root is None:
        raise IndexError_("cannot build an index from a corpus that was not loaded from a folder")
    for path in corpus_files(corpus.root):
        destination = target / path.relative_to(corpus.root)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
    if corpus_digest(target) != corpus.digest:
        raise IndexError_(f"the corpus in {corpus.root} changed while the index was being built: run the build again")


def build_version(
    index_dir: Path,
    corpus: Corpus,
    embedder: Embedder,
    analyzer: TextAnalyzer | None = None,
    *,
    show_progress: bool = True,
) -> Path:
    """Build a complete index version in a hidden work folder inside ``index_dir``; do not publish it.

    The folder holds everything :func:`load_version` needs (so a publish can check it first);
    :func:`install_version` renames it into place.

    Args:
        index_dir: the folder holding versions and the ``CURRENT`` pointer.
        corpus: the validated corpus, loaded from a folder (its files are copied into the version).
        embedder: the embedding model (loaded here if not yet).
        analyzer: the lexical tokenizer (a default one if None).
        show_progress: show a progress bar while embedding.

    Returns:
        The work folder (``.<version>.building-<pid>``).

    Raises:
        IndexError_: the corpus changed on disk during the build.
    """
    import faiss

    started = time.perf_counter()
    analyzer = analyzer or TextAnalyzer()
    fingerprint = model_fingerprint(embedder.model_spec)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    version = f"{stamp}-{corpus.digest[:8]}-{fingerprint[-8:]}"
    index_dir.mkdir(parents=True, exist_ok=True)
    work = index_dir / f".{version}{BUILDING}{os.getpid()}"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    try:
        # The corpus is copied first: what is indexed below is what the copy holds.
        _snapshot_corpus(corpus, work / CORPUS_SNAPSHOT)
        lexical, passages, negatives = build_documents(corpus)
        topic_documents = negative_documents(corpus)
        project_ids = list(corpus.projects)

        texts = [p.page_content for p in passages + negatives]
        known = _known_vectors(index_dir, fingerprint, embedder.backend)
        all_vectors = _embed_with_progress(embedder, texts, known, show_progress)
        vectors, negative_vectors = all_vectors[: len(passages)], all_vectors[len(passages) :]
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors)
        negative_flat = faiss.IndexFlatIP(vectors.shape[1])
        negative_flat.add(negative_vectors)

        bm25, frequency = _bm25(analyzer, lexical)
        negative_bm25, negative_frequency = _bm25(analyzer, topic_documents)

        faiss.write_index(flat, str(work / "vectors.faiss"))
        faiss.write_index(negative_flat, str(work / "negatives.faiss"))
        _write_jsonl(work / "negatives.jsonl", negatives)
        bm25.save(str(work / "bm25"), show_progress=False)
        _write_jsonl(work / "passages.jsonl", passages)
        _write_jsonl(work / "documents.jsonl", lexical)
        (work / "lexical_df.json").write_text(json.dumps(frequency, ensure_ascii=False), encoding="utf-8")
        if negative_bm25 is not None:
            negative_bm25.save(str(work / "negatives_bm25"), show_progress=False)
        _write_jsonl(work / "negatives_documents.jsonl", topic_documents)
        (work / "negatives_df.json").write_text(json.dumps(negative_frequency, ensure_ascii=False), encoding="utf-8")
        manifest = Manifest(
            version=version,
            built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            build_seconds=round(time.perf_counter() - started, 2),
            corpus_digest=corpus.digest,
            model=embedder.model_spec,
            model_fingerprint=fingerprint,
            dimension=int(vectors.shape[1]),
            projects=len(project_ids),
            passages=len(passages),
            negatives=len(negatives),
            documents_version=DOCUMENTS_VERSION,
            analyzer_version=ANALYZER_VERSION,
            project_ids=project_ids,
            index_format=INDEX_FORMAT,
            backend=embedder.engine,
            quantization=embedder.quantization,
        )
        # The manifest is written last: a folder without one is never taken for a version.
        manifest_text = json.dumps(asdict(manifest), ensure_ascii=False, indent=2)
        (work / "manifest.json").write_text(manifest_text, encoding="utf-8")
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return work


def install_version(index_dir: Path, work: Path) -> Path:
    """Rename a built work folder into place as ``index/<version>`` (atomic); returns the new folder."""
    target = index_dir / read_manifest(work).version
    if (target / "manifest.json").is_file():
        # Built in the same second from the same corpus and model: the same index. Versions are
        # immutable (a server may be loading that one), so keep it and drop the new copy.
        shutil.rmtree(work)
        return target
    os.rename(work, target)
    return target


def build_index(
    index_dir: Path,
    corpus: Corpus,
    embedder: Embedder,
    analyzer: TextAnalyzer | None = None,
    *,
    show_progress: bool = True,
) -> Path:
    """Build a new index version and make it current (no quality gate: ``assistant publish`` adds one).

    Args:
        index_dir: the folder holding versions and the ``CURRENT`` pointer.
        corpus: the validated corpus, loaded from a folder.
        embedder: the embedding model (loaded here if not yet).
        analyzer: the lexical tokenizer (a default one if None).
        show_progress: show a progress bar while embedding.

    Returns:
        The new version's folder.
    """
    work = build_version(index_dir, corpus, embedder, analyzer, show_progress=show_progress)
    target = install_version(index_dir, work)
    activate(index_dir, target.name, how="index build")
    return target


def read_manifest(path: Path) -> Manifest:
    """The manifest of one index version."""
    try:
        return Manifest(**json.loads((path / "manifest.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise IndexError_(f"the index manifest {path / 'manifest.json'} is unreadable ({exc}): rebuild it") from exc


def _refuse_unfit(manifest: Manifest, *, corpus_digest: str | None, model: str, backend: str | None) -> None:
    problems = manifest.problems_against(
        corpus_digest=corpus_digest, model=model, model_fingerprint=model_fingerprint(model), backend=backend
    )
    if problems:
        raise StaleIndexError(
            f"the search index {manifest.version} is stale: {'; '.join(problems)}. "
            "Run `assistant index build` (or `make run`, which rebuilds it)."
        )


def fresh_version(
    index_dir: Path, *, corpus_digest: str | None, model: str, backend: str | None = None
) -> tuple[Path, Manifest]:
    """The current index version and its manifest, checked against the corpus, model and backend configured now.

    ``corpus_digest`` None checks only the model and the assistant's version (what a server needs);
    ``backend`` None skips the embedding-backend check.

    Raises:
        IndexError_: no index, or an unreadable manifest.
        StaleIndexError: built from another corpus or model, or by an older assistant.
    """
    path = current_version(index_dir)
    manifest = read_manifest(path)
    _refuse_unfit(manifest, corpus_digest=corpus_digest, model=model, backend=backend)
    return path, manifest


def load_version(
    path: Path, *, model: str, corpus_digest: str | None = None, backend: str | None = None
) -> SearchIndex:
    """Load one index version folder with the corpus it was built from.

    Args:
        path: the version folder (or a finished work folder, before it is published).
        model: the embedding model configured now; a version built with another is refused.
        corpus_digest: when given, also refuse a version built from another corpus.
        backend: when given, refuse a version embedded by another backend (``onnx``, ``torch`` …).

    Raises:
        IndexError_: missing, unreadable or damaged (its corpus copy included).
        StaleIndexError: built with another model (or corpus), or by an older assistant.
    """
    import bm25s
    import faiss

    manifest = read_manifest(path)
    _refuse_unfit(manifest, corpus_digest=corpus_digest, model=model, backend=backend)
    try:
        corpus = load_corpus(path / CORPUS_SNAPSHOT)
    except CorpusError as exc:
        raise IndexError_(
            f"the search index {path} is damaged: its corpus copy does not validate "
            f"({'; '.join(exc.problems[:3])}): run `assistant index build`"
        ) from exc
    if corpus.digest != manifest.corpus_digest:
        raise IndexError_(f"the search index {path} is damaged: its corpus copy differs from its manifest")
    try:
        vectors = faiss.read_index(str(path / "vectors.faiss"))
        negatives = faiss.read_index(str(path / "negatives.faiss"))
        negative_topics = [doc.metadata["topic"] for doc in _read_jsonl(path / "negatives.jsonl")]
        bm25 = bm25s.BM25.load(str(path / "bm25"), show_progress=False)
        passages = _read_jsonl(path / "passages.jsonl")
        documents = _read_jsonl(path / "documents.jsonl")
        frequency = json.loads((path / "lexical_df.json").read_text(encoding="utf-8"))
        negative_topic_ids = [doc.metadata["topic"] for doc in _read_jsonl(path / "negatives_documents.jsonl")]
        negative_frequency = json.loads((path / "negatives_df.json").read_text(encoding="utf-8"))
        # Built only when the topics' examples hold some word (see _bm25).
        negative_bm25 = (
            bm25s.BM25.load(str(path / "negatives_bm25"), show_progress=False) if negative_frequency else None
        )
        positions = {pid: i for i, pid in enumerate(manifest.project_ids)}
        passage_project = np.array([positions[p.metadata["project_id"]] for p in passages], dtype=np.int64)
    except (OSError, RuntimeError, ValueError, KeyError) as exc:
        raise IndexError_(f"the search index {path} is damaged ({exc}): run `assistant index build`") from exc
    if (
        vectors.ntotal != len(passages)
        or vectors.d != manifest.dimension
        or list(corpus.projects) != manifest.project_ids
        or len(documents) != len(manifest.project_ids)
        or negative_topic_ids != [topic.id for topic in corpus.out_of_scope]
        or (negative_bm25 is not None and int(negative_bm25.scores["num_docs"]) != len(negative_topic_ids))
    ):
        raise IndexError_(f"the search index {path} is inconsistent: run `assistant index build`")
    return SearchIndex(
        manifest,
        path,
        corpus,
        list(manifest.project_ids),
        passages,
        passage_project,
        documents,
        frequency,
        vectors,
        bm25,
        negatives,
        negative_topics,
        negative_bm25,
        negative_frequency,
        negative_topic_ids,
    )


def load_index(
    index_dir: Path, *, model: str, corpus_digest: str | None = None, backend: str | None = None
) -> SearchIndex:
    """Load the current index version (see :func:`load_version`).

    Raises:
        IndexError_: missing, unreadable or damaged.
        StaleIndexError: built with another model (or, when ``corpus_digest`` is given, another corpus).
    """
    return load_version(current_version(index_dir), model=model, corpus_digest=corpus_digest, backend=backend)
