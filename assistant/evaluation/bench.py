"""``assistant bench``: how fast ``/v1/ask`` answers over real HTTP, against its floor and a naive baseline.

One run measures, on loopback:

- **the floor**: embedding one question, uncached, in this process, with each backend (torch,
  ONNX fp32, ONNX int8), each question timed on every backend in turn so the machine's noise
  falls on all alike. Issue 11's ratio target is to the fastest *faithful* backend's floor
  (``assistant model verify``: cosine ≥ 0.999 to sentence-transformers; int8 is not). When the
  server runs on another backend (int8), the ratio to that backend's own floor is reported beside it;
- **the server** (``assistant serve``, a real child process, the configured backend): time from
  start to ready, then ``/v1/ask`` at 1, 4 and 16 concurrent clients, for new questions (a fresh
  server, nothing cached) and the same questions repeated (the query cache): p50 / p95 / p99
  latency and answers per second; its resident memory (VmRSS and the peak VmHWM, from
  ``/proc``) and whether torch is mapped into it;
- **the naive baseline** (:mod:`assistant.evaluation.naive`): LangChain's
  ``HuggingFaceEmbeddings`` + a FAISS vector store + ``similarity_search`` behind a minimal
  FastAPI route, on the same passages and model, run the same way.

The load comes from aiohttp (:data:`CLIENT`), in this process, on the same two cores as the
server: httpx's ``AsyncClient`` spent about 1.5 ms of its own per request, more than the server
takes for a kept answer (``scripts/http_overhead.py``).

The machine is shared and noisy: medians, high percentiles and ratios are the figures to quote.
Results go to a JSON file (``eval/reports/bench.json`` by default).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.evaluation.metrics import percentile

LEVELS = (1, 4, 16)
CLIENT = "aiohttp"
"""The load generator: one ``aiohttp.ClientSession``, ``clients`` keep-alive connections."""
FLOOR_QUESTIONS = 60
FAITHFUL = ("torch", "onnx", "openvino-bf16", "openvino")
"""Backends that pass ``assistant model verify`` against sentence-transformers (cosine ≥ 0.999);
int8 (0.975) does not."""

TARGETS: dict[str, tuple[str, float]] = {
    "p50_new_1_client_ms": ("<=", 10.0),
    "p50_new_1_client_to_floor": ("<=", 1.5),
    "p50_repeated_1_client_ms": ("<=", 2.0),
    "throughput_new_16_clients_per_s": (">=", 100.0),
    "throughput_new_16_clients_to_naive": (">=", 3.0),
    "p99_new_16_clients_ms": ("<=", 250.0),
    "rss_mb": ("<=", 600.0),
}
"""The targets of issue 11, checked and reported (not enforced: the figures depend on the machine)."""


# --------------------------------------------------------------------------- figures


@dataclass
class Run:
    """One load: ``clients`` concurrent clients asking ``requests`` questions between them."""

    questions: str
    clients: int
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def throughput(self) -> float:
        return round(self.requests / self.seconds, 1) if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "throughput_per_s": self.throughput}


@dataclass
class ServerFigures:
    """A server process, measured."""

    name: str
    start_to_ready_s: list[float] = field(default_factory=list)
    rss_mb: float = 0.0
    peak_rss_mb: float = 0.0
    torch_loaded: bool = False
    runs: list[Run] = field(default_factory=list)

    def run(self, questions: str, clients: int) -> Run | None:
        return next((r for r in self.runs if r.questions == questions and r.clients == clients), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "start_to_ready_s": self.start_to_ready_s,
            "start_to_ready_median_s": round(statistics.median(self.start_to_ready_s), 2)
            if self.start_to_ready_s
            else None,
            "rss_mb": self.rss_mb,
            "peak_rss_mb": self.peak_rss_mb,
            "torch_loaded": self.torch_loaded,
            "runs": [r.as_dict() for r in self.runs],
        }


@dataclass
class BenchResult:
    """Everything one ``assistant bench`` measured."""

    questions: int
    backend: str
    floors_ms: dict[str, float]
    server: ServerFigures
    naive: ServerFigures | None
    date: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))

    @property
    def fastest_faithful(self) -> str:
        faithful = {k: v for k, v in self.floors_ms.items() if k in FAITHFUL}
        return min(faithful, key=faithful.__getitem__) if faithful else ""

    @property
    def floor_ms(self) -> float:
        return self.floors_ms.get(self.fastest_faithful, 0.0)

    @property
    def own_floor_ratio(self) -> float | None:
        """New-question p50 at one client over the serving backend's own floor (int8's, when it serves):
        what the answer adds to its own model call, reported beside the target's ratio."""
        new1, own = self.server.run("new", 1), self.floors_ms.get(self.backend, 0.0)
        return round(new1.p50_ms / own, 2) if new1 and own else None

    def headline(self) -> dict[str, float | None]:
        """The figures the targets are about."""
        new1, rep1, new16 = self.server.run("new", 1), self.server.run("repeated", 1), self.server.run("new", 16)
        naive16 = self.naive.run("new", 16) if self.naive else None
        return {
            "p50_new_1_client_ms": new1.p50_ms if new1 else None,
            "p50_new_1_client_to_floor": round(new1.p50_ms / self.floor_ms, 2) if new1 and self.floor_ms else None,
            "p50_repeated_1_client_ms": rep1.p50_ms if rep1 else None,
            "throughput_new_16_clients_per_s": new16.throughput if new16 else None,
            "throughput_new_16_clients_to_naive": round(new16.throughput / naive16.throughput, 2)
            if new16 and naive16 and naive16.throughput
            else None,
            "p99_new_16_clients_ms": new16.p99_ms if new16 else None,
            "rss_mb": self.server.rss_mb,
        }

    def targets(self) -> dict[str, dict[str, Any]]:
        out = {}
        for name, value in self.headline().items():
            op, bound = TARGETS[name]
            met = None if value is None else (value <= bound if op == "<=" else value >= bound)
            out[name] = {"measured": value, "target": f"{op} {bound:g}", "met": met}
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": "assistant bench",
            "date": self.date,
            "machine": {"cpus": os.cpu_count()},
            "client": CLIENT,
            "questions": self.questions,
            "backend": self.backend,
            "floors_ms": self.floors_ms,
            "fastest_faithful_backend": self.fastest_faithful,
            "p50_new_1_client_to_own_floor": self.own_floor_ratio,
            "server": self.server.as_dict(),
            "naive": self.naive.as_dict() if self.naive else None,
            "targets": self.targets(),
        }

    def table(self) -> str:
        """A readable summary: floors, one line per load, the targets."""
        floors = ", ".join(f"{k} {v:.1f} ms" for k, v in self.floors_ms.items())
        lines = [
            f"{self.questions} questions over HTTP on loopback; server backend: {self.backend}",
            f"floor (one query embedding, in process, uncached, p50 over <= {FLOOR_QUESTIONS} of them): {floors}; "
            f"fastest faithful: {self.fastest_faithful}",
            "",
            f"{'server':8} {'questions':9} {'clients':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
            f"{'answers/s':>10} {'errors':>6}",
        ]
        for server in [self.server, *([self.naive] if self.naive else [])]:
            for r in server.runs:
                lines.append(
                    f"{server.name:8} {r.questions:9} {r.clients:7d} {r.p50_ms:8.1f} {r.p95_ms:8.1f} {r.p99_ms:8.1f} "
                    f"{r.throughput:10.1f} {r.errors:6d}"
                )
        lines.append("")
        for server in [self.server, *([self.naive] if self.naive else [])]:
            ready = statistics.median(server.start_to_ready_s) if server.start_to_ready_s else 0.0
            lines.append(
                f"{server.name}: start to ready {ready:.1f} s (median of {len(server.start_to_ready_s)}), "
                f"RSS {server.rss_mb:.0f} MB (peak {server.peak_rss_mb:.0f} MB), torch loaded: {server.torch_loaded}"
            )
        lines.append("")
        if self.backend != self.fastest_faithful and self.own_floor_ratio is not None:
            lines.append(f"new p50 at 1 client to the {self.backend} floor (the server's own): {self.own_floor_ratio}")
        for name, row in self.targets().items():
            mark = {True: "met", False: "MISSED", None: "n/a"}[row["met"]]
            lines.append(f"target {name}: {row['measured']} ({row['target']}) {mark}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- the floor


def measure_floors(settings: Settings, questions: list[str], backends: list[str]) -> dict[str, float]:
    """p50 of one uncached query embedding per backend, in this process, interleaved question by question.

    ``questions`` is spread over at most :data:`FLOOR_QUESTIONS` of them (every n-th): a median
    needs no more, and torch takes long on a loaded machine.
    """
    step = max(1, len(questions) // FLOOR_QUESTIONS)
    questions = questions[::step]
    from assistant.model.backends import make_embedder

    embedders = {}
    for name in backends:
        embedder = make_embedder(settings, backend=name)
        if embedder.engine != name.split("-")[0]:  # e.g. a model with no ONNX export: torch under another label
            continue
        embedder.warm_up()
        embedder.encode(questions[:3], "query")
        embedders[embedder.backend] = embedder  # openvino: labelled with the precision this CPU computes in
    timings: dict[str, list[float]] = {name: [] for name in embedders}
    for question in questions:
        for name, embedder in embedders.items():
            started = time.perf_counter()
            embedder.encode([question], "query")
            timings[name].append((time.perf_counter() - started) * 1000)
    return {name: round(statistics.median(values), 2) for name, values in timings.items()}


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A server child process on loopback."""

    process: subprocess.Popen[bytes]
    base: str
    start_to_ready_s: float

    def status(self, key: str) -> float:
        """A ``/proc/<pid>/status`` memory figure (``VmRSS``, ``VmHWM``) in MB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return round(int(line.split()[1]) / 1024, 1)
        return 0.0

    def torch_loaded(self) -> bool:
        """Whether libtorch is mapped into the process."""
        return "libtorch" in Path(f"/proc/{self.process.pid}/maps").read_text()


@contextmanager
def start_server(command: list[str], env: dict[str, str], port: int, *, timeout: float = 900) -> Iterator[Server]:
    """Start ``command`` (listening on ``port``), wait for ``/readyz``, and stop it afterwards."""
    base = f"http://127.0.0.1:{port}"
    log = tempfile.TemporaryFile()  # the server's log (uvicorn logs every request): read only if it fails
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=Path.cwd())
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                log.seek(0)
                tail = log.read().decode(errors="replace")[-800:]
                raise AssistantError(f"the server exited before it was ready (is the index built?): {tail}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssistantError(f"the server was not ready within {timeout:.0f} s")
            time.sleep(0.05)
        yield Server(process, base, round(time.perf_counter() - started, 2))
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def our_server(port: int) -> tuple[list[str], dict[str, str]]:
    """The real server: ``assistant serve`` with the settings of this environment."""
    env = {**os.environ, "ASSISTANT_PORT": str(port), "ASSISTANT_HOST": "127.0.0.1"}
    return [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)], env


def naive_server(port: int) -> tuple[list[str], dict[str, str]]:
    """The naive LangChain baseline (:mod:`assistant.evaluation.naive`) under uvicorn."""
    from api.server import PROTOCOLS

    command = [sys.executable, "-m", "uvicorn", "assistant.evaluation.naive:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    command += [arg for name, value in PROTOCOLS.items() for arg in (f"--{name}", value)]  # the same HTTP stack
    return command, dict(os.environ)


# --------------------------------------------------------------------------- load


async def _load(base: str, questions: list[str], clients: int) -> tuple[list[float], float, int]:
    """``clients`` keep-alive connections asking in turn (aiohttp: see :data:`CLIENT`)."""
    import aiohttp

    latencies: list[float] = []
    errors = 0
    pending = iter(questions)
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(base, connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as client:

        async def worker() -> None:
            nonlocal errors
            for question in pending:
                started = time.perf_counter()
                try:
                    async with client.post("/v1/ask", json={"question": question}) as response:
                        await response.read()
                        ok = response.status == 200
                except (TimeoutError, aiohttp.ClientError):
                    ok = False
                latencies.append((time.perf_counter() - started) * 1000)
                errors += not ok

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return latencies, time.perf_counter() - started, errors


def load(base: str, questions: list[str], clients: int, label: str) -> Run:
    """Ask every question once, ``clients`` at a time, and time each answer end to end."""
    latencies, seconds, errors = asyncio.run(_load(base, questions, clients))
    return Run(
        questions=label,
        clients=clients,
        requests=len(latencies),
        errors=errors,
        seconds=round(seconds, 3),
        p50_ms=round(percentile(latencies, 0.50), 2),
        p95_ms=round(percentile(latencies, 0.95), 2),
        p99_ms=round(percentile(latencies, 0.99), 2),
    )


def _warm(base: str, questions: list[str]) -> None:
    with httpx.Client(base_url=base, timeout=120) as client:
        for question in questions:
            client.post("/v1/ask", json={"question": question})


def bench_ours(questions: list[str], warm: list[str], levels: tuple[int, ...] = LEVELS) -> ServerFigures:
    """Our server: a fresh process per level (new questions find nothing cached), then the same questions again."""
    figures = ServerFigures("ours")
    for clients in levels:
        port = free_port()
        with start_server(*our_server(port), port) as server:
            figures.start_to_ready_s.append(server.start_to_ready_s)
            _warm(server.base, warm)
            figures.runs.append(load(server.base, questions, clients, "new"))
            figures.runs.append(load(server.base, questions, clients, "repeated"))
            figures.rss_mb = max(figures.rss_mb, server.status("VmRSS"))
            figures.peak_rss_mb = max(figures.peak_rss_mb, server.status("VmHWM"))
            figures.torch_loaded = figures.torch_loaded or server.torch_loaded()
    figures.runs.sort(key=lambda r: (r.questions != "new", r.clients))
    return figures


def bench_naive(questions: list[str], warm: list[str], levels: tuple[int, ...] = LEVELS) -> ServerFigures:
    """The naive baseline: one process (it caches nothing, so every question is new)."""
    figures = ServerFigures("naive")
    port = free_port()
    with start_server(*naive_server(port), port) as server:
        figures.start_to_ready_s.append(server.start_to_ready_s)
        _warm(server.base, warm)
        for clients in levels:
            figures.runs.append(load(server.base, questions, clients, "new"))
        figures.rss_mb = server.status("VmRSS")
        figures.peak_rss_mb = server.status("VmHWM")
        figures.torch_loaded = server.torch_loaded()
    return figures


def run_bench(
    settings: Settings,
    questions: list[str],
    *,
    warm: list[str] | None = None,
    naive: bool = True,
    floors: tuple[str, ...] = ("torch", "onnx", "onnx-int8", "openvino"),
) -> BenchResult:
    """The floors in process, then our server and (unless ``naive`` is False) the baseline over HTTP."""
    from assistant.model.backends import choose_backend

    backend = choose_backend(settings).label
    warm = warm or questions[:10]
    floor = measure_floors(settings, questions, list(floors))
    ours = bench_ours(questions, warm)
    baseline = bench_naive(questions, warm) if naive else None
    return BenchResult(len(questions), backend, floor, ours, baseline)


def write_result(result: BenchResult, path: Path) -> None:
    """Write the figures as JSON (the folder is created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.as_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
