"""The naive baseline ``assistant bench`` compares against: what a LangChain tutorial would build.

LangChain's ``HuggingFaceEmbeddings`` (package ``langchain-huggingface``: sentence-transformers
on torch) embeds the same passages our index holds, with the same model; a FAISS vector store
holds them; a minimal FastAPI route answers with ``similarity_search``. No query cache, no
batching, no lexical side, no abstention: it measures what our extra work costs, and what
our engineering saves.

LangChain's own FAISS store lives in ``langchain-community``, which this project does not
depend on (it is being sunset), so :class:`FaissVectorStore` is a minimal ``VectorStore`` over
``faiss.IndexFlatL2``, the index LangChain's store uses by default.

Run by the bench as ``uvicorn assistant.evaluation.naive:create_app --factory``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from fastapi import FastAPI
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore
from pydantic import BaseModel

from assistant.config import get_settings
from assistant.corpus import load_corpus
from assistant.search.documents import build_documents


class FaissVectorStore(VectorStore):
    """A minimal LangChain ``VectorStore`` over a flat FAISS L2 index (as ``langchain_community``'s FAISS)."""

    def __init__(self, embedding: Embeddings) -> None:
        self._embedding = embedding
        self._index: Any = None
        self._documents: list[Document] = []

    @property
    def embeddings(self) -> Embeddings:
        return self._embedding

    def add_texts(
        self, texts: Iterable[str], metadatas: list[dict[Any, Any]] | None = None, **kwargs: Any
    ) -> list[str]:
        """Embed and add texts; returns their positions as ids."""
        import faiss

        texts = list(texts)
        vectors = np.asarray(self._embedding.embed_documents(texts), dtype=np.float32)
        if self._index is None:
            self._index = faiss.IndexFlatL2(vectors.shape[1])
        self._index.add(vectors)
        first = len(self._documents)
        for i, text in enumerate(texts):
            self._documents.append(Document(page_content=text, metadata=(metadatas or [{}] * len(texts))[i]))
        return [str(first + i) for i in range(len(texts))]

    def similarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        """The ``k`` passages nearest to the query."""
        vector = np.asarray([self._embedding.embed_query(query)], dtype=np.float32)
        _, ids = self._index.search(vector, k)
        return [self._documents[i] for i in ids[0] if i >= 0]

    @classmethod
    def from_texts(
        cls, texts: list[str], embedding: Embeddings, metadatas: list[dict[Any, Any]] | None = None, **kwargs: Any
    ) -> FaissVectorStore:
        store = cls(embedding)
        store.add_texts(texts, metadatas)
        return store


class Question(BaseModel):
    question: str


def create_app() -> FastAPI:
    """The baseline app: the passages embedded at start, one route."""
    from langchain_huggingface import HuggingFaceEmbeddings

    settings = get_settings()
    _, passages, _ = build_documents(load_corpus(settings.corpus_dir))
    embeddings = HuggingFaceEmbeddings(
        model_name=settings.model_spec, model_kwargs={"device": "cpu"}, encode_kwargs={"normalize_embeddings": True}
    )
    store = FaissVectorStore.from_texts(
        [p.page_content for p in passages], embeddings, [{"project_id": p.metadata["project_id"]} for p in passages]
    )
    app = FastAPI(title="naive LangChain baseline")

    @app.get("/readyz")
    def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.post("/v1/ask")
    def ask(body: Question) -> dict[str, list[str]]:
        return {"citations": [d.metadata["project_id"] for d in store.similarity_search(body.question, k=3)]}

    return app
