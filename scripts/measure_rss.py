"""Memory of one real `assistant serve` worker, at ready and after every held-out question over HTTP.

Reads ``/proc/<pid>/status`` the way ``assistant bench`` does; the figures behind the README's
"Memory" paragraph::

    .venv/bin/python scripts/measure_rss.py [port]
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import httpx

from assistant.config import ROOT
from assistant.evaluation.bench import free_port, start_server

FIELDS = ("VmRSS", "VmHWM", "RssAnon", "RssFile")


def status(pid: int) -> dict[str, float]:
    """The memory lines of ``/proc/<pid>/status``, in MB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key = line.split(":")[0]
        if key in FIELDS:
            out[key] = round(int(line.split()[1]) / 1024, 1)
    return out


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else free_port()
    questions = [
        json.loads(line)["question"]
        for path in sorted((ROOT / "eval" / "questions").glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    command = [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)]
    with start_server(command, dict(os.environ), port) as server:
        pid = server.process.pid
        print("ready", status(pid), flush=True)
        statuses = set()
        with httpx.Client(base_url=server.base, timeout=120) as client:
            for question in questions:
                statuses.add(client.post("/v1/ask", json={"question": question}).status_code)
        print(f"after {len(questions)} questions, statuses {sorted(statuses)}", status(pid), flush=True)
        print("torch mapped:", server.torch_loaded())


if __name__ == "__main__":
    main()
