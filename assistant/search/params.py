"""The retrieval and abstention parameters, as measured by ``assistant tune``.

They live in ``assistant/data/retrieval_params.json`` (``ASSISTANT_RETRIEVAL_PARAMS`` points
elsewhere) with a record of how they were measured: the command, the model, the question set
and the figures. They are chosen on ``eval/tuning/`` and judged on ``eval/questions/``.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from assistant.errors import ConfigError
from assistant.search.confidence import ConfidenceModel, LogisticModel
from assistant.search.retrievers import Fusion


class RetrievalParams(BaseModel):
    """How to fuse, when to abstain, and how wide list and related answers reach."""

    fusion: Fusion = "linear"
    lexical_weight: float = Field(default=1.0, ge=0)
    rrf_k: int = Field(default=60, ge=1)
    confidence: ConfidenceModel | None = None
    threshold: float = Field(default=0.5, ge=0, le=1)
    follow_up: LogisticModel | None = None
    """P(a question in a conversation depends on the conversation's project), fitted on tuning conversations."""
    follow_threshold: float = Field(default=0.5, ge=0, le=1)
    list_margin: float = Field(default=0.08, ge=0)
    related_margin: float = Field(default=0.03, ge=0)
    max_list: int = Field(default=10, ge=1)
    measured: dict[str, Any] = Field(default_factory=dict)


def default_params_path() -> Path:
    """The parameters shipped with the package."""
    return Path(str(resources.files("assistant").joinpath("data/retrieval_params.json")))


def load_params(path: Path | None = None) -> RetrievalParams:
    """Read parameters; the shipped file when ``path`` is None (defaults if it does not exist yet).

    Raises:
        ConfigError: the file exists but is not valid.
    """
    target = path or default_params_path()
    if not target.is_file():
        if path is not None:
            raise ConfigError(f"retrieval parameters {target}: no such file")
        return RetrievalParams()
    try:
        return RetrievalParams.model_validate(json.loads(target.read_text(encoding="utf-8")))
    except (ValueError, ValidationError) as exc:
        raise ConfigError(f"retrieval parameters {target} are invalid: {exc}") from exc


def save_params(params: RetrievalParams, path: Path) -> None:
    """Write parameters as readable JSON."""
    path.write_text(json.dumps(params.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
