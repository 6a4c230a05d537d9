"""Embedding models behind LangChain's ``Embeddings``: the shared plumbing and the sentence-transformers engine.

The model is a setting (``ASSISTANT_EMBEDDING_MODEL``: a hub id or a local folder); by
default the multilingual-e5-small folder that ``assistant model install`` builds. Each
model's own prompts are applied (``query: `` / ``passage: `` for e5).

Two engines share one interface, :class:`Embedder`:

- :class:`SentenceTransformerEmbeddings` (PyTorch): the reference, the fallback, and the
  loader of any model;
- :class:`~assistant.model.onnx_backend.OnnxEmbeddings` (ONNX Runtime): the same model exported
  to ONNX by ``assistant model install``, faster and without torch at serve time.

:func:`assistant.model.backends.make_embedder` picks one from the settings. Both cache query
vectors (LRU) and micro-batch concurrent queries into one model call (:class:`QueryBatcher`).

Example::

    embedder = make_embedder(get_settings())
    embedder.embed_query("子どもが熱を出して保育園に行けない")   # 384 floats, unit norm
"""

from __future__ import annotations

import os
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
from langchain_core.embeddings import Embeddings

from assistant.errors import ModelError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

Vectors = npt.NDArray[np.float32]


def _looks_like_path(spec: str) -> bool:
    """A folder, not a hub id: absolute, relative with a leading dot or tilde, or existing here."""
    return spec.startswith(("/", ".", "~")) or Path(spec).expanduser().exists()


def _hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the model hub answers a TCP connection, so an offline machine fails in seconds, not minutes."""
    import socket
    from urllib.parse import urlparse

    endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _quiet_transformers() -> None:
    """Keep progress bars and long-input notices out of the CLI's and the server's output."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]


def load_sentence_transformer(spec: str, *, threads: int = 2) -> SentenceTransformer:
    """Load a sentence-transformers model from a folder or a hub id, on the CPU.

    Args:
        spec: a local folder, or a hub id such as ``intfloat/multilingual-e5-base``.
        threads: torch intra-op threads.

    Raises:
        ModelError: one paragraph naming the model and the reason (no such folder, not a
            sentence-transformers folder, hub unreachable), never a traceback.
    """
    import torch

    torch.set_num_threads(threads)
    path = Path(spec).expanduser()
    if _looks_like_path(spec):
        if not path.is_dir():
            raise ModelError(
                f"cannot load the embedding model {spec!r}: no such folder. Run `assistant model install` for "
                "the default model, or set ASSISTANT_EMBEDDING_MODEL to an existing sentence-transformers "
                "folder or a hub id."
            )
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise ModelError(
                f"cannot load the embedding model {spec!r}: the folder holds no sentence-transformers model "
                "(no modules.json or config.json)."
            )
    _quiet_transformers()
    from sentence_transformers import SentenceTransformer

    try:
        if path.is_dir():
            return SentenceTransformer(str(path), device="cpu", local_files_only=True)
        try:  # a hub id: the local Hugging Face cache first, then the hub itself
            return SentenceTransformer(spec, device="cpu", local_files_only=True)
        except Exception:
            if os.environ.get("HF_HUB_OFFLINE") == "1" or not _hub_reachable():
                raise
            return SentenceTransformer(spec, device="cpu")
    except Exception as exc:
        reason = " ".join(str(exc).split())[:400]
        raise ModelError(
            f"cannot load the embedding model {spec!r}: it is not a local folder and is not in the local "
            "Hugging Face cache, and the model hub could not be reached (no network?). Copy the model "
            "folder to this machine and set ASSISTANT_EMBEDDING_MODEL to that folder, or leave the setting "
            f"empty to use the built-in multilingual-e5-small. Details: {reason}"
        ) from exc


Kind = Literal["query", "document"]


class QueryBatcher:
    """Gathers concurrent query embeddings into bursts, on one background thread.

    Callers :meth:`submit` a text (or :meth:`submit_many` the texts of one question, which stay
    together) and wait on the returned futures; residents' requests run in FastAPI's threadpool,
    so a burst arrives as many threads at once. The batcher thread takes the first waiting
    caller's texts and every text already queued. While a burst is on (the previous one carried
    more than one caller's texts) it also waits up to ``max_wait`` seconds for stragglers; a lone
    resident never waits, however many texts their question embeds. A burst stops before the
    caller whose texts would take it past ``max_batch`` (that caller opens the next burst); one
    caller's texts are never split. Identical texts in one burst are embedded once.

    With one ``lane`` a burst is one model call. With more, the burst is sorted by length and cut
    into runs of at most ``run_size`` texts of similar length, shortest first, which ``lanes``
    threads put through the model side by side; each caller gets its vector as soon as its run
    is done. On a small CPU one padded call is slower per text than that: a text padded to a long
    message's length costs as much as the message, and the model's own threads leave cores idle
    between small matrix products (``scripts/batching.py`` measures it).
    """

    def __init__(
        self,
        encode: Callable[[list[str]], Vectors],
        *,
        max_batch: int = 32,
        max_wait: float = 0.002,
        lanes: int = 1,
        run_size: int = 2,
        name: str = "",
    ) -> None:
        if max_batch < 1 or max_wait < 0 or lanes < 1 or run_size < 1:
            raise ValueError("max_batch, lanes and run_size must be at least 1 and max_wait not negative")
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.lanes = lanes
        self.run_size = run_size
        self.name = name or "query-batcher"
        self.batches = 0
        """Bursts gathered and embedded together (a test and the bench read it)."""
        self.runs = 0
        """Model calls made."""
        self.largest = 0
        """The most texts one burst carried."""
        self._encode = encode
        self._pool: ThreadPoolExecutor | None = None
        self._count_lock = threading.Lock()
        self._queue: queue.SimpleQueue[list[tuple[str, Future[Vectors]]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._next: list[tuple[str, Future[Vectors]]] | None = None
        """A caller's texts that did not fit in the last burst: they open the next one (batcher thread only)."""

    def submit(self, text: str) -> Future[Vectors]:
        """Queue ``text``; the future resolves to its vector (or the model's exception)."""
        return self.submit_many([text])[0]

    def submit_many(self, texts: list[str]) -> list[Future[Vectors]]:
        """Queue one caller's ``texts`` together: they go into the same burst, and count as one caller."""
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                    thread.start()
                    self._thread = thread
        group: list[tuple[str, Future[Vectors]]] = [(text, Future()) for text in texts]
        if group:
            self._queue.put(group)
        return [future for _, future in group]

    def _gather(
        self, first: list[tuple[str, Future[Vectors]]], burst: bool
    ) -> tuple[list[tuple[str, Future[Vectors]]], int]:
        """The texts of this burst, and how many callers they came from."""
        batch = list(first)
        callers = 1
        deadline = time.perf_counter() + self.max_wait
        while len(batch) < self.max_batch:
            try:
                group = self._queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.perf_counter()
                if not burst or remaining <= 0:
                    break
                try:
                    group = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            if len(batch) + len(group) > self.max_batch:
                self._next = group
                break
            batch += group
            callers += 1
        return batch, callers

    def _run(self) -> None:
        burst = False
        while True:
            first, self._next = self._next or self._queue.get(), None
            batch, callers = self._gather(first, burst)
            burst = callers > 1 or self._next is not None  # a caller left for the next burst is a burst too
            waiting: dict[str, list[Future[Vectors]]] = {}
            for text, future in batch:
                waiting.setdefault(text, []).append(future)
            try:
                self._dispatch(list(waiting), waiting)
            except BaseException as exc:  # whatever happens, no caller is left waiting
                for futures in waiting.values():
                    _settle(futures, error=exc)

    def _dispatch(self, texts: list[str], waiting: dict[str, list[Future[Vectors]]]) -> None:
        self.batches += 1
        self.largest = max(self.largest, len(texts))
        if self.lanes == 1 or len(texts) == 1:
            self._embed(texts, waiting)
            return
        shortest = sorted(texts, key=len)
        size = min(self.run_size, -(-len(texts) // self.lanes))
        runs = [shortest[start : start + size] for start in range(0, len(shortest), size)]
        jobs = []
        for run in runs:
            try:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self.lanes, thread_name_prefix=f"{self.name}-lane")
                jobs.append(self._pool.submit(self._embed, run, waiting))
            except RuntimeError:  # the interpreter is shutting down: no new lanes, embed it here
                self._embed(run, waiting)
        wait(jobs)

    def _embed(self, texts: list[str], waiting: dict[str, list[Future[Vectors]]]) -> None:
        """One model call for ``texts``; each waiting caller gets its row (or the model's exception)."""
        try:
            vectors = self._encode(texts)
            rows = [vectors[i] for i in range(len(texts))]
        except BaseException as exc:  # handed to every waiting caller, who re-raises it
            for text in texts:
                _settle(waiting[text], error=exc)
            return
        with self._count_lock:
            self.runs += 1
        for text, row in zip(texts, rows, strict=True):
            _settle(waiting[text], value=row)


def _settle(
    futures: list[Future[Vectors]], *, value: Vectors | None = None, error: BaseException | None = None
) -> None:
    """Resolve the futures not yet resolved (one a caller cancelled, or one already failed, is left as it is)."""
    for future in futures:
        if future.done():
            continue
        try:
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(value)  # type: ignore[arg-type]
        except InvalidStateError:  # resolved or cancelled in the meantime
            pass


class Embedder(Embeddings, ABC):
    """LangChain ``Embeddings`` with what the assistant needs around a model, whichever engine runs it.

    The constructor only stores the settings; the model loads on :meth:`warm_up` or first use.
    Query vectors are cached (LRU), so a repeated question costs no model call, and concurrent
    uncached queries are embedded together (:class:`QueryBatcher`). Vectors are L2-normalized
    float32 rows; cached ones are read-only and shared.
    """

    engine = ""
    """What runs the model: ``torch``, ``onnx`` or ``openvino``."""
    quantization = "fp32"
    """The precision the model computes in: ``fp32``, ``int8`` or ``bf16``."""

    def __init__(
        self,
        model_spec: str,
        *,
        threads: int = 2,
        batch_size: int = 32,
        cache_size: int = 2048,
        max_batch: int = 32,
        max_wait: float = 0.002,
        lanes: int = 1,
        run_size: int = 2,
    ) -> None:
        if not model_spec:
            raise ModelError("no embedding model given")
        self.model_spec = model_spec
        self.threads = threads
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self.batcher = QueryBatcher(
            self._encode_queries,
            max_batch=max_batch,
            max_wait=max_wait,
            lanes=lanes,
            run_size=run_size,
            name=f"{type(self).__name__}-batcher",
        )

    # ------------------------------------------------------------------ what an engine provides

    @abstractmethod
    def warm_up(self) -> None:
        """Load the model now (it is otherwise loaded on first use)."""

    @property
    @abstractmethod
    def loaded(self) -> bool:
        """Whether the model has been loaded."""

    @property
    @abstractmethod
    def dimension(self) -> int:
        """Length of each vector."""

    @property
    @abstractmethod
    def prompts(self) -> dict[str, str]:
        """The model's own prompts (e.g. ``{"query": "query: ", ...}``); empty if it has none."""

    @abstractmethod
    def encode(self, texts: list[str], kind: Kind, *, show_progress: bool = False) -> Vectors:
        """Vectors of ``texts`` as queries or documents, straight from the model (no cache, no batching)."""

    # ------------------------------------------------------------------ shared

    @property
    def backend(self) -> str:
        """``torch``, ``onnx``, ``onnx-int8`` or ``openvino-bf16``: the engine and precision, as the index
        manifest records them."""
        return self.engine if self.quantization == "fp32" else f"{self.engine}-{self.quantization}"

    def _encode_queries(self, texts: list[str]) -> Vectors:
        return self.encode(texts, "query")

    def encode_documents(self, texts: list[str], *, show_progress: bool = False) -> Vectors:
        """Passage vectors, batch-encoded, L2-normalized, float32, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.encode(list(texts), "document", show_progress=show_progress)

    def submit_query(self, text: str) -> Future[Vectors]:
        """Start embedding one query; the future holds its vector (at once when cached).

        The caller can do other work (the lexical side of retrieval) while the model runs.
        """
        return self.submit_queries([text])[0]

    def submit_queries(self, texts: list[str]) -> list[Future[Vectors]]:
        """:meth:`submit_query` for the texts of one question: the uncached ones go to the model together."""
        futures: dict[str, Future[Vectors]] = {}
        with self._lock:
            for text in texts:
                cached = self._cache.get(text)
                if cached is not None:
                    self._cache.move_to_end(text)
                    done: Future[Vectors] = Future()
                    done.set_result(cached)
                    futures[text] = done
        missing = [text for text in dict.fromkeys(texts) if text not in futures]
        futures.update(zip(missing, self.batcher.submit_many(missing), strict=True))
        return [futures[text] for text in texts]

    def encode_query(self, text: str) -> Vectors:
        """One query vector (L2-normalized, float32), from the cache when asked before."""
        return self.remember(text, self.submit_query(text).result())

    def remember(self, text: str, vector: Vectors) -> Vectors:
        """Cache ``vector`` as the query vector of ``text`` and return the cached (read-only) one."""
        with self._lock:
            cached = self._cache.get(text)
            if cached is not None:
                return cached
            vector = np.array(vector, dtype=np.float32)  # a copy: the batch's array is not kept alive
            vector.setflags(write=False)
            self._cache[text] = vector
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return vector

    def encode_queries(self, texts: list[str]) -> list[Vectors]:
        """Query vectors for several texts, all submitted at once so the batcher embeds them together."""
        futures = self.submit_queries(texts)
        return [self.remember(text, future.result()) for text, future in zip(texts, futures, strict=True)]

    def clear_cache(self) -> None:
        """Forget cached query vectors (so a benchmark or a comparison measures real work)."""
        with self._lock:
            self._cache.clear()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """LangChain: passage vectors as lists."""
        return [list(map(float, row)) for row in self.encode_documents(list(texts))]

    def embed_query(self, text: str) -> list[float]:
        """LangChain: one query vector as a list."""
        return list(map(float, self.encode_query(text)))


class SentenceTransformerEmbeddings(Embedder):
    """The PyTorch engine: a sentence-transformers model, the reference every other engine is checked against."""

    engine = "torch"

    def __init__(self, model_spec: str, **options: Any) -> None:
        super().__init__(model_spec, **options)
        self._model: SentenceTransformer | None = None
        self._load_lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the model now (it is otherwise loaded on first use)."""
        _ = self.model

    @property
    def loaded(self) -> bool:
        """Whether the model has been loaded."""
        return self._model is not None

    @property
    def model(self) -> SentenceTransformer:
        """The loaded sentence-transformers model."""
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    self._model = load_sentence_transformer(self.model_spec, threads=self.threads)
        return self._model

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        dim = self.model.get_embedding_dimension()
        if dim is None:
            raise ModelError(f"the embedding model {self.model_spec!r} does not state its dimension")
        return int(dim)

    @property
    def prompts(self) -> dict[str, str]:
        """The model's own prompts (e.g. ``{"query": "query: ", ...}``); empty if it has none."""
        return {name: text for name, text in (self.model.prompts or {}).items() if text is not None}

    def encode(self, texts: list[str], kind: Kind, *, show_progress: bool = False) -> Vectors:
        """Vectors through sentence-transformers' ``encode_query`` / ``encode_document`` (the model's prompts)."""
        method = self.model.encode_query if kind == "query" else self.model.encode_document
        vectors = method(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.asarray(vectors, dtype=np.float32)
