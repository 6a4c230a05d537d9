"""Where a new answer's time goes: the model, the rest of ``ask``, and HTTP around it.

The figures behind docs/speed.md (one-text questions in ``ask``, time outside ``ask`` over HTTP)::

    .venv/bin/python scripts/where_time_goes.py [how many questions, default 300]

1. In process, one at a time with the caches emptied, for held-out questions that embed exactly one
   text: the p50 of the whole ``ask``, of the wait for the model, and of the work after the vector.
2. Over HTTP against a real ``assistant serve`` on loopback: the p50 of the client's time minus the
   answer's own ``elapsed_ms``, for new questions and then the same questions again (kept answers),
   and where that time goes, step by step (the server is started by this script with timing hooks,
   ``--serve``): from the app receiving the request to the answer starting (body, validation; for a
   new answer the hop to the threadpool, a kept one is looked up on the event loop), recording, back
   to the event loop until the response starts, sending the body, and outside the app (uvicorn's
   HTTP parsing, loopback, the client: httpx's ``Client``).
"""

from __future__ import annotations

import json
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


STEPS = ("to the answer", "recording", "to the response", "sending", "outside the app")


def over_http(questions: list[str]) -> None:
    port = free_port()
    _, env = our_server(port)
    env["ASSISTANT_DATA_DIR"] = tempfile.mkdtemp(prefix="where-time-goes-")  # its records stay out of data/
    command = [sys.executable, __file__, "--serve", str(port)]
    with start_server(command, env, port) as server, httpx.Client(base_url=server.base, timeout=60) as client:
        for question in questions[:20]:
            client.post("/v1/ask", json={"question": question + "?"})
        for label in ("new", "kept"):
            outside, total = [], {}
            for question in questions:
                start = time.perf_counter()
                answer = client.post("/v1/ask", json={"question": question}).json()
                total[question] = time.perf_counter() - start
                outside.append(total[question] * 1000 - answer["elapsed_ms"])
            marks = client.get("/__marks").json()
            steps: dict[str, list[float]] = {step: [] for step in STEPS}
            for question in questions:
                m = marks.get(question, {})
                if all(k in m for k in "abcdef"):
                    app = m["f"] - m["a"]
                    values = (m["b"] - m["a"], m["d"] - m["c"], m["e"] - m["d"], m["f"] - m["e"], total[question] - app)
                    for step, value in zip(STEPS, values, strict=True):
                        steps[step].append(value * 1000)
            by_step = ", ".join(f"{step} {statistics.median(v):.2f}" for step, v in steps.items() if v)
            p50 = statistics.median(outside)
            print(f"over HTTP, {label} answers: time outside ask p50 {p50:.1f} ms ({by_step} ms)")


def serve_with_marks(port: int) -> None:
    """``assistant serve`` with timing hooks: each question's marks, read back from ``GET /__marks``."""
    import api.app
    import api.routes.ask as ask_route
    import api.server
    from assistant.cli import main as cli_main

    marks: dict[str, dict[str, float]] = {}

    # api/routes/ask.py's _answer (a new answer, in the threadpool) and Assistant.kept (a kept one, on
    # the event loop) with marks around the answer; _recorded with a mark after the recording.
    def answer(assistant: Assistant, store: Any, body: Any, channel: str) -> Any:
        started = time.perf_counter()
        result = assistant.ask(body.question, body.session_id, town=body.town)
        marks.setdefault(body.question, {}).update(b=started, c=time.perf_counter())
        return ask_route._recorded(result, store, body, channel)

    kept = Assistant.kept

    def kept_marked(self: Assistant, question: object, town: str | None = None) -> Any:
        started = time.perf_counter()
        result = kept(self, question, town=town)
        if result is not None:
            marks.setdefault(str(question), {}).update(b=started, c=time.perf_counter())
        return result

    recorded = ask_route._recorded

    def recorded_marked(result: Any, store: Any, body: Any, channel: str) -> Any:
        out = recorded(result, store, body, channel)
        marks.setdefault(body.question, {})["d"] = time.perf_counter()
        return out

    create = api.app.create_app

    def create_app(*args: Any, **kwargs: Any) -> Any:
        inner = create(*args, **kwargs)

        async def timed(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                return await inner(scope, receive, send)
            if scope["path"] == "/__marks":
                await send({"type": "http.response.start", "status": 200, "headers": []})
                await send({"type": "http.response.body", "body": json.dumps(marks).encode()})
                return None
            own: dict[str, float] = {"a": time.perf_counter()}
            body: list[bytes] = []

            async def received() -> Any:
                message = await receive()
                body.append(message.get("body", b""))
                return message

            async def sent(message: Any) -> None:
                if message["type"] == "http.response.start":
                    own["e"] = time.perf_counter()
                await send(message)
                if message["type"] == "http.response.body" and not message.get("more_body"):
                    own["f"] = time.perf_counter()

            await inner(scope, received, sent)
            try:
                marks.setdefault(json.loads(b"".join(body))["question"], {}).update(own)
            except (ValueError, KeyError, TypeError):
                pass
            return None

        return timed

    ask_route._answer = answer
    ask_route._recorded = recorded_marked
    Assistant.kept = kept_marked  # type: ignore[method-assign]
    api.server.create_app = create_app  # type: ignore[attr-defined]
    sys.argv = ["assistant", "serve", "--port", str(port)]
    cli_main()  # errors as the CLI prints them


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        serve_with_marks(int(sys.argv[2]))
        return
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
