"""Where a new answer's time goes: the model, the rest of ``ask``, and HTTP around it.

The figures behind the README's speed paragraph (one-text questions in ``ask``, time outside ``ask`` over HTTP)::

    .venv/bin/python scripts/where_time_goes.py [how many questions, default 300]

1. In process, one at a time with the caches emptied, for held-out questions that embed exactly one
   text: the p50 of the whole ``ask``, of the wait for the model, and of the work after the vector.
2. Over HTTP against a real ``assistant serve`` on loopback: the p50 of the client's time minus the
   answer's own ``elapsed_ms``, for new questions and then the same questions again (kept answers).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from concurrent.futures import Future
from typing import Any

import httpx

from assistant.answering.service import Assistant
from assistant.config import ROOT, get_settings
from assistant.evaluation.bench import free_port, our_server, start_server
from assistant.evaluation.questions import load_questions
from assistant.model.embeddings import Embedder


def in_process(questions: list[str]) -> None:
    assistant = Assistant.load(get_settings())
    assistant.warm_up()
    events: list[list[Any]] = []
    submit = Embedder.submit_queries

    def timed(self: Embedder, texts: list[str]) -> list[Future[Any]]:
        submitted = time.perf_counter()
        futures = submit(self, texts)
        for future in futures:
            event: list[Any] = [submitted, None]
            events.append(event)
            future.add_done_callback(lambda _, event=event: event.__setitem__(1, time.perf_counter()))
        return futures

    Embedder.submit_queries = timed  # type: ignore[method-assign]
    for question in questions[:30]:
        assistant.ask(question + "?")
    assistant.embedder.clear_cache()
    assistant.retriever.clear_cache()
    assistant.clear_answers()
    total, model, after = [], [], []
    for question in questions:
        events.clear()
        start = time.perf_counter()
        assistant.ask(question)
        end = time.perf_counter()
        if len(events) == 1 and events[0][1] is not None:
            total.append(end - start)
            model.append(events[0][1] - events[0][0])
            after.append(end - events[0][1])
    Embedder.submit_queries = submit  # type: ignore[method-assign]
    ms = lambda values: round(statistics.median(values) * 1000, 1)  # noqa: E731
    print(f"in process, {len(total)} questions embedding one text: ask p50 {ms(total)} ms, "
          f"model {ms(model)} ms, after the vector {ms(after)} ms")  # fmt: skip


def over_http(questions: list[str]) -> None:
    port = free_port()
    command, env = our_server(port)
    env["ASSISTANT_DATA_DIR"] = tempfile.mkdtemp(prefix="where-time-goes-")  # its records stay out of data/
    with start_server(command, env, port) as server, httpx.Client(base_url=server.base, timeout=60) as client:
        for question in questions[:20]:
            client.post("/v1/ask", json={"question": question + "?"})
        for label in ("new", "kept"):
            outside = []
            for question in questions:
                start = time.perf_counter()
                answer = client.post("/v1/ask", json={"question": question}).json()
                outside.append((time.perf_counter() - start) * 1000 - answer["elapsed_ms"])
            print(f"over HTTP, {label} answers: time outside ask p50 {statistics.median(outside):.1f} ms")


def main() -> None:
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    settings = get_settings()
    from assistant.corpus import load_corpus

    projects = set(load_corpus(settings.corpus_dir).projects)
    held_out = load_questions([ROOT / "eval" / "questions"], projects)
    questions = [q.question for q in held_out if not q.follow_up_of][:limit]
    in_process(questions)
    over_http(questions)


if __name__ == "__main__":
    main()
