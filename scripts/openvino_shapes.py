"""What OpenVINO's first run of a new input shape costs, against a shape it has run before, in process.

The figure behind ``WIDTH_MULTIPLE`` in :mod:`assistant.model.openvino_backend` (docs/speed.md)::

    .venv/bin/python scripts/openvino_shapes.py [questions, default 300]

Compiles the export's OpenVINO graph as the backend does, then embeds held-out questions one at a
time, twice over, at their exact token widths (no rounding, no warm-up): each question's time goes
to "new shape" when no question of its width ran before, else to "seen shape". Then the same with
widths rounded up to the backend's multiple. Prints the p50 of each and the resident memory.

Then, in a fresh session, the memory each shape keeps: RSS after one text of each width up to 128
tokens, then after runs of 2 to 8 texts of those widths.
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

from assistant.config import ROOT, get_settings
from assistant.corpus import load_corpus
from assistant.evaluation.questions import load_questions
from assistant.model.backends import make_embedder
from assistant.model.openvino_backend import WIDTH_MULTIPLE, OpenVinoEmbeddings


def rss_mb() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmRSS:"))


def run(embedder: OpenVinoEmbeddings, questions: list[str], multiple: int) -> None:
    embedder.width_multiple = multiple
    seen: set[int] = set()
    new: list[float] = []
    old: list[float] = []
    prompt = embedder.prompt("query")
    for _ in range(2):
        for question in questions:
            width = embedder._width(len(embedder.token_ids([question], "query")[0]))
            started = time.perf_counter()
            embedder._run([prompt + question])
            (old if width in seen else new).append((time.perf_counter() - started) * 1000)
            seen.add(width)
    print(
        f"widths rounded to {multiple:>2}: new shape p50 {statistics.median(new):5.2f} ms ({len(new)} runs), "
        f"seen shape p50 {statistics.median(old):5.2f} ms ({len(old)} runs), {len(seen)} shapes, RSS {rss_mb()} MB"
    )


def memory(embedder: OpenVinoEmbeddings) -> None:
    embedder._ensure_loaded()
    dimension = embedder.dimension
    widths = range(16, 129, 16)
    for width in widths:
        embedder._infer(np.zeros((1, width, dimension), np.float32), np.ones((1, width), np.int64))
    alone = rss_mb()
    for size in range(2, 9):
        for width in widths:
            embedder._infer(np.zeros((size, width, dimension), np.float32), np.ones((size, width), np.int64))
    runs = rss_mb()
    print(
        f"RSS after one text of each width up to 128 (8 shapes): {alone} MB; after runs of 2 to 8 texts of "
        f"those widths (56 more shapes): {runs} MB, {(runs - alone) / 56:.1f} MB per shape"
    )


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    settings = get_settings()
    projects = set(load_corpus(settings.corpus_dir).projects)
    questions = sorted({q.question for q in load_questions([ROOT / "eval" / "questions"], projects)})[:count]
    for multiple in (1, WIDTH_MULTIPLE):
        embedder = make_embedder(settings, backend="openvino")
        assert isinstance(embedder, OpenVinoEmbeddings)
        embedder._ensure_loaded()  # loaded, not warmed up: the first run of every shape is counted
        run(embedder, questions, multiple)
    fresh = make_embedder(settings, backend="openvino")
    assert isinstance(fresh, OpenVinoEmbeddings)
    memory(fresh)


if __name__ == "__main__":
    main()
