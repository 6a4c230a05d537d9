"""Safe publishing of a corpus change, and rollback.

:func:`publish` runs, holding the index folder's writer lock:

1. validate the working corpus (every problem listed, nothing built when one is found);
2. build the new version beside the current one, in a hidden work folder (``CURRENT`` untouched);
3. run the quality gate (``eval/gate.json``) on the held-out questions (``eval/questions/``)
   against the new version, through the same code path as ``assistant eval``;
4. only when every bound holds: rename the version into place and flip ``CURRENT`` atomically.
   Every server process then switches to it live (``api/live.py``).

Killed at any moment (even ``kill -9``), it leaves ``CURRENT`` naming the old, complete version:
the work folder is hidden and never named by ``CURRENT``; the lock dies with the process; the
next publish removes the leftovers. A version that fails the gate is deleted.

Example::

    result = publish(get_settings(), report=print)    # the CLI; POST /admin/publish passes its embedder
    if not result.published:
        print("\\n".join(result.problems))
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.answering.service import Assistant
from assistant.config import ROOT, Settings
from assistant.corpus import load_corpus
from assistant.errors import IndexError_, PublishError
from assistant.evaluation.comparison import Gate, evaluate
from assistant.evaluation.metrics import failures
from assistant.evaluation.questions import QuestionSetError, load_questions
from assistant.model.backends import choose_backend, make_embedder
from assistant.model.embeddings import Embedder
from assistant.model.fingerprint import model_fingerprint
from assistant.search.index import build_version, install_version, load_version, read_manifest
from assistant.search.params import load_params
from assistant.search.versions import (
    activate,
    clean_leftovers,
    current_name,
    previous_version,
    rollback,
    writer_lock,
)

GATE = ROOT / "eval" / "gate.json"
QUESTIONS = ROOT / "eval" / "questions"


@dataclass
class PublishResult:
    """What a publish did: the version built, whether it went live, and every reason it did not."""

    version: str
    published: bool
    previous: str | None
    problems: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    failed_questions: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (for ``--json`` and the admin route)."""
        return asdict(self)


def _quiet(_: str) -> None:
    """The default progress reporter: say nothing."""


def publish(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    gate: Path = GATE,
    questions: list[Path] | None = None,
    report: Callable[[str], None] = _quiet,
    force: bool = False,
) -> PublishResult:
    """Validate, build, gate and (only if all pass) make the working corpus the served version.

    Args:
        settings: where the corpus and index live, the model, the retrieval parameters.
        embedder: the model to reuse (a server passes its own, already loaded); loaded here if None.
        gate: the gate file (bounds on the eval metrics).
        questions: held-out question files or folders (default ``eval/questions/``).
        report: called with one line per step, for progress output.
        force: build and gate even when the current version already serves this corpus.

    Returns:
        The result: ``published`` False with every gate problem when the gate failed, or with no
        problem when the current version already serves this corpus (nothing to do).

    Raises:
        CorpusError: the corpus does not validate (nothing was built).
        PublishBusyError: another publish, build or rollback holds the lock.
        ConfigError: the gate file cannot be read, or the retrieval parameters are missing, invalid or
            tuned on the other precision's vectors (nothing was built).
        IndexError_: the corpus changed on disk during the build.
    """
    started = time.perf_counter()
    bounds = Gate.load(gate)  # a broken gate file fails before any work
    index_dir = settings.index_dir
    with writer_lock(index_dir, "publish"):
        removed = clean_leftovers(index_dir)
        if removed:
            report(f"removed what an interrupted run left: {', '.join(sorted(removed))}")
        previous = current_name(index_dir)
        report(f"validating the corpus in {settings.corpus_dir}")
        corpus = load_corpus(settings.corpus_dir)
        report(f"corpus ok: {len(corpus.projects)} projects")
        embedder = embedder or make_embedder(settings)
        params = load_params(settings.retrieval_params, backend=embedder.backend)  # before any work, too
        if (
            not force
            and previous
            and _already_published(index_dir / previous, corpus.digest, settings.model_spec, embedder)
        ):
            report(f"nothing to publish: {previous} already serves this corpus")
            return PublishResult(previous, False, previous, [], {}, [], round(time.perf_counter() - started, 1))

        report(f"building the new version beside the current one ({previous or 'none'})")
        work = build_version(index_dir, corpus, embedder, show_progress=False)
        try:
            index = load_version(work, model=settings.model_spec, backend=embedder.backend)
            version = index.manifest.version
            report(f"built {version} in {index.manifest.build_seconds:.1f} s")
            candidate = Assistant(settings, index.corpus, index, embedder, params)
            problems, metrics, failed = _gate(candidate, bounds, questions or [QUESTIONS], report)
            if problems:
                shutil.rmtree(work, ignore_errors=True)
                return PublishResult(
                    version, False, previous, problems, metrics, failed, round(time.perf_counter() - started, 1)
                )
            report("gate passed: making it current")
            target = install_version(index_dir, work)
            activate(index_dir, target.name, how="publish")
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    return PublishResult(target.name, True, previous, [], metrics, failed, round(time.perf_counter() - started, 1))


def _already_published(path: Path, digest: str, model: str, embedder: Embedder) -> bool:
    try:
        manifest = read_manifest(path)
    except IndexError_:
        return False
    return not manifest.problems_against(
        corpus_digest=digest, model=model, model_fingerprint=model_fingerprint(model), backend=embedder.backend
    )


def _gate(
    candidate: Assistant, bounds: Gate, questions: list[Path], report: Callable[[str], None]
) -> tuple[list[str], dict[str, Any], list[dict[str, Any]]]:
    """Every gate problem of the candidate (empty when it passes), its metrics and its failed questions."""
    try:
        items = load_questions(questions, set(candidate.corpus.projects))
    except QuestionSetError as exc:
        # e.g. a project the held-out questions expect was removed from the corpus
        return [f"eval questions: {problem}" for problem in exc.problems], {}, []
    report(f"gate: asking the {len(items)} held-out questions")
    run = evaluate("publish gate", candidate, items)
    metrics = {
        name: getattr(run.metrics, name)
        for name in ("questions", "hit_at_1", "recall_at_3", "mrr", "abstention_recall", "abstention_precision")
    }
    metrics["false_abstention_rate"] = run.metrics.false_abstention_rate
    return bounds.violations(run.metrics), metrics, failures(run.outcomes)


def roll_back(settings: Settings) -> tuple[str, str]:
    """Point ``CURRENT`` at the previous published version (under the writer lock); returns (from, to).

    A previous version the servers would refuse (built by an older assistant, or with another
    model or embedding backend) is not rolled back to: CURRENT would point at a folder no server
    loads.

    Raises:
        PublishError: nothing to roll back to, or the previous version is stale.
        PublishBusyError: a publish is running.
    """
    with writer_lock(settings.index_dir, "rollback"):
        clean_leftovers(settings.index_dir)
        target = previous_version(settings.index_dir)
        if target is not None:
            problems = read_manifest(settings.index_dir / target).problems_against(
                corpus_digest=None,
                model=settings.model_spec,
                model_fingerprint=model_fingerprint(settings.model_spec),
                backend=choose_backend(settings).label,
            )
            if problems:
                raise PublishError(
                    f"not rolled back: the servers would refuse the previous version {target} "
                    f"({'; '.join(problems)}); publish the corpus you want live instead (`assistant publish`)"
                )
        return rollback(settings.index_dir)
