"""Build, store and load the search index.

A build writes a new folder ``index/<version>/`` holding:

- ``vectors.faiss``: the dense passages' vectors (inner product on unit vectors; a flat
  index is exact and fast at this size: HNSW or IVF pay off only past ~100k vectors);
- ``bm25/``: BM25 (bm25s) over the fugashi tokens of one document per project;
- ``negatives.faiss`` / ``negatives.jsonl``: examples of topics no project covers, whose
  closeness to a question is one of the abstention signals;
- ``passages.jsonl`` and ``documents.jsonl``: what was indexed, with project ids;
- ``manifest.json``: corpus digest, model id and fingerprint, the embedding backend and its
  precision (``onnx``/``torch``, ``fp32``/``int8``: vectors differ slightly between them),
  dimension, counts, build time.

Then ``index/CURRENT`` is replaced atomically (write a temp file, ``os.replace``), so a server
or a second build never sees a half-written index. Loading checks the manifest against the
corpus and model configured now and refuses a stale index with a message that says why.

Example::

    path = build_index(settings, corpus, embedder)
    index = load_index(settings.index_dir, corpus_digest=corpus.digest, model=settings.model_spec, backend="onnx")
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

from assistant.corpus import Corpus
from assistant.errors import IndexError_, StaleIndexError
from assistant.model.embeddings import Embedder, Vectors
from assistant.model.fingerprint import model_fingerprint
from assistant.search.documents import DOCUMENTS_VERSION, build_documents
from assistant.search.tokens import TextAnalyzer

ANALYZER_VERSION = 2
"""Bump when the lexical tokens change: older indexes become stale."""
CURRENT = "CURRENT"
KEEP_VERSIONS = 3


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
    backend: str = "torch"
    """The engine that embedded the passages (indexes older than this field were all built with torch)."""
    quantization: str = "fp32"

    @property
    def backend_label(self) -> str:
        """``torch``, ``onnx`` or ``onnx-int8``, as :attr:`Embedder.backend` names them."""
        return self.backend if self.quantization == "fp32" else f"{self.backend}-{self.quantization}"

    def problems_against(
        self, *, corpus_digest: str, model: str, model_fingerprint: str, backend: str | None = None
    ) -> list[str]:
        """Why this index does not fit the corpus, model and backend configured now (empty if it fits).

        ``backend`` is the configured engine's label (``onnx``, ``onnx-int8``, ``torch``); None
        skips that check (for callers that only inspect an index).
        """
        problems = []
        if self.corpus_digest != corpus_digest:
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
        if self.documents_version != DOCUMENTS_VERSION or self.analyzer_version != ANALYZER_VERSION:
            problems.append("it was built by an older version of the assistant")
        return problems


@dataclass
class SearchIndex:
    """A loaded index: FAISS vectors, BM25, and what they were built from."""

    manifest: Manifest
    path: Path
    project_ids: list[str]
    passages: list[Document]
    passage_project: np.ndarray[Any, np.dtype[np.int64]]
    documents: list[Document]
    document_frequency: dict[str, int]
    vectors: Any  # faiss.Index
    bm25: Any  # bm25s.BM25
    negatives: Any  # faiss.Index of out-of-scope examples
    negative_topics: list[str]
    example_mask: np.ndarray[Any, np.dtype[np.bool_]] = field(init=False, repr=False)
    """Which passages are resident-style questions (examples), as opposed to names and summaries."""

    def __post_init__(self) -> None:
        self.example_mask = np.array(
            [str(p.metadata.get("field", "")).startswith("example") for p in self.passages], dtype=bool
        )

    @property
    def lexical_documents(self) -> int:
        """How many documents BM25 scores (one per project)."""
        return len(self.documents)


def _write_jsonl(path: Path, documents: list[Document]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for doc in documents:
            handle.write(json.dumps({"text": doc.page_content, "metadata": doc.metadata}, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[Document]:
    with path.open(encoding="utf-8") as handle:
        return [Document(page_content=row["text"], metadata=row["metadata"]) for row in map(json.loads, handle)]


def _known_vectors(index_dir: Path, fingerprint: str, backend: str) -> dict[str, Vectors]:
    """Passage vectors of the current index, if it was built with the same model and backend: text → vector.

    A staff edit to one project then re-embeds only the passages that changed.
    """
    import faiss

    try:
        path = current_version(index_dir)
        manifest = read_manifest(path)
    except IndexError_:
        return {}
    if manifest.model_fingerprint != fingerprint or manifest.backend_label != backend:
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


def build_index(
    index_dir: Path,
    corpus: Corpus,
    embedder: Embedder,
    analyzer: TextAnalyzer | None = None,
    *,
    show_progress: bool = True,
) -> Path:
    """Build a new index version and make it current.

    Args:
        index_dir: the folder holding versions and the ``CURRENT`` pointer.
        corpus: the validated corpus.
        embedder: the embedding model (loaded here if not yet).
        analyzer: the lexical tokenizer (a default one if None).
        show_progress: show a progress bar while embedding.

    Returns:
        The new version's folder.
    """
    import bm25s
    import faiss

    started = time.perf_counter()
    analyzer = analyzer or TextAnalyzer()
    lexical, passages, negatives = build_documents(corpus)
    project_ids = list(corpus.projects)

    fingerprint = model_fingerprint(embedder.model_spec)
    texts = [p.page_content for p in passages + negatives]
    known = _known_vectors(index_dir, fingerprint, embedder.backend)
    all_vectors = _embed_with_progress(embedder, texts, known, show_progress)
    vectors, negative_vectors = all_vectors[: len(passages)], all_vectors[len(passages) :]
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    negative_flat = faiss.IndexFlatIP(vectors.shape[1])
    negative_flat.add(negative_vectors)

    doc_tokens = [analyzer.tokens(doc.page_content) for doc in lexical]
    bm25 = bm25s.BM25()
    bm25.index(doc_tokens, show_progress=False)
    frequency: dict[str, int] = {}
    for tokens in doc_tokens:
        for token in set(tokens):
            frequency[token] = frequency.get(token, 0) + 1

    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    version = f"{stamp}-{corpus.digest[:8]}-{fingerprint[-8:]}"
    index_dir.mkdir(parents=True, exist_ok=True)
    work = index_dir / f".{version}.building-{os.getpid()}"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    faiss.write_index(flat, str(work / "vectors.faiss"))
    faiss.write_index(negative_flat, str(work / "negatives.faiss"))
    _write_jsonl(work / "negatives.jsonl", negatives)
    bm25.save(str(work / "bm25"), show_progress=False)
    _write_jsonl(work / "passages.jsonl", passages)
    _write_jsonl(work / "documents.jsonl", lexical)
    (work / "lexical_df.json").write_text(json.dumps(frequency, ensure_ascii=False), encoding="utf-8")
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
        backend=embedder.engine,
        quantization=embedder.quantization,
    )
    (work / "manifest.json").write_text(json.dumps(asdict(manifest), ensure_ascii=False, indent=2), encoding="utf-8")
    target = index_dir / version
    if target.exists():  # two builds in the same second: keep the pointer valid, replace the folder
        shutil.rmtree(target)
    os.rename(work, target)
    _point_current(index_dir, version)
    _prune(index_dir, keep=version)
    return target


def _point_current(index_dir: Path, version: str) -> None:
    temp = index_dir / f".{CURRENT}.{os.getpid()}"
    temp.write_text(version + "\n", encoding="utf-8")
    os.replace(temp, index_dir / CURRENT)


def _prune(index_dir: Path, keep: str) -> None:
    """Remove all but the newest few versions (never the current one)."""
    versions = sorted((p for p in index_dir.iterdir() if p.is_dir() and (p / "manifest.json").is_file()), reverse=True)
    for old in versions[KEEP_VERSIONS:]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)


def current_version(index_dir: Path) -> Path:
    """The folder ``CURRENT`` names.

    Raises:
        IndexError_: no index has been built, or the pointer names a missing folder.
    """
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        raise IndexError_(f"no search index in {index_dir}: run `assistant index build` (or `make run`)")
    version = pointer.read_text(encoding="utf-8").strip()
    path = index_dir / version
    if not (path / "manifest.json").is_file():
        raise IndexError_(f"{pointer} names {version!r}, which is missing: run `assistant index build`")
    return path


def read_manifest(path: Path) -> Manifest:
    """The manifest of one index version."""
    try:
        return Manifest(**json.loads((path / "manifest.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise IndexError_(f"the index manifest {path / 'manifest.json'} is unreadable ({exc}): rebuild it") from exc


def fresh_version(
    index_dir: Path, *, corpus_digest: str, model: str, backend: str | None = None
) -> tuple[Path, Manifest]:
    """The current index version and its manifest, checked against the corpus, model and backend configured now.

    ``backend``: the configured embedding backend's label (:attr:`Embedder.backend`); None skips that check.

    Raises:
        IndexError_: no index, or an unreadable manifest.
        StaleIndexError: built from another corpus, model or backend, or by an older assistant.
    """
    path = current_version(index_dir)
    manifest = read_manifest(path)
    problems = manifest.problems_against(
        corpus_digest=corpus_digest, model=model, model_fingerprint=model_fingerprint(model), backend=backend
    )
    if problems:
        raise StaleIndexError(
            f"the search index {manifest.version} is stale: {'; '.join(problems)}. "
            "Run `assistant index build` (or `make run`, which rebuilds it)."
        )
    return path, manifest


def load_index(index_dir: Path, *, corpus_digest: str, model: str, backend: str | None = None) -> SearchIndex:
    """Load the current index after checking it fits the corpus, model and backend (see :func:`fresh_version`).

    Raises:
        IndexError_: missing or unreadable.
        StaleIndexError: built from another corpus, model or backend.
    """
    import bm25s
    import faiss

    path, manifest = fresh_version(index_dir, corpus_digest=corpus_digest, model=model, backend=backend)
    try:
        vectors = faiss.read_index(str(path / "vectors.faiss"))
        negatives = faiss.read_index(str(path / "negatives.faiss"))
        negative_topics = [doc.metadata["topic"] for doc in _read_jsonl(path / "negatives.jsonl")]
        bm25 = bm25s.BM25.load(str(path / "bm25"), show_progress=False)
        passages = _read_jsonl(path / "passages.jsonl")
        documents = _read_jsonl(path / "documents.jsonl")
        frequency = json.loads((path / "lexical_df.json").read_text(encoding="utf-8"))
    except (OSError, RuntimeError, ValueError) as exc:
        raise IndexError_(f"the search index {path} is damaged ({exc}): run `assistant index build`") from exc
    positions = {pid: i for i, pid in enumerate(manifest.project_ids)}
    passage_project = np.array([positions[p.metadata["project_id"]] for p in passages], dtype=np.int64)
    if vectors.ntotal != len(passages) or vectors.d != manifest.dimension:
        raise IndexError_(f"the search index {path} is inconsistent: run `assistant index build`")
    return SearchIndex(
        manifest,
        path,
        list(manifest.project_ids),
        passages,
        passage_project,
        documents,
        frequency,
        vectors,
        bm25,
        negatives,
        negative_topics,
    )
