"""The one embedding engine: a sentence-transformers model behind LangChain's ``Embeddings``.

The model is a setting (``ASSISTANT_EMBEDDING_MODEL``: a hub id or a local folder); by
default the multilingual-e5-small folder that ``assistant model install`` builds. Each
model's own prompts are applied (``query: `` / ``passage: `` for e5) through
sentence-transformers' ``encode_query`` / ``encode_document``.

Example::

    embedder = SentenceTransformerEmbeddings(get_settings().model_spec)
    embedder.embed_query("子どもが熱を出して保育園に行けない")   # 384 floats, unit norm
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

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


class SentenceTransformerEmbeddings(Embeddings):
    """LangChain ``Embeddings`` over a sentence-transformers model, loaded once and lazily.

    The constructor only stores the settings; the model loads on :meth:`warm_up` or first use.
    Query vectors are cached (LRU), so a repeated question costs no model call.
    """

    def __init__(self, model_spec: str, *, threads: int = 2, batch_size: int = 32, cache_size: int = 2048) -> None:
        if not model_spec:
            raise ModelError("no embedding model given")
        self.model_spec = model_spec
        self.threads = threads
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Vectors] = OrderedDict()

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
            with self._lock:
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

    def encode_documents(self, texts: list[str], *, show_progress: bool = False) -> Vectors:
        """Passage vectors, batch-encoded, L2-normalized, float32, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode_document(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> Vectors:
        """One query vector (L2-normalized, float32), from the cache when asked before."""
        with self._lock:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                return cached
        encoded = self.model.encode_query([text], normalize_embeddings=True, convert_to_numpy=True)
        vector: Vectors = np.asarray(encoded, dtype=np.float32)[0]
        vector.setflags(write=False)
        with self._lock:
            self._cache[text] = vector
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return vector

    def encode_queries(self, texts: list[str]) -> list[Vectors]:
        """Query vectors for several texts in one model call (cached ones are not encoded again)."""
        vectors: dict[str, Vectors] = {}
        with self._lock:
            for text in texts:
                cached = self._cache.get(text)
                if cached is not None:
                    vectors[text] = cached
        missing = list(dict.fromkeys(t for t in texts if t not in vectors))
        if missing:
            encoded = self.model.encode_query(missing, normalize_embeddings=True, convert_to_numpy=True)
            with self._lock:
                for text, row in zip(missing, np.asarray(encoded, dtype=np.float32), strict=True):
                    row.setflags(write=False)
                    vectors[text] = row
                    self._cache[text] = row
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return [vectors[text] for text in texts]

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
