"""The index: built from corpus and model, carrying its corpus, swapped atomically, refused when stale."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from assistant.corpus import corpus_files, load_corpus
from assistant.errors import IndexError_, StaleIndexError
from assistant.search.index import (
    CURRENT,
    build_index,
    current_version,
    fresh_version,
    load_index,
    load_version,
    read_manifest,
)
from tests.conftest import CliRunner

pytestmark = pytest.mark.slow


def test_manifest_records_what_the_index_was_built_from(settings, built_index: Path) -> None:  # type: ignore[no-untyped-def]
    manifest = read_manifest(built_index)
    corpus = load_corpus(settings.corpus_dir)
    assert manifest.corpus_digest == corpus.digest
    assert manifest.model == settings.model_spec and manifest.dimension == 384
    assert manifest.projects == 25 and manifest.passages > 25 * 5 and manifest.negatives > 0
    assert current_version(settings.index_dir) == built_index
    for name in (
        "vectors.faiss",
        "negatives.faiss",
        "bm25",
        "negatives_bm25",
        "negatives_documents.jsonl",
        "negatives_df.json",
        "passages.jsonl",
        "documents.jsonl",
        "manifest.json",
    ):
        assert (built_index / name).exists(), name
    # The version carries the corpus it was built from, file for file.
    snapshot = built_index / "corpus"
    assert [p.relative_to(snapshot) for p in corpus_files(snapshot)] == [
        p.relative_to(settings.corpus_dir) for p in corpus_files(settings.corpus_dir)
    ]
    assert load_corpus(snapshot).digest == manifest.corpus_digest


def test_a_corpus_listing_no_out_of_scope_topic_still_builds(
    tmp_path: Path, corpus_copy: Path, embedder, settings, run_cli: CliRunner
) -> None:  # type: ignore[no-untyped-def]
    """Staff may empty out_of_scope.yaml, or list a topic whose examples hold no word BM25 keeps
    (bm25s cannot index an empty vocabulary): the index builds, its word signal reads 0, and
    `index build` warns that fewer questions will be refused."""
    from assistant.search.retrievers import LexicalRetriever
    from assistant.search.tokens import TextAnalyzer

    oos = corpus_copy / "out_of_scope.yaml"
    oos.write_text(
        "topics:\n  - id: asks-nothing\n    description: x\n"
        "    examples: ['Is it?', 'What is this?', 'Can you tell me?']\n",
        encoding="utf-8",
    )
    path = build_index(tmp_path / "index", load_corpus(corpus_copy), embedder, show_progress=False)
    assert not (path / "negatives_bm25").exists()
    index = load_version(path, model=embedder.model_spec)
    assert index.negative_bm25 is None and index.negative_topic_ids == ["asks-nothing"]
    lexical = LexicalRetriever(index=index, analyzer=TextAnalyzer())
    assert lexical.negative_coverage(lexical.analyzer.tokens("冷蔵庫を処分したい")) == 0.0
    assert lexical.project_scores("病児保育").argmax() == index.project_ids.index("sick-child-care")

    oos.write_text("topics: []\n", encoding="utf-8")
    env = {"ASSISTANT_CORPUS_DIR": str(corpus_copy), "ASSISTANT_INDEX_DIR": str(tmp_path / "index2")}
    result = run_cli("index", "build", env=env)
    assert result.returncode == 0, result.stderr
    assert "out_of_scope.yaml lists no topic" in result.stderr


def test_a_version_whose_topic_files_do_not_match_its_corpus_is_damaged(
    tmp_path: Path, built_index: Path, settings
) -> None:  # type: ignore[no-untyped-def]
    """Emptying negatives_documents.jsonl would silently switch the topics' word signal off."""
    copy = tmp_path / built_index.name
    shutil.copytree(built_index, copy)
    (copy / "negatives_documents.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(IndexError_, match="inconsistent"):
        load_version(copy, model=settings.model_spec)


def test_a_rebuild_swaps_current_atomically_and_prunes(seeded_index: Path, settings, embedder) -> None:  # type: ignore[no-untyped-def]
    corpus = load_corpus(settings.corpus_dir)
    first = build_index(seeded_index, corpus, embedder, show_progress=False)
    second = build_index(seeded_index, corpus, embedder, show_progress=False)
    assert (seeded_index / CURRENT).read_text().strip() == second.name
    assert not list(seeded_index.glob(".*building*")) and not list(seeded_index.glob(f".{CURRENT}.*"))
    assert first.exists()  # the previous version is kept for a rollback (or is the same build)


def test_a_version_serves_its_own_corpus_and_is_refused_for_another_model(
    tmp_path: Path, settings, built_index: Path, corpus_copy: Path, minilm_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    path = corpus_copy / "projects" / "shared-taxi.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["aliases"].append("のりあい")
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    changed = load_corpus(corpus_copy)

    # Staff edits do not reach a server: it loads the corpus the version was built from.
    index = load_index(settings.index_dir, model=settings.model_spec)
    assert index.corpus.digest == index.manifest.corpus_digest != changed.digest
    assert "のりあい" not in index.corpus.projects["shared-taxi"].aliases
    # `index build --if-stale` (make run) sees the change and rebuilds; an explicit digest is still checked.
    with pytest.raises(StaleIndexError, match="the corpus has changed since it was built"):
        fresh_version(settings.index_dir, corpus_digest=changed.digest, model=settings.model_spec)
    with pytest.raises(StaleIndexError, match="the corpus has changed since it was built"):
        load_index(settings.index_dir, corpus_digest=changed.digest, model=settings.model_spec)
    # A model change makes the version stale for serving too.
    with pytest.raises(StaleIndexError, match="built with the model"):
        load_index(settings.index_dir, model=str(minilm_dir))


def test_a_version_whose_corpus_copy_was_tampered_with_is_refused(tmp_path: Path, settings, built_index: Path) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / built_index.name
    shutil.copytree(built_index, copy)
    load_version(copy, model=settings.model_spec)  # intact: loads
    taxi = copy / "corpus" / "projects" / "shared-taxi.yaml"
    taxi.write_text(taxi.read_text(encoding="utf-8") + "\n# edited in place\n", encoding="utf-8")
    with pytest.raises(IndexError_, match="its corpus copy differs from its manifest"):
        load_version(copy, model=settings.model_spec)
    taxi.write_text("status: [", encoding="utf-8")
    with pytest.raises(IndexError_, match="its corpus copy does not validate"):
        load_version(copy, model=settings.model_spec)


def test_no_index_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IndexError_, match="run `assistant index build`"):
        current_version(tmp_path)


def test_serve_refuses_an_index_built_with_another_model(
    settings, built_index: Path, minilm_dir: Path, run_cli: CliRunner
) -> None:  # type: ignore[no-untyped-def]
    env = {"ASSISTANT_INDEX_DIR": str(settings.index_dir), "ASSISTANT_EMBEDDING_MODEL": str(minilm_dir)}
    result = run_cli("serve", "--port", "8799", env=env, timeout=120)
    assert result.returncode == 2
    assert f"is stale: it was built with the model {settings.model_spec!r}" in result.stderr
    assert "Traceback" not in result.stderr


def test_index_build_if_missing_seeds_only_an_empty_folder(
    settings, built_index: Path, seeded_index: Path, corpus_copy: Path, run_cli: CliRunner
) -> None:  # type: ignore[no-untyped-def]
    (corpus_copy / "projects" / "bulky-waste.yaml").write_text(
        (corpus_copy / "projects" / "bulky-waste.yaml").read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8"
    )
    env = {
        "ASSISTANT_INDEX_DIR": str(seeded_index),
        "ASSISTANT_CORPUS_DIR": str(corpus_copy),
        "ASSISTANT_EMBEDDING_MODEL": settings.model_spec,
    }
    result = run_cli("index", "build", "--if-missing", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"index present: {built_index.name}")  # never overwrites a published version


def test_index_build_if_stale_does_nothing_when_current(settings, built_index: Path, run_cli: CliRunner) -> None:  # type: ignore[no-untyped-def]
    env = {"ASSISTANT_INDEX_DIR": str(settings.index_dir), "ASSISTANT_EMBEDDING_MODEL": settings.model_spec}
    result = run_cli("index", "build", "--if-stale", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"index up to date: {built_index.name}")


def test_cli_ask_json_is_the_api_answer(settings, built_index: Path, client, run_cli: CliRunner) -> None:  # type: ignore[no-untyped-def]
    question = "手話を習ってみたいのですが、講座はありますか"
    env = {"ASSISTANT_INDEX_DIR": str(settings.index_dir), "ASSISTANT_EMBEDDING_MODEL": settings.model_spec}
    result = run_cli("ask", question, "--json", env=env)
    assert result.returncode == 0, result.stderr
    cli = json.loads(result.stdout)
    api = client.post("/v1/ask", json={"question": question}).json()
    assert cli.keys() == api.keys()
    for key in ("answer", "abstained", "lang", "answer_lang", "citations", "confidence"):
        assert cli[key] == api[key], key


def test_cli_ask_rejects_an_empty_question(settings, built_index: Path, run_cli: CliRunner) -> None:  # type: ignore[no-untyped-def]
    env = {"ASSISTANT_INDEX_DIR": str(settings.index_dir), "ASSISTANT_EMBEDDING_MODEL": settings.model_spec}
    result = run_cli("ask", "   ", env=env)
    assert result.returncode == 2 and "'question' is empty" in result.stderr and "Traceback" not in result.stderr


def test_an_index_built_with_another_backend_is_stale(tmp_path: Path, settings, built_index: Path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    copy = tmp_path / built_index.name
    shutil.copytree(built_index, copy)
    (tmp_path / CURRENT).write_text(built_index.name + "\n", encoding="utf-8")
    digest = load_corpus(settings.corpus_dir).digest
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    assert (manifest["backend"], manifest["quantization"]) == ("onnx", "fp32")
    load_index(tmp_path, corpus_digest=digest, model=settings.model_spec, backend="onnx")
    with pytest.raises(StaleIndexError, match="built with the onnx embedding backend, but onnx-int8 is configured"):
        load_index(tmp_path, corpus_digest=digest, model=settings.model_spec, backend="onnx-int8")

    for key in ("backend", "quantization"):  # a manifest from before the field: every such index was built on torch
        del manifest[key]
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert read_manifest(copy).backend_label == "torch"
    with pytest.raises(StaleIndexError, match="built with the torch embedding backend, but onnx is configured"):
        load_index(tmp_path, corpus_digest=digest, model=settings.model_spec, backend="onnx")


def test_passage_vectors_are_reused_only_from_an_index_of_the_same_format(tmp_path: Path, built_index: Path) -> None:
    """A staff edit re-embeds only changed passages, but never reuses vectors an older format made
    another way (format 4: int8 embeds each passage alone, where format 3 batched them)."""
    from assistant.search.index import INDEX_FORMAT, _known_vectors

    copy = tmp_path / built_index.name
    shutil.copytree(built_index, copy)
    (tmp_path / CURRENT).write_text(built_index.name + "\n", encoding="utf-8")
    manifest = read_manifest(copy)
    known = _known_vectors(tmp_path, manifest.model_fingerprint, manifest.backend_label)
    assert len(known) > manifest.projects, "the current index's passage vectors are reused"
    assert _known_vectors(tmp_path, manifest.model_fingerprint, "onnx-int8") == {}

    data = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    data["index_format"] = INDEX_FORMAT - 1
    (copy / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    assert _known_vectors(tmp_path, manifest.model_fingerprint, manifest.backend_label) == {}
