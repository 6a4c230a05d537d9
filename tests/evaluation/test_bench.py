"""The bench's arithmetic and the naive baseline's vector store (the bench itself is a script: `make bench`)."""

from __future__ import annotations

import pytest

from assistant.evaluation.bench import BenchResult, Run, ServerFigures
from assistant.evaluation.metrics import percentile
from assistant.evaluation.naive import FaissVectorStore
from assistant.model.embeddings import Embedder


def _run(questions: str, clients: int, p50: float, p99: float, requests: int, seconds: float) -> Run:
    return Run(questions, clients, requests, 0, seconds, p50, p50 * 1.5, p99)


def test_percentiles_interpolate() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == pytest.approx(50.5)
    assert percentile(values, 0.99) == pytest.approx(99.01)
    assert percentile([], 0.5) == 0.0


def test_targets_are_judged_against_the_fastest_faithful_floor_and_the_baseline() -> None:
    ours = ServerFigures("ours", [3.0], rss_mb=550.0)
    ours.runs = [_run("new", 1, 9.0, 12.0, 100, 1.0), _run("repeated", 1, 1.5, 2.0, 100, 0.2)]
    ours.runs.append(_run("new", 16, 60.0, 200.0, 300, 2.0))  # 150 answers/s
    naive = ServerFigures("naive", [60.0], runs=[_run("new", 16, 300.0, 900.0, 300, 10.0)])  # 30 answers/s
    result = BenchResult(300, "onnx", {"torch": 15.0, "onnx": 7.0, "onnx-int8": 3.0}, ours, naive)
    assert result.fastest_faithful == "onnx", "int8 is faster but not faithful: it is not the floor"
    targets = result.targets()
    assert targets["p50_new_1_client_to_floor"]["measured"] == pytest.approx(9.0 / 7.0, abs=0.01)
    assert targets["throughput_new_16_clients_to_naive"]["measured"] == 5.0
    assert all(row["met"] for row in targets.values()), targets
    assert result.own_floor_ratio == pytest.approx(9.0 / 7.0, abs=0.01), "the onnx server's own floor is onnx's"
    assert "(the server's own)" not in result.table(), "on the fastest faithful backend the two ratios are one"
    int8 = BenchResult(300, "onnx-int8", result.floors_ms, ours, naive)
    assert int8.own_floor_ratio == 3.0, "an int8 server is also set against int8's own floor"
    assert "to the onnx-int8 floor (the server's own): 3.0" in int8.table()
    assert int8.as_dict()["p50_new_1_client_to_own_floor"] == 3.0
    ours.rss_mb = 700.0
    assert result.targets()["rss_mb"]["met"] is False
    assert "ours     new" in result.table() and "MISSED" in result.table()


@pytest.mark.slow
def test_the_naive_store_finds_the_nearest_passage(torch_embedder: Embedder) -> None:
    texts = ["手話奉仕員の養成講座", "災害時の給水支援", "病児・病後児保育"]
    store = FaissVectorStore.from_texts(texts, torch_embedder, [{"project_id": str(i)} for i in range(3)])
    found = store.similarity_search("子どもが熱を出して保育園に行けない", k=2)
    assert [d.metadata["project_id"] for d in found][0] == "2" and len(found) == 2
