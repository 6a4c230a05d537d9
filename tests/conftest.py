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
