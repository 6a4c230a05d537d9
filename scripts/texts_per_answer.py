"""How many texts one answer embeds, and the time inside ``ask``, over held-out questions, in process.

The figure behind docs/speed.md ("texts per answer")::

    .venv/bin/python scripts/texts_per_answer.py [how many questions, default 600]

and, per number of texts embedded, how many questions and their p50 time inside ``ask``; and how
long the batcher spent gathering bursts (waiting for stragglers that never come, when asked one at a time).

Counts every text the ONNX session embeds while the questions (follow-ups aside, caches emptied
first) are asked one at a time.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections import defaultdict
from typing import Any

from assistant.answering.service import Assistant
from assistant.config import ROOT, get_settings
from assistant.evaluation.questions import load_questions
from assistant.model import onnx_backend
from assistant.model.embeddings import QueryBatcher


def main() -> None:
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 600
    assistant = Assistant.load(get_settings())
    assistant.embedder.warm_up()
    questions = [
        q for q in load_questions([ROOT / "eval" / "questions"], set(assistant.corpus.projects)) if not q.follow_up_of
    ][:limit]
    counts = {"calls": 0, "texts": 0}
    run = onnx_backend.OnnxEmbeddings._run

    def counted(self: Any, prompted: list[str]) -> Any:
        counts["calls"] += 1
        counts["texts"] += len(prompted)
        return run(self, prompted)

    onnx_backend.OnnxEmbeddings._run = counted  # type: ignore[method-assign]
    gather = QueryBatcher._gather
    waits = {"bursts": 0, "seconds": 0.0}

    def timed_gather(self: QueryBatcher, first: Any, burst: bool) -> Any:
        started = time.perf_counter()
        gathered = gather(self, first, burst)
        waits["bursts"] += burst
        waits["seconds"] += time.perf_counter() - started
        return gathered

    QueryBatcher._gather = timed_gather  # type: ignore[method-assign]
    assistant.embedder.clear_cache()
    assistant.retriever.clear_cache()
    assistant.clear_answers()
    times = []
    by_texts: dict[int, list[float]] = defaultdict(list)
    for question in questions:
        before = counts["texts"]
        started = time.perf_counter()
        assistant.ask(question.question)
        times.append((time.perf_counter() - started) * 1000)
        by_texts[counts["texts"] - before].append(times[-1])
    n = len(questions)
    print(
        f"{n} questions: {counts['texts'] / n:.2f} texts and {counts['calls'] / n:.2f} model calls per answer; "
        f"ask p50 {statistics.median(times):.1f} ms, mean {statistics.mean(times):.1f} ms"
    )
    print(
        f"the batcher gathered {waits['bursts']} bursts that may wait for stragglers, "
        f"{waits['seconds'] * 1000:.0f} ms spent gathering in all"
    )
    for texts, spent in sorted(by_texts.items()):
        print(f"  {len(spent):4d} questions embed {texts:2d} texts: ask p50 {statistics.median(spent):.1f} ms")


if __name__ == "__main__":
    main()
