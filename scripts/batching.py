"""What a burst of query embeddings costs per text, run three ways on the ONNX session, in process.

The figure behind ``QueryBatcher``'s lanes (docs/speed.md)::

    .venv/bin/python scripts/batching.py [bursts, default 12] [burst size, default 16]

Takes held-out questions in a fixed shuffled order, cuts them into bursts, and embeds every burst

- **one at a time**: each text its own model call, one after the other;
- **one padded call**: the whole burst in one call, padded to its longest text (the old batcher; a
  burst of up to ``batch_size`` texts, 32);
- **lanes**: through the running ``QueryBatcher`` (sorted by length, runs of similar length on as
  many threads as the session has).

Prints the median over three repetitions of milliseconds per text for each.
"""

from __future__ import annotations

import random
import statistics
import sys
import time

from assistant.config import ROOT, get_settings
from assistant.corpus import load_corpus
from assistant.evaluation.questions import load_questions
from assistant.model.backends import make_embedder


def main() -> None:
    bursts = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    settings = get_settings()
    embedder = make_embedder(settings)
    embedder.warm_up()
    projects = set(load_corpus(settings.corpus_dir).projects)
    texts = sorted({q.question for q in load_questions([ROOT / "eval" / "questions"], projects)})
    random.Random(1).shuffle(texts)
    groups = [texts[i * size : (i + 1) * size] for i in range(bursts)]
    count = sum(len(g) for g in groups)

    def one_at_a_time() -> None:
        for group in groups:
            for text in group:
                embedder.encode([text], "query")

    def padded() -> None:
        for group in groups:
            embedder.encode(group, "query")

    def lanes() -> None:
        for group in groups:
            for future in [embedder.batcher.submit(text) for text in group]:
                future.result()  # a failure is raised, not timed as fast

    ways = {"one at a time": one_at_a_time, "one padded call": padded, f"lanes ({embedder.batcher.lanes})": lanes}
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(3):
        for name, way in ways.items():
            start = time.perf_counter()
            way()
            times[name].append((time.perf_counter() - start) / count * 1000)
    print(f"{bursts} bursts of {size} held-out questions, {settings.torch_threads} threads, ms per text (median of 3):")
    for name, values in times.items():
        print(f"  {name:18} {statistics.median(values):6.2f}")


if __name__ == "__main__":
    main()
