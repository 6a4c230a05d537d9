"""The query batcher's scheduling: bursts gathered, cut into runs of similar length, run on lanes.

The encode function here is a plain Python function standing in for the model, so the test can see
what each model call carried and how many ran at once; the real model goes through the same batcher
in ``test_onnx.py`` and ``tests/answering/test_concurrency.py``.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from assistant.model.embeddings import QueryBatcher


class Recorder:
    """Encodes a text as [its length, its first code point] and records every call."""

    def __init__(self, *, fail_on: str = "") -> None:
        self.calls: list[list[str]] = []
        self.running = 0
        self.peak = 0
        self.fail_on = fail_on
        self.lock = threading.Lock()
        self.gate = threading.Event()

    def __call__(self, texts: list[str]) -> np.ndarray:  # type: ignore[type-arg]
        with self.lock:
            self.calls.append(list(texts))
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(0.05)
        with self.lock:
            self.running -= 1
        if self.fail_on in texts:
            raise RuntimeError(f"cannot embed {self.fail_on}")
        return np.array([[len(t), ord(t[0])] for t in texts], dtype=np.float32)


def _burst(batcher: QueryBatcher, texts: list[str], encode: Recorder) -> list:  # type: ignore[type-arg]
    """Hold the batcher on a first text, queue ``texts`` behind it, and return their futures."""
    first = batcher.submit("x")
    time.sleep(0.01)  # the batcher is now inside the first call; the burst queues up behind it
    futures = [batcher.submit(t) for t in texts]
    first.result(timeout=5)
    return futures


def test_a_burst_is_cut_into_runs_of_similar_length_on_every_lane() -> None:
    encode = Recorder()
    batcher = QueryBatcher(encode, lanes=2, run_size=2, max_wait=0)
    texts = ["a" * n for n in (9, 1, 7, 3, 5, 2, 8, 4)]
    futures = _burst(batcher, texts, encode)
    for text, future in zip(texts, futures, strict=True):
        assert future.result(timeout=5).tolist() == [len(text), ord("a")]  # each caller gets its own row
    runs = encode.calls[1:]
    assert sorted(len(run) for run in runs) == [2, 2, 2, 2]
    assert [sorted(len(t) for t in run) for run in sorted(runs, key=lambda r: len(r[0]))] == [
        [1, 2],
        [3, 4],
        [5, 7],
        [8, 9],
    ], "runs are not of neighbouring lengths"
    assert encode.peak == 2, "the lanes did not run side by side (or ran more than two at once)"
    assert batcher.batches == 2 and batcher.runs == 5


def test_one_lane_embeds_a_burst_in_one_call_and_repeats_once() -> None:
    encode = Recorder()
    batcher = QueryBatcher(encode, lanes=1, max_wait=0)
    futures = _burst(batcher, ["b", "cc", "b"], encode)
    assert [f.result(timeout=5)[0] for f in futures] == [1, 2, 1]
    assert encode.calls[1:] == [["b", "cc"]] and encode.peak == 1


def test_a_failing_run_reaches_only_its_callers() -> None:
    encode = Recorder(fail_on="zz")
    batcher = QueryBatcher(encode, lanes=2, run_size=1, max_wait=0)
    good, bad = _burst(batcher, ["y", "zz"], encode)
    assert good.result(timeout=5).tolist() == [1, ord("y")]
    with pytest.raises(RuntimeError, match="cannot embed zz"):
        bad.result(timeout=5)


def test_settings_that_cannot_work_are_refused() -> None:
    with pytest.raises(ValueError, match="lanes"):
        QueryBatcher(Recorder(), lanes=0)


def test_a_model_answering_too_few_rows_fails_its_callers_instead_of_leaving_them_waiting() -> None:
    def short(texts: list[str]) -> np.ndarray:  # type: ignore[type-arg]
        return np.zeros((len(texts) - 1, 2), dtype=np.float32)

    for lanes in (1, 2):
        batcher = QueryBatcher(short, lanes=lanes, run_size=2, max_wait=0)
        futures = [batcher.submit(t) for t in ("aa", "b", "ccc")]
        for future in futures:
            with pytest.raises(IndexError):
                future.result(timeout=5)
        again = batcher.submit("dd")  # the batcher is still alive
        with pytest.raises(IndexError):
            again.result(timeout=5)


def test_one_caller_s_texts_go_together_and_do_not_make_the_next_lone_caller_wait() -> None:
    """A question's texts are one caller: on the lanes side by side, and no straggler wait for the next question."""
    encode = Recorder()
    batcher = QueryBatcher(encode, lanes=2, run_size=2, max_wait=1.0)
    texts = ["a" * 9, "a", "a" * 5]
    futures = batcher.submit_many(texts)
    assert [f.result(timeout=5).tolist() for f in futures] == [[9, 97], [1, 97], [5, 97]]
    assert batcher.batches == 1 and encode.peak == 2, "the texts were not embedded as one burst on both lanes"
    started = time.perf_counter()
    batcher.submit("lone").result(timeout=5)
    assert time.perf_counter() - started < 0.5, "a lone question waited for stragglers after a one-caller burst"
    assert encode.calls[-1] == ["lone"] and batcher.batches == 2


def test_several_callers_make_a_burst_that_waits_for_stragglers() -> None:
    encode = Recorder()
    batcher = QueryBatcher(encode, lanes=1, max_wait=0.3)
    futures = _burst(batcher, ["b", "c"], encode)  # two callers queued behind the first
    for future in futures:
        future.result(timeout=5)
    straggler = threading.Timer(0.1, lambda: futures.append(batcher.submit("late")))
    follow = batcher.submit("next")
    straggler.start()
    follow.result(timeout=5)
    straggler.join()
    futures[-1].result(timeout=5)
    assert encode.calls[-1] == ["next", "late"], "the burst did not wait for a straggler"


def test_a_burst_stops_before_the_caller_that_would_take_it_past_max_batch() -> None:
    encode = Recorder()
    batcher = QueryBatcher(encode, lanes=1, max_batch=4, max_wait=0)
    first = batcher.submit("x")
    time.sleep(0.01)  # the batcher is inside the first call; three callers queue up behind it
    groups = [batcher.submit_many(texts) for texts in (["a", "bb"], ["ccc", "dddd", "eeeee"], ["f"])]
    first.result(timeout=5)
    for texts, futures in zip((["a", "bb"], ["ccc", "dddd", "eeeee"], ["f"]), groups, strict=True):
        assert [f.result(timeout=5)[0] for f in futures] == [len(t) for t in texts]
    assert encode.calls[1:] == [["a", "bb"], ["ccc", "dddd", "eeeee", "f"]]
    assert all(len(call) <= 4 for call in encode.calls)
