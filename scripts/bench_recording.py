"""What recording costs /v1/ask: two real servers, recording on and off, asked the same questions in turn.

Usage (after `make index`)::

    .venv/bin/python scripts/bench_recording.py [--rounds 1] [--json]

Both servers (`assistant serve`, one worker each) run at the same time on loopback, each with
its own SQLite file in a temp folder; ASSISTANT_RECORD_QUESTIONS=true on one, false on the
other. Every held-out question (follow-ups left out, as in `assistant bench`) goes to both,
alternating which goes first, one request at a time over a kept-alive connection; first as a
new question, then repeated (the query cache answers). The machine is shared and noisy, so
the figures are medians and the median of the per-question differences (on - off), which
cancels most of the noise both servers see alike. It also times the request-side call itself
(`Recorder.record_answer`: the enqueue) in this process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from assistant.config import ROOT, get_settings
from assistant.corpus import load_corpus
from assistant.evaluation.bench import free_port
from assistant.evaluation.questions import load_questions
from assistant.store.db import make_engine
from assistant.store.migrate import upgrade
from assistant.store.recorder import Recorder

QUESTION = "夜中に子どもが熱を出したらどこに相談できますか"


def start(port: int, data_dir: Path, record: bool, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(data_dir),
        "ASSISTANT_DATABASE_URL": "",
        "ASSISTANT_RECORD_QUESTIONS": "true" if record else "false",
    }
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )


def wait_ready(base: str, process: subprocess.Popen[bytes], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server on {base} exited; see its log")
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"server on {base} not ready in {timeout:.0f} s")


def enqueue_cost_us(samples: int = 20_000) -> float:
    """p50 of one `record_answer` call (what the request thread pays), writer thread running."""

    class Cited:
        project_id = "sick-child-care"

    class Answer:
        answer_id = ""
        lang = answer_lang = "ja"
        abstained = follow_up = False
        confidence = 0.9
        citations = [Cited()]

    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/bench.db")
        upgrade(engine)
        recorder = Recorder(engine, max_waiting=samples)  # a burst far beyond real traffic: keep it all
        recorder.start()
        timings = []
        for i in range(samples):
            answer = Answer()
            answer.answer_id = f"a{i}"
            started = time.perf_counter()
            recorder.record_answer(answer, question=QUESTION, channel="api", session_id="s", latency_ms=1)
            timings.append((time.perf_counter() - started) * 1e6)
        recorder.close()
        engine.dispose()
    return round(statistics.median(timings), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=1, help="How many times to ask every question as repeated.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    settings = get_settings()
    corpus = load_corpus(settings.corpus_dir)
    items = load_questions([ROOT / "eval" / "questions"], set(corpus.projects))
    questions = [q.question for q in items if not q.follow_up_of]

    with tempfile.TemporaryDirectory() as folder:
        servers = {}
        for label, record in (("on", True), ("off", False)):
            port = free_port()
            data = Path(folder) / label
            servers[label] = (f"http://127.0.0.1:{port}", start(port, data, record, Path(folder) / f"{label}.log"))
        try:
            for base, process in servers.values():
                wait_ready(base, process)
            clients = {label: httpx.Client(base_url=base, timeout=60) for label, (base, _) in servers.items()}
            timings: dict[str, dict[str, list[float]]] = {
                "new": {"on": [], "off": []},
                "repeated": {"on": [], "off": []},
            }
            for phase, repeat in (("new", 1), ("repeated", args.rounds)):
                for _ in range(repeat):
                    for i, question in enumerate(questions):
                        order = ("on", "off") if i % 2 == 0 else ("off", "on")
                        for label in order:
                            started = time.perf_counter()
                            clients[label].post("/v1/ask", json={"question": question}).raise_for_status()
                            timings[phase][label].append((time.perf_counter() - started) * 1000)
            recorded = clients["on"].get("/readyz").json()["store"]
            for client in clients.values():
                client.close()
        finally:
            for _, process in servers.values():
                process.terminate()
                process.wait(timeout=60)

    result: dict[str, object] = {"questions": len(questions), "repeated_rounds": args.rounds}
    for phase, by_label in timings.items():
        differences = [a - b for a, b in zip(by_label["on"], by_label["off"], strict=True)]
        result[phase] = {
            "p50_on_ms": round(statistics.median(by_label["on"]), 2),
            "p50_off_ms": round(statistics.median(by_label["off"]), 2),
            "median_difference_ms": round(statistics.median(differences), 3),
        }
    result["enqueue_p50_us"] = enqueue_cost_us()
    result["store_after_run"] = recorded
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{len(questions)} questions, recording on vs off, asked in turn over HTTP on loopback")
    for phase in ("new", "repeated"):
        figures = result[phase]
        assert isinstance(figures, dict)
        print(
            f"  {phase:9} p50 on {figures['p50_on_ms']:.2f} ms, off {figures['p50_off_ms']:.2f} ms; "
            f"median per-question difference {figures['median_difference_ms']:+.3f} ms"
        )
    print(f"  request-side cost of record_answer (enqueue), p50: {result['enqueue_p50_us']} µs")


if __name__ == "__main__":
    main()
