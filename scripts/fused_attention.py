"""What fusing the attention saves: the shipped ONNX graph against the graph as the dynamo exporter wrote it.

The figure behind the export's fusion step (``assistant/model/onnx_export.py``, docs/speed.md)::

    .venv/bin/python scripts/fused_attention.py [questions, default 300] [rounds, default 3]

Exports the installed model once more the old way (``torch.onnx.export(dynamo=True)``, opset 18,
no fusion; what ``assistant model install`` made before) into a temporary folder, then embeds the
first held-out questions one at a time on both graphs, in alternating rounds, with the session
options the server uses, and reports the median milliseconds per question of each round, their
ratio, the minimum cosine between the two graphs' vectors, and each graph's number of nodes. Also
how many questions per second go through each graph with two callers sharing the session (the
server's two lanes).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import ROOT, get_settings
from assistant.corpus import load_corpus
from assistant.evaluation.questions import load_questions
from assistant.model.backends import make_embedder
from assistant.model.embeddings import load_sentence_transformer
from assistant.model.onnx_backend import MODEL_FILES, OnnxEmbeddings, session_options
from assistant.model.onnx_export import _encoder_module, _quiet, _word_embeddings


def _unfused_graph(model_dir: str, out: Path) -> None:
    import torch

    st_model = load_sentence_transformer(model_dir)
    sample = st_model.tokenizer(["query: 病児保育", "passage: 子どもが熱を出して"], padding=True, return_tensors="pt")
    batch, sequence = torch.export.Dim("batch", min=1, max=4096), torch.export.Dim("sequence", min=1, max=512)
    with _quiet(), torch.inference_mode():
        torch.onnx.export(
            _encoder_module(st_model),
            (_word_embeddings(st_model)(sample["input_ids"]), sample["attention_mask"]),
            str(out),
            input_names=["inputs_embeds", "attention_mask"],
            output_names=["sentence_embedding"],
            dynamic_shapes={"inputs_embeds": {0: batch, 1: sequence}, "attention_mask": {0: batch, 1: sequence}},
            opset_version=18,
            dynamo=True,
            external_data=False,
        )


def _timed(session: Any, feeds: list[dict[str, Any]], callers: int) -> float:
    """Seconds to run every feed, shared among ``callers`` threads."""

    def work(k: int) -> None:
        for feed in feeds[k::callers]:
            session.run(None, feed)

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(k,)) for k in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def main() -> None:
    import onnx
    import onnxruntime as ort

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    settings = get_settings()
    embedder = make_embedder(settings)
    if not isinstance(embedder, OnnxEmbeddings) or embedder.quantization != "fp32":
        raise SystemExit("run with ASSISTANT_EMBEDDING_BACKEND=onnx (the fp32 export)")
    embedder.warm_up()
    projects = set(load_corpus(settings.corpus_dir).projects)
    texts = [q.question for q in load_questions([ROOT / "eval" / "questions"], projects)][:count]
    feeds = []
    for text in texts:
        ids = np.asarray(embedder._tokenizer.encode_ids(["query: " + text]), dtype=np.int64)  # type: ignore[union-attr]
        embeds = embedder._table.lookup(ids)  # type: ignore[union-attr]
        feeds.append({"inputs_embeds": embeds, "attention_mask": np.ones_like(ids)})
    options = session_options(settings.torch_threads)
    with tempfile.TemporaryDirectory() as folder:
        old = Path(folder) / "unfused.onnx"
        _unfused_graph(embedder.model_spec, old)
        sessions = {
            "fused (shipped)": ort.InferenceSession(str(embedder.export_dir / MODEL_FILES["fp32"]), options),
            "unfused (dynamo export)": ort.InferenceSession(str(old), options),
        }
        vectors = {name: np.vstack([s.run(None, f)[0] for f in feeds]) for name, s in sessions.items()}
        cosine = float(np.min(np.sum(vectors["fused (shipped)"] * vectors["unfused (dynamo export)"], axis=1)))
        nodes = {
            name: len(onnx.load(str(path), load_external_data=False).graph.node)
            for name, path in (("fused (shipped)", embedder.export_dir / MODEL_FILES["fp32"]), ("unfused", old))
        }
        print(f"nodes: fused (shipped) {nodes['fused (shipped)']}, unfused (dynamo export) {nodes['unfused']}")
        print(f"{len(feeds)} held-out questions, one at a time; min cosine between the graphs {cosine:.6f}")
        for r in range(rounds):
            medians = {}
            for name, session in sessions.items():
                times = []
                for feed in feeds:
                    started = time.perf_counter()
                    session.run(None, feed)
                    times.append((time.perf_counter() - started) * 1000)
                medians[name] = statistics.median(times)
            lanes = {name: len(feeds) / _timed(session, feeds, 2) for name, session in sessions.items()}
            fused, unfused = medians["fused (shipped)"], medians["unfused (dynamo export)"]
            print(
                f"round {r + 1}: one at a time p50 fused {fused:.2f} ms, unfused {unfused:.2f} ms "
                f"(ratio {fused / unfused:.2f}); two callers: fused {lanes['fused (shipped)']:.0f}/s, "
                f"unfused {lanes['unfused (dynamo export)']:.0f}/s"
            )


if __name__ == "__main__":
    main()
