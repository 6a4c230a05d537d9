"""The OpenVINO backend: the fp32 export in bfloat16, faithful to sentence-transformers, safe from many threads."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from assistant.config import ROOT, Settings
from assistant.errors import ModelError
from assistant.model.backends import choose_backend, make_embedder
from assistant.model.embeddings import SentenceTransformerEmbeddings
from assistant.model.openvino_backend import (
    MAX_TOKENS,
    RUN_SIZE,
    WIDTH_MULTIPLE,
    OpenVinoEmbeddings,
    cpu_precision,
)
from assistant.model.verify import ONNX_THRESHOLD

pytestmark = pytest.mark.slow


def _questions() -> list[str]:
    files = sorted((ROOT / "eval" / "questions").glob("*.jsonl"))
    questions = [json.loads(line)["question"] for f in files for line in f.read_text(encoding="utf-8").splitlines()]
    return list(dict.fromkeys(questions))


@pytest.fixture(scope="module")
def openvino(settings: Settings) -> OpenVinoEmbeddings:
    embedder = make_embedder(settings, backend="openvino")
    assert isinstance(embedder, OpenVinoEmbeddings)
    embedder.warm_up()
    return embedder


def test_the_label_says_the_precision_this_cpu_computes_in(settings: Settings, openvino: OpenVinoEmbeddings) -> None:
    expected = "openvino-bf16" if cpu_precision() == "bf16" else "openvino"
    assert openvino.backend == expected
    assert choose_backend(settings, "openvino").label == expected, "the index manifest records the same label"
    with pytest.raises(ModelError, match="use onnx, onnx-int8, openvino or torch"):
        choose_backend(settings, "openvino-int8")


def test_openvino_matches_sentence_transformers_on_every_held_out_question(
    openvino: OpenVinoEmbeddings, torch_embedder: SentenceTransformerEmbeddings
) -> None:
    questions = _questions()
    ours = openvino.encode(questions, "query")
    reference = torch_embedder.encode(questions, "query")
    assert float(np.sum(ours * reference, axis=1).min()) >= ONNX_THRESHOLD
    passages = openvino.encode(questions[:40], "document")
    assert float(np.sum(passages * torch_embedder.encode(questions[:40], "document"), axis=1).min()) >= ONNX_THRESHOLD


def test_a_text_in_a_run_of_others_keeps_its_vector(openvino: OpenVinoEmbeddings) -> None:
    """A burst goes through in runs of similar length; padding moves a bfloat16 vector only in the
    sixth digit (cosine 0.9999986 at worst when measured), where int8 moved it to 0.997."""
    assert openvino.batcher.run_size == RUN_SIZE and openvino.batcher.lanes == 1
    questions = _questions()[:64]
    alone = np.stack([openvino.encode([q], "query")[0] for q in questions])
    for start in range(0, len(questions), RUN_SIZE):
        run = openvino.encode(questions[start : start + RUN_SIZE], "query")
        cosines = np.sum(run * alone[start : start + RUN_SIZE], axis=1)
        assert float(cosines.min()) > 0.99999, questions[start : start + RUN_SIZE]


def test_calls_come_in_few_shapes_and_never_larger_than_one_long_text(
    openvino: OpenVinoEmbeddings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OpenVINO keeps memory for every input shape it meets: widths are rounded up to a multiple of 16,
    and a call holds at most 512 padded tokens, however long the texts the index build hands it."""
    shapes: list[tuple[int, int]] = []
    infer = openvino._infer

    def spy(embeds: np.ndarray, mask: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
        shapes.append(mask.shape)
        return infer(embeds, mask)

    monkeypatch.setattr(openvino, "_infer", spy)
    texts = _questions()[:40] + ["病児保育の申込みについて。" * n for n in (5, 12, 20, 40, 80)]
    vectors = openvino.encode(texts, "document")
    assert vectors.shape == (len(texts), 384)
    assert all(width % WIDTH_MULTIPLE == 0 for _, width in shapes), shapes
    assert all(size * width <= MAX_TOKENS or size == 1 for size, width in shapes), shapes
    assert max(size for size, _ in shapes) > 1, "short texts still share a call"
    alone = openvino.encode([texts[-2]], "document")[0]
    assert float(vectors[-2] @ alone) > 0.99999


def test_many_threads_at_once_each_get_their_own_vectors(openvino: OpenVinoEmbeddings) -> None:
    """Each call takes an infer request of its own: one request shared by threads at once fails."""
    questions = _questions()[:48]
    serial = {q: openvino.encode([q], "query")[0].copy() for q in questions}
    results: dict[str, np.ndarray] = {}  # type: ignore[type-arg]
    barrier = threading.Barrier(8)

    def embed(share: list[str]) -> None:
        barrier.wait()
        for question in share:
            results[question] = openvino.encode([question], "query")[0]

    threads = [threading.Thread(target=embed, args=(questions[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for question in questions:
        assert np.array_equal(results[question], serial[question]), question
