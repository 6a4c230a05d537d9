"""Many residents at once get exactly the answers they would get one at a time."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from assistant.answering.service import AskResult, Assistant
from assistant.config import ROOT
from assistant.corpus import load_corpus
from assistant.evaluation.questions import EvalQuestion, load_questions
from tests.conftest import CORPUS

pytestmark = pytest.mark.slow

THREADS = 16


def _comparable(result: AskResult) -> dict[str, Any]:
    """Everything a resident sees, scores apart (see :func:`_same`)."""
    body = result.model_dump(exclude={"answer_id", "elapsed_ms", "session_id", "confidence"})
    for citation in body["citations"]:
        citation.pop("score", None)
    body["candidates"] = [c["project_id"] for c in body["candidates"]]
    return body


def _scores(result: AskResult) -> list[float]:
    return [result.confidence, *(citation.score for citation in result.citations)]


def _same(serial: AskResult, concurrent: AskResult) -> bool:
    """The same answer, and the same scores within batching's float noise.

    A text padded beside a longer one moves its vector in the seventh digit; the confidence model
    can carry that to the fourth (h2-en-014: 0.0385 alone, 0.0386 beside a long message), so scores
    are compared within 0.002 rather than rounded, which flipped at a rounding boundary.
    """
    ours, theirs = _scores(serial), _scores(concurrent)
    return (
        _comparable(serial) == _comparable(concurrent)
        and len(ours) == len(theirs)
        and all(abs(x - y) <= 0.002 for x, y in zip(ours, theirs, strict=True))
    )


def _chain(question: EvalQuestion, by_id: dict[str, EvalQuestion]) -> list[EvalQuestion]:
    """The conversation up to this turn, first turn first."""
    turns = [question]
    while turns[0].follow_up_of:
        turns.insert(0, by_id[turns[0].follow_up_of])
    return turns


def _ask_all(
    assistant: Assistant, questions: list[EvalQuestion], tag: str, by_id: dict[str, EvalQuestion]
) -> dict[str, AskResult]:
    """Each question in a session of its own, after the earlier turns of its conversation."""
    out = {}
    for question in questions:
        session = f"{tag}:{question.id}"
        *earlier, last = _chain(question, by_id)
        for turn in earlier:
            assistant.ask(turn.question, session_id=session)
        out[question.id] = assistant.ask(last.question, session_id=session)
    return out


def test_concurrent_answers_equal_serial_answers(assistant: Assistant) -> None:
    questions = load_questions([ROOT / "eval" / "questions"], set(load_corpus(CORPUS).projects))
    assistant.embedder.clear_cache()
    assistant.retriever.clear_cache()
    assistant.clear_answers()
    by_id = {q.id: q for q in questions}
    serial = _ask_all(assistant, questions, "serial", by_id)

    assistant.embedder.clear_cache()  # the concurrent run must reach the model, fugashi and BM25, not the caches
    assistant.retriever.clear_cache()
    assistant.clear_answers()
    before = assistant.embedder.batcher.batches
    concurrent: dict[str, AskResult] = {}
    failures: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def resident(share: list[EvalQuestion]) -> None:
        barrier.wait()
        try:
            concurrent.update(_ask_all(assistant, share, "concurrent", by_id))
        except BaseException as exc:  # surfaced below, with the thread's question
            failures.append(exc)

    # A conversation's turns stay in the thread of its first turn (a conversation is sequential).
    shares: list[list[EvalQuestion]] = [[] for _ in range(THREADS)]
    lead = {q.id: i % THREADS for i, q in enumerate(q for q in questions if not q.follow_up_of)}
    for question in questions:
        shares[lead[_chain(question, by_id)[0].id]].append(question)
    threads = [threading.Thread(target=resident, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not failures, failures[0]
    assert concurrent.keys() == serial.keys()
    differing = [qid for qid in serial if not _same(serial[qid], concurrent[qid])]
    assert differing == [], [(qid, _comparable(serial[qid]), _comparable(concurrent[qid])) for qid in differing[:2]]
    assert assistant.embedder.batcher.batches - before < len(questions), "concurrent questions were not batched"
