"""Memory of one real `assistant serve` worker, at ready and after every held-out question over HTTP.

Reads ``/proc/<pid>/status`` the way ``assistant bench`` does, then adds up ``/proc/<pid>/smaps``
by mapping (each file, the heap, anonymous memory) to show where the resident memory is; the
figures behind docs/speed.md's "Memory"::

    .venv/bin/python scripts/measure_rss.py [port]
    ASSISTANT_INDEX_DIR=/tmp/idxov ASSISTANT_EMBEDDING_BACKEND=openvino .venv/bin/python scripts/measure_rss.py
"""

from __future__ import annotations

import json
import os
import sys
from collections import defaultdict
from pathlib import Path

import httpx

from assistant.config import ROOT
from assistant.evaluation.bench import free_port, start_server

FIELDS = ("VmRSS", "VmHWM", "RssAnon", "RssFile")
LARGEST = 12
"""How many mappings to print, largest first."""


def status(pid: int) -> dict[str, float]:
    """The memory lines of ``/proc/<pid>/status``, in MB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key = line.split(":")[0]
        if key in FIELDS:
            out[key] = round(int(line.split()[1]) / 1024, 1)
    return out


def by_mapping(pid: int) -> dict[str, float]:
    """Resident MB per mapping: a file's path, ``[heap]``, ``[anon]`` for anonymous memory."""
    resident: dict[str, float] = defaultdict(float)
    name = "[anon]"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if not fields[0].endswith(":"):  # a mapping's first line: address range, perms, ..., [path]
            name = fields[5] if len(fields) > 5 else "[anon]"
        elif fields[0] == "Rss:":
            resident[name] += int(fields[1]) / 1024
    return resident


def show_mappings(pid: int) -> None:
    resident = by_mapping(pid)
    print(f"  smaps total {sum(resident.values()):.1f} MB; largest mappings:")
    for name, mb in sorted(resident.items(), key=lambda item: -item[1])[:LARGEST]:
        print(f"  {mb:8.1f} MB  {name}")


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
        show_mappings(pid)
        statuses = set()
        with httpx.Client(base_url=server.base, timeout=120) as client:
            for question in questions:
                statuses.add(client.post("/v1/ask", json={"question": question}).status_code)
        print(f"after {len(questions)} questions, statuses {sorted(statuses)}", status(pid), flush=True)
        show_mappings(pid)
        print("torch mapped:", server.torch_loaded())


if __name__ == "__main__":
    main()
