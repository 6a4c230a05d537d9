"""The version store: CURRENT, history, rollback, pruning, leftovers and the writer lock, on real files."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.errors import PublishBusyError, PublishError
from assistant.search.versions import (
    CURRENT,
    HISTORY,
    activate,
    clean_leftovers,
    current_name,
    previous_version,
    prune,
    read_history,
    rollback,
    versions,
    writer_lock,
)


def _version(index_dir: Path, name: str) -> str:
    """A complete version folder (only what the store looks at: the folder and its manifest)."""
    (index_dir / name).mkdir(parents=True)
    (index_dir / name / "manifest.json").write_text(json.dumps({"version": name}), encoding="utf-8")
    return name


def test_activate_flips_current_and_records_history(tmp_path: Path) -> None:
    activate(tmp_path, _version(tmp_path, "v1"), how="index build")
    activate(tmp_path, _version(tmp_path, "v2"), how="publish")
    assert current_name(tmp_path) == "v2"
    assert [(e.version, e.how) for e in read_history(tmp_path)] == [("v1", "index build"), ("v2", "publish")]
    assert previous_version(tmp_path) == "v1"
    assert not list(tmp_path.glob(f".{CURRENT}.*")) and not list(tmp_path.glob(f".{HISTORY}.*"))


def test_activate_refuses_an_incomplete_version(tmp_path: Path) -> None:
    (tmp_path / "half").mkdir()  # no manifest: a build that died
    with pytest.raises(PublishError, match="not a complete index version"):
        activate(tmp_path, "half", how="publish")
    assert current_name(tmp_path) is None


def test_rollback_walks_back_and_then_stops(tmp_path: Path) -> None:
    for name in ("v1", "v2", "v3"):
        activate(tmp_path, _version(tmp_path, name), how="publish")
    assert rollback(tmp_path) == ("v3", "v2")
    assert current_name(tmp_path) == "v2" and previous_version(tmp_path) == "v1"
    assert rollback(tmp_path) == ("v2", "v1")
    with pytest.raises(PublishError, match="nothing to roll back to"):
        rollback(tmp_path)
    activate(tmp_path, _version(tmp_path, "v4"), how="publish")
    assert [e.version for e in read_history(tmp_path)] == ["v1", "v4"]
    assert previous_version(tmp_path) == "v1"


def test_a_crash_between_the_flip_and_the_record_is_recovered(tmp_path: Path) -> None:
    activate(tmp_path, _version(tmp_path, "v1"), how="publish")
    _version(tmp_path, "v2")
    (tmp_path / CURRENT).write_text("v2\n")  # CURRENT flipped, history not written: killed in between
    assert previous_version(tmp_path) == "v1"  # a rollback would still go to the right place
    activate(tmp_path, _version(tmp_path, "v3"), how="publish")
    assert [(e.version, e.how) for e in read_history(tmp_path)][-2:] == [("v2", "recovered"), ("v3", "publish")]
    assert previous_version(tmp_path) == "v2"


def test_a_crash_during_rollback_is_finished_by_the_next_one(tmp_path: Path) -> None:
    for name in ("v1", "v2", "v3"):
        activate(tmp_path, _version(tmp_path, name), how="publish")
    history = json.loads((tmp_path / HISTORY).read_text())
    history["versions"] = history["versions"][:2]  # history cut back, CURRENT not yet flipped
    (tmp_path / HISTORY).write_text(json.dumps(history))
    assert rollback(tmp_path) == ("v3", "v2")


def test_pruning_keeps_current_previous_and_the_last_few(tmp_path: Path) -> None:
    for n in range(1, 8):
        activate(tmp_path, _version(tmp_path, f"v{n}"), how="publish")
    kept = [p.name for p in versions(tmp_path)]
    assert kept == ["v5", "v6", "v7"]
    rollback(tmp_path)  # v6 current, v5 previous
    orphan = _version(tmp_path, "v0-never-published")  # a publish killed after its build
    prune(tmp_path, keep=0)
    assert [p.name for p in versions(tmp_path)] == ["v5", "v6"]
    assert not (tmp_path / orphan).exists()


def test_leftovers_of_killed_writers_are_removed(tmp_path: Path) -> None:
    activate(tmp_path, _version(tmp_path, "v1"), how="publish")
    (tmp_path / ".v2.building-12345" / "bm25").mkdir(parents=True)
    (tmp_path / f".{CURRENT}.999").write_text("v2\n")
    (tmp_path / f".{HISTORY}.999").write_text("{")
    assert sorted(clean_leftovers(tmp_path)) == sorted([".v2.building-12345", f".{CURRENT}.999", f".{HISTORY}.999"])
    assert current_name(tmp_path) == "v1" and (tmp_path / "v1").is_dir()


def test_a_second_writer_is_refused_while_the_lock_is_held(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from assistant.search.versions import writer_lock\n"
            f"with writer_lock(Path({str(tmp_path)!r}), 'publish'):\n"
            "    print('locked', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(PublishBusyError, match=rf"another publish is running .*publish, pid {holder.pid}"):
            with writer_lock(tmp_path, "publish"):
                pass
    finally:
        holder.kill()  # kill -9: the kernel releases the lock
        holder.wait()
        holder.stdout.close()  # type: ignore[union-attr]
    deadline = time.monotonic() + 10
    while True:
        try:
            with writer_lock(tmp_path, "publish"):
                break
        except PublishBusyError:
            assert time.monotonic() < deadline, "the lock outlived the killed process"
            time.sleep(0.1)
