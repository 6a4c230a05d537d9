"""``assistant load`` (``make load``): a locust run against a real server on loopback.

It starts ``assistant serve`` (the configured backend) in a child process, runs locust headless
(:mod:`assistant.evaluation.locustfile`: residents asking held-out and tuning questions with
follow-ups, no pause between them) for ``seconds`` at ``users`` concurrent users, and reads
locust's CSV statistics: requests, failures, p50, p99 and answers per second. The CSVs and a
``load.json`` summary go to the output folder. Any failed request is a failed run.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from assistant.config import ROOT, Settings
from assistant.corpus import load_corpus
from assistant.errors import AssistantError
from assistant.evaluation.bench import free_port, our_server, start_server
from assistant.evaluation.questions import load_questions

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


@dataclass
class LoadSummary:
    """Locust's aggregated figures for one run."""

    users: int
    seconds: int
    requests: int
    failures: int
    p50_ms: float
    p99_ms: float
    throughput_per_s: float
    rss_mb: float
    output: str

    def text(self) -> str:
        return (
            f"locust, {self.users} users for {self.seconds} s on loopback: {self.requests} requests, "
            f"{self.failures} failures; p50 {self.p50_ms:.0f} ms, p99 {self.p99_ms:.0f} ms, "
            f"{self.throughput_per_s:.1f} answers/s; server RSS {self.rss_mb:.0f} MB\n"
            f"statistics in {self.output}"
        )


def _aggregated(stats_csv: Path) -> dict[str, str]:
    with stats_csv.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row.get("Name") == "Aggregated":
                return row
    raise AssistantError(f"locust wrote no aggregated row to {stats_csv}")


def run_load(settings: Settings, *, users: int, seconds: int, output: Path) -> LoadSummary:
    """Run locust for ``seconds`` at ``users`` users against a fresh server and summarise it.

    Raises:
        AssistantError: the server or locust could not run.
    """
    known = set(load_corpus(settings.corpus_dir).projects)
    questions = [
        q.question
        for q in load_questions([ROOT / "eval" / "questions", ROOT / "eval" / "tuning"], known)
        if not q.follow_up_of
    ]
    output.mkdir(parents=True, exist_ok=True)
    question_file = output / "questions.json"
    question_file.write_text(json.dumps(questions, ensure_ascii=False), encoding="utf-8")
    prefix = output / "locust"
    port = free_port()
    with start_server(*our_server(port), port) as server:
        command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary"]
        command += ["-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", server.base]
        command += ["--csv", str(prefix), "--loglevel", "WARNING"]
        env = {**os.environ, "ASSISTANT_LOAD_QUESTIONS": str(question_file)}
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 180, check=False)
        (output / "locust.log").write_text(done.stdout + done.stderr, encoding="utf-8")
        rss = server.status("VmRSS")
    stats = prefix.with_name(prefix.name + "_stats.csv")
    if not stats.is_file():
        raise AssistantError(f"locust did not run (exit {done.returncode}); see {output / 'locust.log'}")
    row = _aggregated(stats)
    summary = LoadSummary(
        users=users,
        seconds=seconds,
        requests=int(row["Request Count"]),
        failures=int(row["Failure Count"]),
        p50_ms=float(row["50%"]),
        p99_ms=float(row["99%"]),
        throughput_per_s=round(float(row["Requests/s"]), 1),
        rss_mb=rss,
        output=str(output),
    )
    (output / "load.json").write_text(json.dumps(asdict(summary), indent=2) + "\n", encoding="utf-8")
    return summary
