"""py3langid over tables read from files: py3langid's scores bit for bit, a fraction of its memory."""

from __future__ import annotations

import json
import logging
import random
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.answering import langid
from assistant.config import ROOT
from assistant.pread import PreadArray


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cache") / langid.LANGID_DIR
    assert langid.write_tables(folder) is True
    return folder


@pytest.fixture(scope="module")
def ours(folder: Path) -> Any:
    return langid.load_identifier(folder)


@pytest.fixture(scope="module")
def reference() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _questions() -> list[str]:
    return [
        json.loads(line)["question"]
        for path in sorted((ROOT / "eval" / "questions").glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def test_every_eval_question_scores_as_py3langid_scores_it(ours: Any, reference: Any) -> None:
    rng = random.Random(7)
    texts = _questions() + ["", "a", "ABC DEF", "Ça coûte combien ?", "Tôi muốn hỏi về xe buýt"]
    texts += ["".join(chr(rng.randrange(32, 0x3100)) for _ in range(rng.randrange(1, 60))) for _ in range(200)]
    for text in texts:
        assert np.array_equal(ours._decide(text), reference._decide(text)), text
        assert ours.classify(text) == reference.classify(text), text


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=200) | st.binary(max_size=120))
def test_any_text_scores_as_py3langid_scores_it(ours: Any, reference: Any, text: str | bytes) -> None:
    assert np.array_equal(ours._decide(text), reference._decide(text))


def test_the_large_tables_are_read_not_loaded_nor_mapped(folder: Path, ours: Any) -> None:
    assert isinstance(ours.nb_ptc, PreadArray) and isinstance(ours.tk_nextmove, PreadArray)
    tracemalloc.start()
    try:
        identifier = langid.load_identifier(folder)
        identifier.classify("Is there a shared taxi for older people in Tomioka?")
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # py3langid's own model holds about 79 MB (28 MB features, 42 MB automaton); the rest is under 20.
    assert held < 20e6, held
    maps = Path("/proc/self/maps").read_text()
    assert not [name for name in langid.TABLES if name in maps]


def test_a_stale_or_unfinished_folder_is_written_again(tmp_path: Path, folder: Path) -> None:
    copy = tmp_path / langid.LANGID_DIR
    assert langid.write_tables(copy) is True
    assert langid.write_tables(copy) is False  # current: nothing to do
    info = json.loads((copy / langid.INFO).read_text())
    (copy / langid.INFO).write_text(json.dumps({**info, "model_sha256": "0" * 64}))
    assert not langid.is_current(copy)
    identifier = langid.load_identifier(copy)
    assert langid.is_current(copy) and identifier.classify("Where can I get sick-child care?")[0] == "en"
    (copy / langid.INFO).unlink()  # a crash before the last file
    assert langid.write_tables(copy) is True and langid.is_current(copy)
    with (copy / langid.TABLES[0]).open("r+b") as table:  # a damaged table
        table.truncate(1000)
    assert not langid.is_current(copy)
    assert langid.write_tables(copy) is True and langid.is_current(copy)
    assert langid.write_tables(copy, force=True) is True and langid.is_current(copy)  # model install --force
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "a temporary folder was left behind"


def test_workers_starting_together_write_the_tables_once(tmp_path: Path) -> None:
    copy = tmp_path / langid.LANGID_DIR
    with ThreadPoolExecutor(4) as pool:  # flock is per open file, so threads exclude each other as processes do
        written = list(pool.map(lambda _: langid.write_tables(copy), range(4)))
    assert sorted(written) == [False, False, False, True]
    assert langid.is_current(copy)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "a temporary folder was left behind"


def test_an_unwritable_cache_falls_back_to_py3langids_model(
    tmp_path: Path, reference: Any, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with caplog.at_level(logging.WARNING):
        identifier = langid.load_identifier(blocker / langid.LANGID_DIR)
    assert "py3langid's model is loaded into memory" in caplog.text
    assert not isinstance(identifier.nb_ptc, PreadArray)
    text = "Is there a shared taxi for older people?"
    assert np.array_equal(identifier._decide(text), reference._decide(text))


def test_a_pread_array_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    table = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.save(tmp_path / "t.npy", table)
    read = PreadArray(tmp_path / "t.npy")
    assert np.array_equal(read[np.array([3, 0, 3])], table[[3, 0, 3]]) and np.array_equal(read[2], table[2])
    with pytest.raises(IndexError, match="outside"):
        read[np.array([4])]
    with pytest.raises(IndexError, match="outside"):
        read[-1]
    for values, dtype in (([7, -2, 2**31 - 1], np.int32), ([7, 2**15 + 3, 2**16 - 1], np.uint16)):
        np.save(tmp_path / "ints.npy", np.array(values, dtype=dtype))
        assert [PreadArray(tmp_path / "ints.npy")[i] for i in range(3)] == values
    np.save(tmp_path / "ints.npy", np.array([2**31 + 5, 2**32 - 1], dtype=np.uint32))
    assert [PreadArray(tmp_path / "ints.npy")[np.int64(i)] for i in range(2)] == [2**31 + 5, 2**32 - 1]
    with pytest.raises(TypeError, match="row number"):
        read[:, [0, 1]]  # py3langid's set_languages slices columns: not supported here
    np.save(tmp_path / "f.npy", np.asfortranarray(table))
    with pytest.raises(ValueError, match="Fortran"):
        PreadArray(tmp_path / "f.npy")
    data = (tmp_path / "t.npy").read_bytes()
    (tmp_path / "short.npy").write_bytes(data[:-4])
    with pytest.raises(ValueError, match="truncated"):
        PreadArray(tmp_path / "short.npy")
