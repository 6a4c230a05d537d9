"""Comparison mode and the quality gate.

**Comparison** runs the same held-out questions through several configurations, each tuned
the same way on ``eval/tuning/`` so none is handicapped by parameters chosen for another:

- ``hybrid``: the shipped configuration;
- ``dense only`` and ``lexical only``: one retriever alone, its confidence and threshold
  re-tuned for it;
- one configuration per extra embedding model (``--model``): an index built with that model
  in a temp folder, then tuned and evaluated like the rest.

**The gate** (``eval/gate.json``) holds minimum and maximum values of the headline metrics:
the measured values minus a small margin. ``make test`` fails when a change falls below them.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from assistant.answering.service import Assistant
from assistant.config import Settings
from assistant.corpus import Corpus
from assistant.errors import ConfigError
from assistant.evaluation.metrics import Metrics, compute_metrics, run_questions
from assistant.evaluation.questions import EvalQuestion
from assistant.evaluation.report import RunReport
from assistant.evaluation.tuning import tune
from assistant.model.backends import make_embedder
from assistant.search.index import build_index, load_index
from assistant.search.params import RetrievalParams
from assistant.search.retrievers import Fusion


def evaluate(name: str, assistant: Assistant, questions: list[EvalQuestion], **details: Any) -> RunReport:
    """Run the questions through one configured assistant.

    Its query caches and kept answers are emptied first, so latency is real.
    """
    assistant.warm_up()
    assistant.embedder.clear_cache()
    assistant.retriever.clear_cache()
    assistant.clear_answers()
    outcomes = run_questions(assistant, questions)
    return RunReport(name, compute_metrics(outcomes), outcomes, assistant.params.threshold, dict(details))


def retuned(base: Assistant, tuning: list[EvalQuestion], *, fusions: list[Fusion] | None = None) -> Assistant:
    """A copy of ``base`` whose parameters are tuned on ``tuning`` (restricted to ``fusions``)."""
    fresh = Assistant(base.settings, base.corpus, base.index, base.embedder, RetrievalParams(), analyzer=base.analyzer)
    params = tune(fresh, tuning, fusions=fusions)
    return Assistant(base.settings, base.corpus, base.index, base.embedder, params, analyzer=base.analyzer)


def compare(
    base: Assistant,
    questions: list[EvalQuestion],
    tuning: list[EvalQuestion],
    *,
    models: list[str] | None = None,
) -> list[RunReport]:
    """Evaluate the shipped configuration, each retriever alone, and each extra model."""
    runs = [evaluate("hybrid (shipped)", base, questions, fusion=base.params.fusion, model=base.index.manifest.model)]
    for fusion, label in (("dense", "dense only"), ("lexical", "lexical only")):
        alone = retuned(base, tuning, fusions=[fusion])  # type: ignore[list-item]
        runs.append(evaluate(label, alone, questions, fusion=fusion, model=base.index.manifest.model))
    for spec in models or []:
        runs.append(_other_model(base.settings, base.corpus, spec, questions, tuning))
    return runs


def _other_model(
    settings: Settings, corpus: Corpus, spec: str, questions: list[EvalQuestion], tuning: list[EvalQuestion]
) -> RunReport:
    with tempfile.TemporaryDirectory(prefix="compare-index-") as folder:
        other_settings = settings.model_copy(update={"embedding_model": spec, "index_dir": Path(folder)})
        embedder = make_embedder(other_settings)
        build_index(Path(folder), corpus, embedder, show_progress=False)
        index = load_index(Path(folder), corpus_digest=corpus.digest, model=spec, backend=embedder.backend)
        base = Assistant(other_settings, corpus, index, embedder, RetrievalParams())
        tuned = retuned(base, tuning)
        name = f"hybrid, {_model_label(spec)}"
        return evaluate(name, tuned, questions, fusion=tuned.params.fusion, model=spec)


def _model_label(spec: str) -> str:
    """A short name for a model: a hub id as is, a folder by its name (or its parent's, if generic)."""
    path = Path(spec)
    if not path.exists():
        return spec
    return path.parent.name if path.name in ("model", "models", "") else path.name


# --------------------------------------------------------------------------- the gate


GATE_METRICS: tuple[str, ...] = tuple(f.name for f in fields(Metrics) if f.type in ("float", "int"))
"""The metrics a gate may bound: every number of a run's :class:`Metrics`."""


@dataclass(frozen=True)
class Gate:
    """Bounds on headline metrics, kept in the repo (``eval/gate.json``).

    The file holds ``minimums`` and ``maximums`` (both required, either may be empty), each
    mapping a metric name to a number, and an optional ``about`` text.
    """

    minimums: dict[str, float]
    maximums: dict[str, float]

    @classmethod
    def load(cls, path: Path) -> Gate:
        """Read and check a gate file, before any question is run.

        Raises:
            ConfigError: missing, not JSON, a section missing, an unknown metric, a bound that is
                not a finite number; the message names the file and every bad field.
        """
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"gate file {path}: no such file") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"gate file {path}: cannot read it ({exc})") from exc
        except ValueError as exc:
            raise ConfigError(f"gate file {path}: not valid JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"gate file {path}: must be a JSON object with 'minimums' and 'maximums'")
        problems = [f"field '{key}' is unknown" for key in data if key not in ("minimums", "maximums", "about")]
        bounds: dict[str, dict[str, float]] = {}
        for section in ("minimums", "maximums"):
            values = data.get(section)
            if values is None:
                problems.append(f"field '{section}' is missing (use {{}} for none)")
                continue
            if not isinstance(values, dict):
                problems.append(f"field '{section}' must be an object of metric names to numbers")
                continue
            bounds[section] = {}
            for name, bound in values.items():
                where = f"field '{section}.{name}'"
                if name not in GATE_METRICS:
                    problems.append(f"{where}: unknown metric; known metrics: {', '.join(GATE_METRICS)}")
                elif isinstance(bound, bool) or not isinstance(bound, int | float) or not math.isfinite(bound):
                    problems.append(f"{where}: the bound must be a number, not {json.dumps(bound)}")
                else:
                    bounds[section][name] = float(bound)
        if problems:
            raise ConfigError(f"gate file {path} is invalid: " + "; ".join(problems))
        return cls(bounds["minimums"], bounds["maximums"])

    def violations(self, metrics: Metrics) -> list[str]:
        """Every bound the metrics break, in words (empty when the gate passes)."""
        problems = []
        for name, bound in self.minimums.items():
            value = float(getattr(metrics, name))
            if value < bound:
                problems.append(f"{name} {value:.4f} is below the gate's minimum {bound:.4f}")
        for name, bound in self.maximums.items():
            value = float(getattr(metrics, name))
            if value > bound:
                problems.append(f"{name} {value:.4f} is above the gate's maximum {bound:.4f}")
        return problems
