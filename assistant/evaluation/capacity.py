"""Capacity on paper, from measurement (``assistant capacity``, ``make capacity``).

Three measurements, each stating what was measured and what was extrapolated:

1. **Search at scale.** Synthetic corpora of 10k and 100k projects, clearly marked synthetic
   (ids ``synthetic-000001``…, held in memory, never written to ``corpus/``), made by
   recombining real fields of the real projects (name, summaries, category, municipalities,
   aliases and examples drawn from different projects). For each size, in a fresh child process:
   passage and document counts; FAISS flat and HNSW (``IndexHNSWFlat``, M and efSearch stated)
   build time, memory and single-query latency, with HNSW's recall@10 against flat; BM25 (bm25s)
   build time and query latency.

   Embedding every synthetic passage with the real model would take hours on 2 cores, so:
   embedding throughput is **measured** on a sample of synthetic passages, and the full embedding
   time is **extrapolated** from it; the vectors of the synthetic passages are the **real**
   vectors of the passages they were recombined from (same field of the source project, from
   the built index), each perturbed with Gaussian noise and renormalized (cosine ≈ 0.9 to its
   source) so no two are identical. Query vectors are the real embeddings of held-out questions.
   Fugashi tokens of a synthetic document are the real tokens of the fields it joins (each real
   field tokenized once); tokenization throughput is measured on real documents.

2. **Throughput of one replica.** The real server (``assistant serve``) on loopback, asked
   held-out questions (new questions: the query cache is not warm) by 1, 2 and 4 concurrent
   clients for a fixed time: answers per second and latency.

3. **PostgreSQL per million questions.** A real PostgreSQL, started as an unprivileged user in a
   temp folder, holds a ``questions`` table of a realistic shape (time, channel, languages, an
   ~80-character masked question, 3 cited ids, scores, hashes, uuids, with the indexes a staff
   page needs); rows are inserted with ``COPY`` and the table, its indexes and TOAST measured.
"""

from __future__ import annotations

import gc
import json
import math
import multiprocessing
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from assistant.config import ROOT, Settings
from assistant.corpus import Corpus, Project
from assistant.errors import AssistantError
from assistant.evaluation.questions import load_questions
from assistant.model.backends import make_embedder
from assistant.search.documents import build_documents
from assistant.search.index import load_index
from assistant.search.tokens import TextAnalyzer

SYNTHETIC_PREFIX = "synthetic-"
NOISE_COSINE = 0.9
"""Target cosine between a synthetic passage vector and the real vector it was perturbed from."""

Floats32 = npt.NDArray[np.float32]


def _rss_mb() -> float:
    """This process's resident memory now, in MB (from /proc)."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def _process_rss_mb(pid: int) -> float:
    """Another process's resident memory (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1000, 1)
    return 0.0


def _say(message: str) -> None:
    """Progress on stderr (the JSON result goes to stdout)."""
    print(f"[capacity {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000, 3),
    }


# --------------------------------------------------------------------------- synthetic corpora


def synthetic_corpus(corpus: Corpus, size: int, seed: int = 0) -> tuple[Corpus, dict[str, tuple[str, ...]]]:
    """A corpus of ``size`` synthetic projects recombined from the real ones, and where each came from.

    Returns the corpus (held in memory: never written anywhere) and, per synthetic id, the source
    project of (name, summaries, examples), so passages can borrow the real passages' vectors.
    """
    rng = random.Random(seed)
    real = list(corpus.projects.values())
    aliases = [a for p in real for a in p.aliases]
    examples = [(p.id, n, e) for p in real for n, e in enumerate(p.examples)]
    projects: dict[str, Project] = {}
    origin: dict[str, tuple[str, ...]] = {}
    for i in range(1, size + 1):
        name_of, summary_of, place_of = rng.choice(real), rng.choice(real), rng.choice(real)
        picked = rng.sample(examples, rng.randint(5, 9))
        pid = f"{SYNTHETIC_PREFIX}{i:06d}"
        projects[pid] = summary_of.model_copy(
            update={
                "id": pid,
                "name": f"{name_of.name}（合成{i}）",
                "name_en": f"{name_of.name_en} (synthetic {i})",
                "policy_area": place_of.policy_area,
                "policy_item": place_of.policy_item,
                "agreement": place_of.agreement,
                "municipalities": place_of.municipalities,
                "aliases": rng.sample(aliases, 3),
                "examples": [e for _, _, e in picked],
            }
        )
        origin[pid] = (name_of.id, summary_of.id, *(f"{p}#{n}" for p, n, _ in picked))
    fake = Corpus(
        zone=corpus.zone,
        projects=projects,
        source_text="",
        source_file=corpus.source_file,
        digest=f"synthetic-{size}-{seed}",
        out_of_scope=corpus.out_of_scope,
        root=None,
    )
    return fake, origin


def _real_passage_vectors(settings: Settings) -> dict[tuple[str, str], Floats32]:
    """(project id, field or example#n) → the real passage vector in the built index."""
    index = load_index(settings.index_dir, model=settings.model_spec)
    vectors = index.vectors.reconstruct_n(0, index.vectors.ntotal)
    table: dict[tuple[str, str], Floats32] = {}
    for i, doc in enumerate(index.passages):
        meta = doc.metadata
        key = f"example#{meta['n']}" if meta["field"] == "example" else str(meta["field"])
        table[(str(meta["project_id"]), key)] = vectors[i]
    return table


def _synthetic_vectors(
    passages: list[Any], origin: dict[str, tuple[str, ...]], real: dict[tuple[str, str], Floats32], seed: int
) -> Floats32:
    """Each synthetic passage: the real vector of the passage it was recombined from, plus noise."""
    rng = np.random.default_rng(seed)
    dim = len(next(iter(real.values())))
    out = np.empty((len(passages), dim), dtype=np.float32)
    for i, doc in enumerate(passages):
        meta = doc.metadata
        src = origin[meta["project_id"]]
        field = meta["field"]
        if field == "example":
            project, n = src[2 + int(meta["n"])].split("#")
            out[i] = real[(project, f"example#{n}")]
        else:
            out[i] = real[(src[0] if field == "name" else src[1], field)]
    # noise of norm ≈ tan(arccos(NOISE_COSINE)) for a unit vector: cosine to the source ≈ NOISE_COSINE
    sigma = math.tan(math.acos(NOISE_COSINE)) / math.sqrt(dim)
    for start in range(0, len(out), 65536):
        chunk = out[start : start + 65536]
        chunk += rng.standard_normal(chunk.shape, dtype=np.float32) * np.float32(sigma)
        chunk /= np.linalg.norm(chunk, axis=1, keepdims=True)
    return out


# --------------------------------------------------------------------------- one size, in a child process


@dataclass(frozen=True)
class SearchPlan:
    """What to measure for one synthetic size."""

    size: int
    hnsw_m: int
    ef_construction: int
    ef_search: tuple[int, ...]
    queries: int
    seed: int = 0


def _measure_size(
    settings: Settings, plan: SearchPlan, query_vectors: Floats32, query_tokens: list[list[str]]
) -> dict[str, Any]:
    import bm25s
    import faiss

    faiss.omp_set_num_threads(settings.torch_threads)
    real_corpus = load_index(settings.index_dir, model=settings.model_spec).corpus
    result: dict[str, Any] = {"projects": plan.size, "rss_start_mb": round(_rss_mb(), 1)}

    started = time.perf_counter()
    corpus, origin = synthetic_corpus(real_corpus, plan.size, plan.seed)
    lexical, passages, _ = build_documents(corpus)
    result["documents_seconds"] = round(time.perf_counter() - started, 2)
    result["passages"] = len(passages)
    result["passages_per_project"] = round(len(passages) / plan.size, 2)
    _say(f"{plan.size}: {len(passages)} passages; synthesizing vectors")

    real = _real_passage_vectors(settings)
    started = time.perf_counter()
    vectors = _synthetic_vectors(passages, origin, real, plan.seed)
    result["vector_synthesis_seconds"] = round(time.perf_counter() - started, 2)
    dim = vectors.shape[1]

    before = _rss_mb()
    started = time.perf_counter()
    flat = faiss.IndexFlatIP(dim)
    flat.add(vectors)
    result["flat"] = {
        "build_seconds": round(time.perf_counter() - started, 2),
        "bytes": int(flat.ntotal) * dim * 4,
        "rss_delta_mb": round(_rss_mb() - before, 1),
    }

    gc.collect()
    _say(f"{plan.size}: flat built; building HNSW (M={plan.hnsw_m}, efConstruction={plan.ef_construction})")
    before = _rss_mb()
    started = time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(dim, plan.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = plan.ef_construction
    hnsw.add(vectors)
    result["hnsw"] = {
        "M": plan.hnsw_m,
        "ef_construction": plan.ef_construction,
        "build_seconds": round(time.perf_counter() - started, 2),
        "bytes": len(faiss.serialize_index(hnsw)),
        "rss_delta_mb": round(_rss_mb() - before, 1),
    }
    del vectors
    gc.collect()

    _say(f"{plan.size}: HNSW built in {result['hnsw']['build_seconds']} s; timing searches")
    queries = query_vectors[: plan.queries]
    timings: dict[str, list[float]] = {"flat_top100": [], "flat_all": []}
    truth = []
    for q in queries:
        row = q.reshape(1, -1)
        started = time.perf_counter()
        _, ids = flat.search(row, 100)
        timings["flat_top100"].append(time.perf_counter() - started)
        truth.append(set(ids[0][:10].tolist()))
    for q in queries[: max(10, plan.queries // 10)]:  # what the service does today: every passage's score
        started = time.perf_counter()
        flat.search(q.reshape(1, -1), flat.ntotal)
        timings["flat_all"].append(time.perf_counter() - started)
    result["flat"]["top100"] = _ms(timings["flat_top100"])
    result["flat"]["all_passages_as_the_service_does"] = _ms(timings["flat_all"])
    result["hnsw"]["search"] = {}
    for ef in plan.ef_search:
        hnsw.hnsw.efSearch = ef
        latencies, hits = [], 0
        for q, expected in zip(queries, truth, strict=True):
            started = time.perf_counter()
            _, ids = hnsw.search(q.reshape(1, -1), 100)
            latencies.append(time.perf_counter() - started)
            hits += len(expected & set(ids[0][:10].tolist()))
        result["hnsw"]["search"][f"efSearch={ef}"] = {
            **_ms(latencies),
            "recall_at_10": round(hits / (10 * len(truth)), 4),
        }
    del flat, hnsw
    gc.collect()

    _say(f"{plan.size}: BM25")
    # BM25 over one document per project; tokens of each real field computed once and joined.
    analyzer = TextAnalyzer()
    field_tokens: dict[str, list[str]] = {}

    def tokens_of(text: str) -> list[str]:
        if text not in field_tokens:
            field_tokens[text] = analyzer.tokens(text)
        return field_tokens[text]

    started = time.perf_counter()
    doc_tokens = [[t for part in doc.page_content.split("\n") for t in tokens_of(part)] for doc in lexical]
    result["bm25_token_assembly_seconds"] = round(time.perf_counter() - started, 2)
    before = _rss_mb()
    started = time.perf_counter()
    bm25 = bm25s.BM25()
    bm25.index(doc_tokens, show_progress=False)
    result["bm25"] = {
        "build_seconds": round(time.perf_counter() - started, 2),
        "rss_delta_mb": round(_rss_mb() - before, 1),
    }
    latencies = []
    for tokens in query_tokens[: plan.queries]:
        started = time.perf_counter()
        bm25.get_scores(tokens)  # the service scores every document
        latencies.append(time.perf_counter() - started)
    result["bm25"]["get_scores_all_documents"] = _ms(latencies)
    result["rss_peak_mb"] = round(_peak_rss_mb(), 1)
    return result


def _child(settings_json: str, plan: SearchPlan, queries_path: str, out: Any) -> None:
    settings = Settings.model_validate_json(settings_json)
    data = np.load(queries_path, allow_pickle=False)
    tokens = json.loads(Path(queries_path + ".tokens.json").read_text(encoding="utf-8"))
    try:
        out.send(_measure_size(settings, plan, data, tokens))
    except Exception as exc:  # reported to the parent, which fails with it
        out.send({"error": repr(exc)})


# --------------------------------------------------------------------------- embedding and tokenizing rates


def measure_rates(
    settings: Settings, sample: int = 256, queries: int = 200
) -> tuple[dict[str, Any], Floats32, list[list[str]]]:
    """Embedding and tokenizing throughput on real text; also the real query vectors and tokens."""
    index = load_index(settings.index_dir, model=settings.model_spec)
    corpus = index.corpus
    fake, _ = synthetic_corpus(corpus, max(1, sample // 8), seed=1)
    _, passages, _ = build_documents(fake)
    texts = [p.page_content for p in passages][:sample]
    embedder = make_embedder(settings)
    embedder.warm_up()
    embedder.encode_documents(texts[:32])  # first batch pays one-off costs
    started = time.perf_counter()
    embedder.encode_documents(texts)
    embed_seconds = time.perf_counter() - started

    questions = [q.question for q in load_questions([ROOT / "eval" / "questions"], set(corpus.projects))][:queries]
    query_vectors = np.stack([embedder.encode_query(q) for q in questions]).astype(np.float32)
    analyzer = TextAnalyzer()
    lexical, _, _ = build_documents(corpus)
    started = time.perf_counter()
    for doc in lexical:
        analyzer.tokens(doc.page_content)
    token_seconds = time.perf_counter() - started
    chars = sum(len(doc.page_content) for doc in lexical)
    rates = {
        "embedding_sample_passages": len(texts),
        "embedding_passages_per_second": round(len(texts) / embed_seconds, 1),
        "tokenizing_documents_per_second": round(len(lexical) / token_seconds, 1),
        "tokenizing_chars_per_second": round(chars / token_seconds),
        "real_corpus": {"projects": len(corpus.projects), "passages": len(index.passages)},
    }
    return rates, query_vectors, [analyzer.tokens(q) for q in questions]


def measure_search(
    settings: Settings,
    sizes: list[int],
    *,
    hnsw_m: int = 32,
    ef_construction: int = 40,
    ef_search: tuple[int, ...] = (32, 64, 128),
    queries: int = 200,
) -> dict[str, Any]:
    """Rates, then each synthetic size in a fresh child process (so memory figures are its own)."""
    _say("measuring embedding and tokenizing rates")
    rates, query_vectors, query_tokens = measure_rates(settings, queries=queries)
    _say(f"rates: {rates}")
    results: dict[str, Any] = {"rates": rates, "sizes": []}
    with tempfile.TemporaryDirectory(prefix="capacity-") as folder:
        path = str(Path(folder) / "queries.npy")
        np.save(path, query_vectors)
        Path(path + ".tokens.json").write_text(json.dumps(query_tokens, ensure_ascii=False), encoding="utf-8")
        context = multiprocessing.get_context("spawn")
        for size in sizes:
            plan = SearchPlan(size, hnsw_m, ef_construction, ef_search, min(queries, len(query_vectors)))
            _say(f"{size} synthetic projects: building and timing flat, HNSW and BM25 in a child process")
            receive, send = context.Pipe(duplex=False)
            child = context.Process(target=_child, args=(settings.model_dump_json(), plan, path, send))
            child.start()
            measured = receive.recv()
            child.join()
            if "error" in measured:
                raise AssistantError(f"capacity measurement for {size} projects failed: {measured['error']}")
            passages = measured["passages"]
            measured["extrapolated"] = {
                "embedding_hours": round(passages / rates["embedding_passages_per_second"] / 3600, 2),
                "tokenizing_minutes": round(size / rates["tokenizing_documents_per_second"] / 60, 1),
            }
            results["sizes"].append(measured)
            _say(f"{size}: {json.dumps(measured)}")
    return results


# --------------------------------------------------------------------------- one replica's throughput


def _load(base: str, questions: list[str], clients: int, seconds: float, offset: int) -> tuple[list[float], int, float]:
    """``clients`` threads asking for ``seconds``: (latencies, errors, wall seconds)."""
    import httpx

    latencies: list[float] = []
    errors = 0
    counter = iter(range(offset, 10**9))
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker() -> None:
        nonlocal errors
        with httpx.Client(base_url=base, timeout=60) as client:
            while time.monotonic() < deadline:
                with lock:
                    n = next(counter)
                # a numbered variant of a held-out question: never a query-cache hit
                question = f"{questions[n % len(questions)]} ({n})"
                started = time.perf_counter()
                response = client.post("/v1/ask", json={"question": question})
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    errors += response.status_code != 200

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - started


def measure_throughput(
    settings: Settings, concurrency: tuple[int, ...] = (1, 2, 4), seconds: float = 20
) -> dict[str, Any]:
    """Answers per second of one real server process, by concurrent clients asking new questions."""
    from assistant.evaluation.bench import free_port, start_server

    corpus = load_index(settings.index_dir, model=settings.model_spec).corpus
    questions = [q.question for q in load_questions([ROOT / "eval" / "questions"], set(corpus.projects))]
    port = free_port()
    env = {
        **os.environ,
        "ASSISTANT_INDEX_DIR": str(settings.index_dir),
        "ASSISTANT_EMBEDDING_MODEL": settings.model_spec,
    }
    command = [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)]
    out: dict[str, Any] = {"seconds_per_level": seconds, "levels": []}
    with start_server(command, env, port, timeout=600) as server:
        out["server_rss_mb_when_ready"] = server.status("VmRSS")
        offset = 0
        for clients in concurrency:
            latencies, errors, wall = _load(server.base, questions, clients, seconds, offset)
            offset += len(latencies)
            out["levels"].append(
                {"clients": clients, "answers": len(latencies), "errors": errors,
                 "answers_per_second": round(len(latencies) / wall, 1), **_ms(latencies)}
            )  # fmt: skip
        out["server_rss_mb_after"] = server.status("VmRSS")
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return out


# --------------------------------------------------------------------------- PostgreSQL bytes per question

QUESTIONS_TABLE = """
CREATE TABLE questions (
    id uuid PRIMARY KEY,
    asked_at timestamptz NOT NULL,
    channel text NOT NULL,
    question_lang text NOT NULL,
    answer_lang text NOT NULL,
    question_masked text NOT NULL,
    cited_ids text[] NOT NULL,
    abstained boolean NOT NULL,
    confidence real NOT NULL,
    top_score real NOT NULL,
    latency_ms real NOT NULL,
    session_hash text NOT NULL,
    question_hash text NOT NULL,
    answer_id uuid NOT NULL UNIQUE,
    town text,
    index_version text NOT NULL
);
CREATE INDEX questions_asked_at ON questions (asked_at);
CREATE INDEX questions_unanswered ON questions (abstained, asked_at);
CREATE INDEX questions_question_hash ON questions (question_hash);
"""
"""The assumed shape: what the staff pages need (time, channel, languages, the masked question,
cited projects, abstention, scores, latency) plus hashes for grouping and sessions, the answer id
for feedback, the town and the index version. Indexes: primary key, answer_id (unique, for
feedback), time (the record, purging), unanswered by time, question hash (grouping repeats)."""


def _run(command: list[str]) -> str:
    """Run a PostgreSQL tool; its own error message when it fails."""
    try:
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout
    except subprocess.CalledProcessError as exc:
        tool = next(Path(word).name for word in command if word.startswith("/"))
        raise AssistantError(f"{tool} failed: {exc.stderr.strip()}") from exc


def _pg_bin(name: str) -> str:
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / name).is_file():
            return str(folder / name)
    found = shutil.which(name)
    if found is None:
        raise AssistantError(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return found


@contextmanager
def _postgres(folder: Path) -> Iterator[tuple[str, int]]:
    """A throwaway PostgreSQL in ``folder``, as the ``postgres`` user when run as root; yields (socket dir, port)."""
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data, sockets = folder / "data", folder / "sockets"
    folder.parent.chmod(0o711)  # the temp folder is 0700: let the postgres user reach its own folder
    for path in (folder, data, sockets):
        path.mkdir(exist_ok=True)
        if as_user:
            shutil.chown(path, "postgres", "postgres")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    _run([*as_user, _pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"])
    options = f"-p {port} -k {sockets} -c listen_addresses='' -c fsync=off"
    start = [*as_user, _pg_bin("pg_ctl"), "-D", str(data), "-o", options, "-w", "-l", str(folder / "log"), "start"]
    _run(start)
    try:
        yield str(sockets), port
    finally:
        subprocess.run([*as_user, _pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True)


def _questions_csv(rows: int, questions: list[str], project_ids: list[str], seed: int = 0) -> Iterator[str]:
    rng = random.Random(seed)
    channels = ["web"] * 6 + ["line"] * 4
    langs = ["ja"] * 7 + ["ja-easy", "en", "vi", "pt", "zh"]
    towns = ["富岡市", "下仁田町", "南牧村", "甘楽町", ""]
    start = 1_767_225_600  # 2026-01-01
    for i in range(rows):
        text = rng.choice(questions)
        while len(text) < 70:  # ~80 characters, as residents write
            text += "、" + rng.choice(questions)
        masked = text[:80].replace('"', "").replace(",", "、")
        cited = rng.sample(project_ids, rng.choice([0, 1, 1, 2, 3, 3]))
        asked = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(start + i * 17))
        yield (
            ",".join(
                [
                    str(uuid.UUID(int=rng.getrandbits(128))),
                    asked,
                    rng.choice(channels),
                    rng.choice(langs),
                    rng.choice(langs[:3]),
                    f'"{masked}"',
                    '"{' + ",".join(cited) + '}"',
                    "t" if not cited else "f",
                    f"{rng.random():.4f}",
                    f"{rng.random():.4f}",
                    f"{rng.uniform(5, 60):.2f}",
                    f"{rng.getrandbits(256):064x}",
                    f"{rng.getrandbits(256):064x}",
                    str(uuid.UUID(int=rng.getrandbits(128))),
                    rng.choice(towns),
                    "20261129T213747Z-88df2533-23986bde",
                ]
            )
            + "\n"
        )


def measure_postgres(settings: Settings, rows: int = 200_000) -> dict[str, Any]:
    """Bytes per recorded question in a real PostgreSQL (table, indexes, TOAST), and per million."""
    corpus = load_index(settings.index_dir, model=settings.model_spec).corpus
    questions = [q.question for q in load_questions([ROOT / "eval" / "questions"], set(corpus.projects))]
    with tempfile.TemporaryDirectory(prefix="capacity-pg-") as folder, _postgres(Path(folder) / "pg") as (host, port):
        psql = [
            _pg_bin("psql"),
            "-h",
            host,
            "-p",
            str(port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-qAt",
        ]
        _run([*psql, "-c", QUESTIONS_TABLE])
        csv_path = Path(folder) / "questions.csv"
        with csv_path.open("w", encoding="utf-8") as handle:
            handle.writelines(_questions_csv(rows, questions, list(corpus.projects)))
        started = time.perf_counter()
        subprocess.run(
            [*psql, "-c", f"\\copy questions FROM '{csv_path}' WITH (FORMAT csv)"], check=True, capture_output=True
        )
        insert_seconds = time.perf_counter() - started
        _run([*psql, "-c", "VACUUM ANALYZE questions"])
        query = (
            "SELECT count(*), pg_relation_size('questions'), pg_indexes_size('questions'), "
            "pg_total_relation_size('questions'), avg(octet_length(question_masked)), "
            "avg(pg_column_size(questions.*)), current_setting('server_version') FROM questions"
        )
        out = _run([*psql, "-F", "|", "-c", query])
    count, heap, indexes, total, question_bytes, row_bytes, version = out.strip().split("|")
    n = int(count)
    return {
        "postgresql": version,
        "rows": n,
        "copy_seconds": round(insert_seconds, 2),
        "avg_masked_question_bytes": round(float(question_bytes), 1),
        "avg_row_datum_bytes": round(float(row_bytes), 1),
        "table_bytes_per_row": round(int(heap) / n, 1),
        "index_bytes_per_row": round(int(indexes) / n, 1),
        "total_bytes_per_row": round(int(total) / n, 1),
        "mb_per_million_questions": round(int(total) / n * 1e6 / 1e6, 1),
    }


def run_capacity(
    settings: Settings,
    sizes: list[int],
    *,
    hnsw_m: int,
    ef_search: tuple[int, ...],
    postgres_rows: int,
    throughput_seconds: float,
) -> dict[str, Any]:
    """Everything, as one JSON-ready dict (with the machine's load, since it is shared)."""
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "synthetic": f"ids prefixed {SYNTHETIC_PREFIX!r}, recombined from the real corpus in memory",
    }
    if sizes:
        report["search"] = measure_search(settings, sizes, hnsw_m=hnsw_m, ef_search=ef_search)
    if throughput_seconds > 0:
        _say("measuring one replica's throughput over HTTP")
        report["throughput"] = measure_throughput(settings, seconds=throughput_seconds)
    if postgres_rows > 0:
        _say(f"measuring PostgreSQL with {postgres_rows} rows")
        report["postgres"] = measure_postgres(settings, postgres_rows)
    return report
