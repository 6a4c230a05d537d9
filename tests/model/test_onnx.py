"""The ONNX backend: exported once, faithful to sentence-transformers, chosen by one setting, torch-free to serve."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from assistant.config import ROOT, Settings
from assistant.errors import ModelError
from assistant.model.backends import choose_backend, make_embedder
from assistant.model.embeddings import Embedder, SentenceTransformerEmbeddings
from assistant.model.fingerprint import model_fingerprint
from assistant.model.onnx_backend import EXPORT_INFO, OnnxEmbeddings, current_export, export_dir_for
from assistant.model.onnx_export import export_onnx
from assistant.model.openvino_backend import save_openvino_model
from assistant.model.verify import ONNX_THRESHOLD, VerifyReport, check_onnx, source_text_for_verify, verify_texts
from tests.conftest import CORPUS

pytestmark = pytest.mark.slow


def _questions() -> list[str]:
    files = sorted((ROOT / "eval" / "questions").glob("*.jsonl"))
    return [json.loads(line)["question"] for f in files for line in f.read_text(encoding="utf-8").splitlines()]


def test_export_is_made_once_next_to_the_model(model_dir: Path) -> None:
    export = export_dir_for(model_dir)
    info = json.loads((export / EXPORT_INFO).read_text(encoding="utf-8"))
    assert info["source_fingerprint"] == model_fingerprint(str(model_dir))
    assert info["prompts"]["query"] == "query: " and info["max_seq_length"] == 512 and info["dimension"] == 384
    for name in (
        "model.onnx",
        "model-int8.onnx",
        "openvino.xml",
        "openvino.bin",
        "word_embeddings.npy",
        "tokenizer.json",
    ):
        assert (export / name).is_file(), name
    stamp = (export / "model.onnx").stat().st_mtime_ns
    again = export_onnx(model_dir)
    assert again.built is False and (export / "model.onnx").stat().st_mtime_ns == stamp
    assert not list(export.parent.glob(f".{export.name}.building-*")), "a temp export folder was left behind"


def test_word_embeddings_are_read_from_disk_outside_the_graph(
    model_dir: Path, embedder: Embedder, torch_embedder: SentenceTransformerEmbeddings
) -> None:
    import onnx

    export = export_dir_for(model_dir)
    table = torch_embedder.model[0].auto_model.get_input_embeddings().weight.detach().numpy()
    for name in ("model.onnx", "model-int8.onnx"):
        graph = onnx.load(str(export / name), load_external_data=False).graph
        assert [i.name for i in graph.input] == ["inputs_embeds", "attention_mask"], name
        assert not [i.name for i in graph.initializer if i.dims and i.dims[0] == table.shape[0]], name
    assert isinstance(embedder, OnnxEmbeddings)
    embedder.encode(["子どもが熱を出して", "Is there a shared taxi?"], "query")
    assert embedder._table is not None and embedder._table.rows == table.shape[0]
    ids = np.array([[0, 6, 1, 1], [table.shape[0] - 1, 6, 2, 0]], dtype=np.int64)
    assert np.array_equal(embedder._table.lookup(ids), table[ids])  # bit for bit, repeats and padding included
    with pytest.raises(ModelError, match="outside the vocabulary"):
        embedder._table.lookup(np.array([[table.shape[0]]], dtype=np.int64))
    # Never mapped: a mapping would make 16 neighbouring pages resident per row used (kernel fault-around).
    assert "word_embeddings.npy" not in Path("/proc/self/maps").read_text()


def test_each_layers_attention_is_fused_into_one_operator(model_dir: Path) -> None:
    """ONNX Runtime fuses none of the attention itself; the export has its optimizer do it (onnx_export)."""
    import onnx

    export = export_dir_for(model_dir)
    info = json.loads((export / EXPORT_INFO).read_text(encoding="utf-8"))
    for name in ("model.onnx", "model-int8.onnx"):
        ops = [node.op_type for node in onnx.load(str(export / name), load_external_data=False).graph.node]
        assert ops.count("Attention") + ops.count("QAttention") == 12, name
        assert "Softmax" not in ops and ops.count("SkipLayerNormalization") == 24, name
    assert info["attention_fused"] == 12


def test_an_optimizer_that_fails_leaves_the_graph_as_exported(
    model_dir: Path, torch_embedder: SentenceTransformerEmbeddings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from onnxruntime.transformers import optimizer

    from assistant.model.onnx_export import _fuse

    graph = tmp_path / "model.onnx"
    shutil.copyfile(export_dir_for(model_dir) / "model.onnx", graph)
    before = graph.read_bytes()

    def fails(*args: object, **kwargs: object) -> None:
        raise RuntimeError("an architecture the optimizer does not know")

    monkeypatch.setattr(optimizer, "optimize_model", fails)
    assert _fuse(torch_embedder.model, graph) == 0
    assert graph.read_bytes() == before


def test_an_export_of_the_old_format_is_redone(model_dir: Path, tmp_path: Path) -> None:
    old = tmp_path / "models" / model_dir.name
    shutil.copytree(model_dir, old, copy_function=os.link)
    export = export_dir_for(old)
    shutil.copytree(export_dir_for(model_dir), export, copy_function=os.link)
    assert current_export(old)[1] is not None
    info = json.loads((export / EXPORT_INFO).read_text(encoding="utf-8"))
    (export / EXPORT_INFO).unlink()  # a hard link: write a new file, not through the link
    (export / EXPORT_INFO).write_text(json.dumps({**info, "format": 1}), encoding="utf-8")
    assert current_export(old)[1] is None  # so `assistant model install` exports again


def test_onnx_matches_sentence_transformers_on_every_held_out_question(
    embedder: Embedder, torch_embedder: SentenceTransformerEmbeddings
) -> None:
    assert isinstance(embedder, OnnxEmbeddings) and embedder.backend == "onnx"
    questions = _questions()
    ours = embedder.encode(questions, "query")
    reference = torch_embedder.encode(questions, "query")
    assert float(np.sum(ours * reference, axis=1).min()) >= 0.999
    passages = embedder.encode(questions[:40], "document")
    assert float(np.sum(passages * torch_embedder.encode(questions[:40], "document"), axis=1).min()) >= 0.999


@pytest.mark.parametrize(
    "text",
    [
        "  子どもが熱を出して  ",
        "tab\tand  double  spaces ",
        "ｶﾞｲﾄﾞ　ＡＢＣ１２３",
        "",
        "<s> literal </s>",
        "病児保育" * 400,
    ],
)
def test_token_ids_are_sentence_transformers_own(
    embedder: OnnxEmbeddings, torch_embedder: SentenceTransformerEmbeddings, text: str
) -> None:
    for kind, prompt in (("query", "query: "), ("document", "passage: ")):
        expected = torch_embedder.model.tokenizer(prompt + text, truncation=True, max_length=512)["input_ids"]
        assert embedder.token_ids([text], kind)[0] == expected  # type: ignore[arg-type]
    assert len(embedder.token_ids(["病児保育" * 400], "query")[0]) == 512  # truncated as sentence-transformers does


@pytest.mark.parametrize(("engine", "name"), [("fp32", "onnx fp32"), ("openvino", "openvino")])
def test_verify_fails_on_a_damaged_export(
    model_dir: Path, tmp_path: Path, torch_embedder: SentenceTransformerEmbeddings, engine: str, name: str
) -> None:
    """ONNX Runtime's fp32 graph and OpenVINO's copy of it are gated alike (cosine ≥ 0.999)."""
    import onnx
    from onnx import numpy_helper

    original = export_dir_for(model_dir)
    damaged = tmp_path / "damaged-onnx"
    ignore = shutil.ignore_patterns("model.onnx", "openvino.*")
    shutil.copytree(original, damaged, copy_function=os.link, ignore=ignore)
    graph = onnx.load(str(original / "model.onnx"))
    generator = np.random.default_rng(0)
    for initializer in graph.graph.initializer:
        if tuple(initializer.dims) == (1536, 384):  # the feed-forward weights of every layer
            weights = numpy_helper.to_array(initializer)
            noisy = weights + generator.normal(0, weights.std() * 0.5, weights.shape).astype(np.float32)
            initializer.CopyFrom(numpy_helper.from_array(noisy, initializer.name))
    onnx.save(graph, str(damaged / "model.onnx"))
    save_openvino_model(damaged / "model.onnx", damaged)  # what `assistant model install` converts

    texts = verify_texts(source_text_for_verify(CORPUS))["japanese"][:6]
    model = torch_embedder.model
    good = check_onnx(model, str(model_dir), original, texts, engine, ONNX_THRESHOLD, threads=2)
    bad = check_onnx(model, str(model_dir), damaged, texts, engine, ONNX_THRESHOLD, threads=2)
    assert good.passed and good.min_cosine >= 0.999 and good.name.startswith(name)
    assert not bad.passed and bad.min_cosine < 0.999
    assert bad.ids_identical == bad.texts, "the tokenizer is intact; only the weights were damaged"
    report = VerifyReport(model="damaged", threshold=0.99, cosines={"japanese": [1.0]}, onnx=[bad])
    assert not report.passed and f"verify: FAILED ({name}" in report.summary()


def test_another_model_runs_on_torch_and_says_why(minilm_dir: Path) -> None:
    settings = Settings(embedding_model=str(minilm_dir), embedding_backend="onnx")
    choice = choose_backend(settings)
    assert choice.name == "torch" and "no ONNX export" in choice.reason
    assert isinstance(make_embedder(settings), SentenceTransformerEmbeddings)


def test_default_model_without_its_export_is_a_clear_error(model_dir: Path, tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path)
    shutil.copytree(model_dir, settings.default_model_dir, copy_function=os.link)
    with pytest.raises(ModelError, match="run `assistant model install`"):
        make_embedder(settings)
    assert make_embedder(settings, backend="torch").engine == "torch"


def test_int8_is_selectable_and_recorded_as_such(settings: Settings) -> None:
    int8 = make_embedder(settings.model_copy(update={"embedding_backend": "onnx-int8"}))
    assert int8.backend == "onnx-int8" and int8.quantization == "int8"
    vector = int8.encode_query("子どもが熱を出して保育園に行けない")
    assert vector.shape == (384,) and abs(float(np.linalg.norm(vector)) - 1) < 1e-4


def test_an_int8_vector_does_not_depend_on_the_texts_beside_it(settings: Settings) -> None:
    """int8's dynamic quantization scales a call by its whole batch (padding included): beside a long
    message, a short question's vector moves below cosine 0.999 (0.9969 when first measured). int8
    embeds each text alone."""
    int8 = make_embedder(settings.model_copy(update={"embedding_backend": "onnx-int8"}))
    assert isinstance(int8, OnnxEmbeddings)
    short = "病児保育"
    long = "子どもが熱を出して保育園に行けないので、預けられるところを教えてください。仕事も休めません。" * 3
    alone = int8.encode([short], "query")[0]
    prompt = int8.prompt("query")
    cosine = float(int8._run([prompt + short, prompt + long])[0] @ alone)
    assert cosine < 0.999, f"one model call over both texts: cosine {cosine:.4f} to the text alone"
    assert np.array_equal(int8.encode([short, long], "query")[0], alone)
    assert np.array_equal(int8.encode([long, short, "手話"], "document")[1], int8.encode([short], "document")[0])
    assert int8.batcher.run_size == 1, "the batcher's lanes take one text per model call"


def test_serving_on_onnx_never_imports_torch(settings: Settings, built_index: Path) -> None:
    script = (
        "import sys\n"
        "from api.app import create_app\n"
        "from assistant.answering.service import Assistant\n"
        "from assistant.config import get_settings\n"
        "assistant = Assistant.load(get_settings())\n"
        "assistant.warm_up()\n"
        "create_app(get_settings(), assistant=assistant)\n"
        "answer = assistant.ask('子どもが熱を出して保育園に行けない')\n"
        "print(answer.citations[0].project_id, assistant.embedder.backend)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers', 'sentence_transformers'}))\n"
    )
    env = {
        **os.environ,
        "ASSISTANT_INDEX_DIR": str(settings.index_dir),
        "ASSISTANT_EMBEDDING_MODEL": settings.model_spec,
    }
    env.pop("ASSISTANT_EMBEDDING_BACKEND", None)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["sick-child-care onnx", "[]"]


def test_concurrent_queries_are_batched_and_each_gets_its_own_vector(embedder: Embedder) -> None:
    questions = list(dict.fromkeys(_questions()))[:96]
    embedder.clear_cache()
    serial = {q: embedder.encode([q], "query")[0] for q in questions}
    before = embedder.batcher.batches
    results: dict[str, np.ndarray] = {}  # type: ignore[type-arg]
    barrier = threading.Barrier(16)

    def ask(share: list[str]) -> None:
        barrier.wait()
        for question in share:
            results[question] = embedder.encode_query(question)

    threads = [threading.Thread(target=ask, args=(questions[i::16],)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    calls = embedder.batcher.batches - before
    assert calls < len(questions), f"{calls} model calls for {len(questions)} concurrent questions: nothing batched"
    assert embedder.batcher.largest > 1
    for question in questions:
        assert float(results[question] @ serial[question]) > 0.99999, question  # padding moves only the 7th digit


def test_a_model_failure_reaches_every_waiting_caller(tmp_path: Path) -> None:
    broken = OnnxEmbeddings("broken", tmp_path)  # no export there
    errors: list[BaseException] = []

    def ask(text: str) -> None:
        try:
            broken.encode_query(text)
        except ModelError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(f"question {i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(errors) == 8 and all("run `assistant model install`" in str(e) for e in errors)
