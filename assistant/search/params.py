"""The retrieval and abstention parameters, as measured by ``assistant tune``.

Each precision's vectors have their own, tuned on them: the threshold and the confidence model
follow the scores the vectors give. ``assistant/data/retrieval_params.json`` is for the fp32
vectors, which ``onnx`` (the default) and ``torch`` share (cosine 1.0000, the same answers question
for question), and OpenVINO's bfloat16 (``openvino-bf16``: cosine 0.99999 to fp32, the same
answers as fp32 on every held-out question, `assistant eval`); ``assistant/data/retrieval_params.onnx-int8.json``
for the int8 export.
``ASSISTANT_RETRIEVAL_PARAMS`` points elsewhere. Each file records how it was measured: the
command, the model, the backend, the question set and the figures. They are chosen on
``eval/tuning/`` and judged on ``eval/questions/``.
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


def vectors(backend: str) -> str:
    """Which vectors a backend gives: ``int8`` for ``onnx-int8``; ``fp32`` for ``onnx``, ``torch`` and
    ``openvino(-bf16)``, whose bfloat16 vectors answer as fp32's do (the module's docstring)."""
    return "int8" if backend.endswith("-int8") else "fp32"


def _tuned_on_other_vectors(measured: object, backend: str) -> str | None:
    """The backend a file's ``measured`` record was tuned on, when its vectors are not ``backend``'s."""
    tuned_on = measured.get("backend") if isinstance(measured, dict) else None
    return tuned_on if isinstance(tuned_on, str) and vectors(tuned_on) != vectors(backend) else None


def check_params_target(target: Path, backend: str) -> None:
    """Where ``assistant tune`` may write: a folder that exists, and never over parameters tuned on
    the other precision's vectors (the shipped fp32 file, say, while int8 is configured), which
    still serve the other backend.

    Raises:
        ConfigError: ``target`` holds such parameters (a missing file is written), or its folder does
            not exist: both said before any tuning is done.
    """
    if not target.parent.is_dir():
        raise ConfigError(f"cannot write the retrieval parameters to {target}: no such folder {target.parent}")
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    tuned_on = _tuned_on_other_vectors(data.get("measured") if isinstance(data, dict) else None, backend)
    if tuned_on is not None:
        raise ConfigError(
            f"{target} holds parameters tuned on the {tuned_on} backend's vectors, and {backend} is configured: "
            "write these with --output to another file (or unset ASSISTANT_RETRIEVAL_PARAMS to tune the "
            f"shipped file for {backend})"
        )


def default_params_path(backend: str = "onnx") -> Path:
    """The parameters shipped with the package for ``backend``'s vectors."""
    name = "retrieval_params.onnx-int8.json" if vectors(backend) == "int8" else "retrieval_params.json"
    return Path(str(resources.files("assistant").joinpath(f"data/{name}")))


def load_params(path: Path | None = None, *, backend: str = "onnx") -> RetrievalParams:
    """Read the measured parameters: ``path``, or the file shipped for ``backend`` when None.

    Every field must be in the file, the confidence model included: a missing or partial file
    would otherwise fall back to defaults nobody measured (under which the assistant never
    abstains). Only ``assistant tune`` starts from :class:`RetrievalParams` defaults, explicitly.
    A file tuned on the other precision's vectors (its ``measured.backend``) is refused too: its
    threshold was set on scores the running backend does not give.

    Raises:
        ConfigError: the file is missing, unreadable, not JSON, lacks a field, has an unknown
            field or a bad value, or was tuned on another precision's vectors; the message names
            the file and the fields.
    """
    target = path or default_params_path(backend)
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(
            f"retrieval parameters {target}: no such file; restore it from the repository or run `assistant tune`"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"retrieval parameters {target}: cannot read it ({exc})") from exc
    except ValueError as exc:
        raise ConfigError(f"retrieval parameters {target}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"retrieval parameters {target}: must be a JSON object, not {type(data).__name__}")
    problems = [f"field '{name}' is missing" for name in RetrievalParams.model_fields if name not in data]
    problems += [f"field '{name}' is unknown" for name in data if name not in RetrievalParams.model_fields]
    if data.get("confidence", False) is None:
        problems.append("field 'confidence' is null: the abstention threshold needs the tuned confidence model")
    if not problems:
        try:
            params = RetrievalParams.model_validate(data)
        except ValidationError as exc:
            problems = [f"field '{'.'.join(str(p) for p in error['loc'])}': {error['msg']}" for error in exc.errors()]
        else:
            tuned_on = _tuned_on_other_vectors(params.measured, backend)
            if tuned_on is None:
                return params
            problems = [
                f"they were tuned on the {tuned_on} backend's vectors (measured.backend), but {backend} is "
                f"configured: unset ASSISTANT_RETRIEVAL_PARAMS (the shipped file for {backend} is "
                f"{default_params_path(backend)}), or tune a new file for it with "
                f"`ASSISTANT_EMBEDDING_BACKEND={backend} assistant tune --output <new file>`"
            ]
    raise ConfigError(f"retrieval parameters {target} are invalid: " + "; ".join(problems))


def save_params(params: RetrievalParams, path: Path) -> None:
    """Write parameters as readable JSON.

    Raises:
        ConfigError: the file cannot be written (no such folder, no permission), naming it.
    """
    text = json.dumps(params.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n"
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write the retrieval parameters to {path}: {exc.strerror or exc}") from exc
