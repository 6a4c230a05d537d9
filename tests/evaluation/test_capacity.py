"""The capacity script's synthetic corpora: marked synthetic, made of real fields, vectors near their sources."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.evaluation.capacity import NOISE_COSINE, _real_passage_vectors, _synthetic_vectors, synthetic_corpus
from assistant.search.documents import build_documents
from assistant.search.index import load_index

pytestmark = pytest.mark.slow


def test_synthetic_corpora_are_marked_and_made_of_real_fields(settings, built_index: Path) -> None:  # type: ignore[no-untyped-def]
    corpus = load_index(settings.index_dir, model=settings.model_spec).corpus
    fake, origin = synthetic_corpus(corpus, 300, seed=3)
    assert len(fake.projects) == 300 and fake.root is None  # in memory only: nothing to write back
    assert all(pid.startswith("synthetic-") for pid in fake.projects) and not set(fake.projects) & set(corpus.projects)
    examples = {e for p in corpus.projects.values() for e in p.examples}
    summaries = {p.summary for p in corpus.projects.values()}
    for project in fake.projects.values():
        assert set(project.examples) <= examples and project.summary in summaries
        assert "合成" in project.name and "synthetic" in project.name_en
    assert set(origin) == set(fake.projects)


def test_synthetic_vectors_are_unit_length_and_near_their_real_sources(settings, built_index: Path) -> None:  # type: ignore[no-untyped-def]
    corpus = load_index(settings.index_dir, model=settings.model_spec).corpus
    fake, origin = synthetic_corpus(corpus, 40, seed=1)
    _, passages, _ = build_documents(fake)
    real = _real_passage_vectors(settings)
    vectors = _synthetic_vectors(passages, origin, real, seed=0)
    assert vectors.shape == (len(passages), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    sources = []
    for doc in passages:
        meta, src = doc.metadata, origin[doc.metadata["project_id"]]
        if meta["field"] == "example":
            project, n = src[2 + int(meta["n"])].split("#")
            sources.append(real[(project, f"example#{n}")])
        else:
            sources.append(real[(src[0] if meta["field"] == "name" else src[1], meta["field"])])
    cosines = np.sum(vectors * np.stack(sources), axis=1)
    assert abs(float(cosines.mean()) - NOISE_COSINE) < 0.03
    assert len({v.tobytes() for v in vectors}) == len(vectors)  # no two identical
