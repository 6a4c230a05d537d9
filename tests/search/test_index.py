"""The index: built from corpus and model, swapped atomically, refused when stale."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from assistant.corpus import load_corpus
from assistant.errors import IndexError_, StaleIndexError
from assistant.search.index import CURRENT, build_index, current_version, load_index, read_manifest
from tests.conftest import CliRunner

pytestmark = pytest.mark.slow


def test_manifest_records_what_the_index_was_built_from(settings, built_index: Path) -> None:  # type: ignore[no-untyped-def]
    manifest = read_manifest(built_index)
    corpus = load_corpus(settings.corpus_dir)
    assert manifest.corpus_digest == corpus.digest
    assert manifest.model == settings.model_spec and manifest.dimension == 384
    assert manifest.projects == 25 and manifest.passages > 25 * 5 and manifest.negatives > 0
    assert current_version(settings.index_dir) == built_index
    for name in ("vectors.faiss", "negatives.faiss", "bm25", "passages.jsonl", "documents.jsonl", "manifest.json"):
        assert (built_index / name).exists(), name


def _index_folder(tmp_path: Path, built_index: Path, fakes: list[str]) -> Path:
    """A copy of the session's index as current (so a rebuild reuses its vectors), plus fake versions.

    A fake version is what pruning sees of one (a folder with a manifest), without building it.
    """
    shutil.copytree(built_index, tmp_path / built_index.name)
    (tmp_path / CURRENT).write_text(built_index.name + "\n", encoding="utf-8")
    for name in fakes:
        (tmp_path / name).mkdir()
        shutil.copy(built_index / "manifest.json", tmp_path / name / "manifest.json")
    return tmp_path


def _versions(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.is_dir() and (p / "manifest.json").is_file())


def test_a_rebuild_swaps_current_atomically_and_prunes_to_the_newest(
    tmp_path: Path, settings, embedder, built_index: Path
) -> None:  # type: ignore[no-untyped-def]
    old = [f"2000010{day}T000000Z-old" for day in range(1, 5)]
    index_dir = _index_folder(tmp_path, built_index, old)
    (index_dir / "notes").mkdir()  # not a version: never pruned
    new = build_index(index_dir, load_corpus(settings.corpus_dir), embedder, show_progress=False)
    assert (index_dir / CURRENT).read_text().strip() == new.name
    assert not list(index_dir.glob(".*building*")) and not list(index_dir.glob(f".{CURRENT}.*"))
    newest = sorted({*old, built_index.name, new.name})[-3:]  # KEEP_VERSIONS = 3, newest by name
    assert _versions(index_dir) == newest and old[0] not in newest and old[1] not in newest
    assert (index_dir / "notes").is_dir()


def test_pruning_never_removes_the_current_version(tmp_path: Path, settings, embedder, built_index: Path) -> None:  # type: ignore[no-untyped-def]
    later = [f"2999010{day}T000000Z-later" for day in range(1, 4)]  # three that sort after the new build
    index_dir = _index_folder(tmp_path, built_index, later)
    new = build_index(index_dir, load_corpus(settings.corpus_dir), embedder, show_progress=False)
    assert current_version(index_dir) == new
    assert _versions(index_dir) == sorted([new.name, *later])


def test_a_stale_index_is_refused_with_the_reason(
    tmp_path: Path, settings, built_index: Path, corpus_copy: Path
) -> None:  # type: ignore[no-untyped-def]
    path = corpus_copy / "projects" / "shared-taxi.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["aliases"].append("のりあい")
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    changed = load_corpus(corpus_copy)
    with pytest.raises(StaleIndexError, match="the corpus has changed since it was built"):
        load_index(
            settings.index_dir,
            corpus_digest=changed.digest,
            model=settings.model_spec,
        )
    with pytest.raises(StaleIndexError, match="built with the model"):
        load_index(
            settings.index_dir,
            corpus_digest=load_corpus(settings.corpus_dir).digest,
            model="other/model",
        )


def test_no_index_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IndexError_, match="run `assistant index build`"):
        current_version(tmp_path)


def test_serve_refuses_a_stale_index(settings, built_index: Path, corpus_copy: Path, run_cli: CliRunner) -> None:  # type: ignore[no-untyped-def]
    path = corpus_copy / "projects" / "bulky-waste.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    env = {
        "ASSISTANT_INDEX_DIR": str(settings.index_dir),
        "ASSISTANT_CORPUS_DIR": str(corpus_copy),
        "ASSISTANT_EMBEDDING_MODEL": settings.model_spec,
    }
    result = run_cli("serve", "--port", "8799", env=env, timeout=120)
    assert result.returncode == 2
    assert "is stale: the corpus has changed since it was built" in result.stderr
    assert "Traceback" not in result.stderr


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
