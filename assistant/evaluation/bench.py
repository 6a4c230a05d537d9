"""``assistant bench``: how fast ``/v1/ask`` answers over real HTTP, against its floor.

It starts the real server (``assistant serve``) on loopback in a child process, waits for
``/readyz``, then asks every held-out question once (new questions) and once more (repeated
questions, served from the query cache), one at a time, timing each request end to end. The
floor is the cost of embedding one question with the same model in this process, uncached:
an answer cannot be cheaper than that. The machine is shared and noisy, so it reports
medians, 95th percentiles and the ratio to the floor.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.model.embeddings import SentenceTransformerEmbeddings


@dataclass
class BenchResult:
    """Latencies in milliseconds."""

    questions: int
    floor_p50_ms: float
    new_p50_ms: float
    new_p95_ms: float
    repeated_p50_ms: float
    repeated_p95_ms: float

    @property
    def ratio_to_floor(self) -> float:
        return round(self.new_p50_ms / self.floor_p50_ms, 2) if self.floor_p50_ms else 0.0

    def as_dict(self) -> dict[str, float]:
        return {**asdict(self), "ratio_to_floor": self.ratio_to_floor}


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(base: str, process: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssistantError("the server exited before it was ready (is the index built? run `make index`)")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssistantError(f"the server was not ready within {timeout:.0f} s")


def run_bench(settings: Settings, questions: list[str]) -> BenchResult:
    """Time the floor in-process, then ``/v1/ask`` on a real server process."""
    embedder = SentenceTransformerEmbeddings(settings.model_spec, threads=settings.torch_threads, cache_size=1)
    embedder.warm_up()
    floor = []
    for question in questions:
        started = time.perf_counter()
        embedder.model.encode_query([question], normalize_embeddings=True)
        floor.append((time.perf_counter() - started) * 1000)
    del embedder

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ASSISTANT_PORT": str(port), "ASSISTANT_HOST": "127.0.0.1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=Path.cwd(),
    )
    try:
        _wait_ready(base, process)
        timings: dict[str, list[float]] = {"new": [], "repeated": []}
        with httpx.Client(base_url=base, timeout=30) as client:
            for label in ("new", "repeated"):
                for question in questions:
                    started = time.perf_counter()
                    response = client.post("/v1/ask", json={"question": question})
                    timings[label].append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()
    finally:
        process.terminate()
        process.wait(timeout=30)
    return BenchResult(
        questions=len(questions),
        floor_p50_ms=round(statistics.median(floor), 2),
        new_p50_ms=round(statistics.median(timings["new"]), 2),
        new_p95_ms=round(_p95(timings["new"]), 2),
        repeated_p50_ms=round(statistics.median(timings["repeated"]), 2),
        repeated_p95_ms=round(_p95(timings["repeated"]), 2),
    )
