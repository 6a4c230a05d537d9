"""`assistant publish` and `assistant rollback`, run as staff run them: real processes, real index, real gate.

The gate here is the real one (`assistant eval`'s code path and Gate), over a quarter of the
held-out questions and with bounds set for that subset, so each publish takes seconds, not minutes.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from assistant.config import ROOT
from assistant.search.index import load_index
from assistant.search.versions import current_name, read_history, versions
from tests.conftest import CliRunner

pytestmark = pytest.mark.slow

HELD_OUT = ROOT / "eval" / "questions"


@pytest.fixture
def gate_files(tmp_path: Path) -> tuple[Path, Path]:
    """(questions, gate): every fourth held-out Japanese, English and out-of-scope question, and bounds."""
    lines = []
    for name in ("ja.jsonl", "en.jsonl", "out_of_scope.jsonl"):
        rows = [row for row in (HELD_OUT / name).read_text(encoding="utf-8").splitlines() if row.strip()]
        lines += rows[::4]
    questions = tmp_path / "gate-questions.jsonl"
    questions.write_text("\n".join(lines) + "\n", encoding="utf-8")
    gate = tmp_path / "gate.json"
    gate.write_text(
        json.dumps(
            {"minimums": {"hit_at_1": 0.85, "abstention_recall": 0.7}, "maximums": {"false_abstention_rate": 0.15}}
        ),
        encoding="utf-8",
    )
    return questions, gate


@pytest.fixture
def env(settings, seeded_index: Path, corpus_copy: Path, gate_files: tuple[Path, Path]) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "ASSISTANT_INDEX_DIR": str(seeded_index),
        "ASSISTANT_CORPUS_DIR": str(corpus_copy),
        "ASSISTANT_EMBEDDING_MODEL": settings.model_spec,
    }


def _gate_args(gate_files: tuple[Path, Path]) -> list[str]:
    questions, gate = gate_files
    return ["--questions", str(questions), "--gate", str(gate)]


def _edit(corpus: Path, project: str, **fields: object) -> None:
    path = corpus / "projects" / f"{project}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(fields)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _leftovers(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith(".") and p.name != ".publish.lock")


def test_publish_puts_a_change_live_and_rollback_takes_it_back(
    settings, env: dict[str, str], seeded_index: Path, corpus_copy: Path, gate_files, run_cli: CliRunner
) -> None:  # type: ignore[no-untyped-def]
    before = current_name(seeded_index)
    _edit(corpus_copy, "health-dial-24", contact="富岡市 健康推進課 0274-00-0000")
    result = run_cli("publish", *_gate_args(gate_files), env=env)
    assert result.returncode == 0, result.stderr
    after = current_name(seeded_index)
    assert after != before and f"published: {after} is current (was {before})" in result.stdout
    served = load_index(seeded_index, model=settings.model_spec)
    assert served.corpus.projects["health-dial-24"].contact == "富岡市 健康推進課 0274-00-0000"
    assert [e.version for e in read_history(seeded_index)][-2:] == [before, after]

    again = run_cli("publish", *_gate_args(gate_files), env=env)
    assert again.returncode == 0 and "nothing to publish" in again.stdout and current_name(seeded_index) == after

    back = run_cli("rollback", env=env)
    assert back.returncode == 0, back.stderr
    assert current_name(seeded_index) == before and f"rolled back: {before} is current (was {after})" in back.stdout
    assert load_index(seeded_index, model=settings.model_spec).corpus.projects["health-dial-24"].contact == ""
    none_left = run_cli("rollback", env=env)
    assert none_left.returncode == 2 and "nothing to roll back to" in none_left.stderr
    assert "Traceback" not in none_left.stderr


def test_rollback_refuses_a_previous_version_the_servers_would_refuse(
    env: dict[str, str], seeded_index: Path, corpus_copy: Path, gate_files, run_cli: CliRunner
) -> None:  # type: ignore[no-untyped-def]
    """After an upgrade that changes the index format, the version before it is stale: rolling
    back to it would point CURRENT at a folder no server loads."""
    before = current_name(seeded_index)
    _edit(corpus_copy, "health-dial-24", contact="富岡市 健康推進課 0274-00-0000")
    assert run_cli("publish", *_gate_args(gate_files), env=env).returncode == 0
    after = current_name(seeded_index)
    manifest = seeded_index / before / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["index_format"] = 2
    manifest.write_text(json.dumps(data), encoding="utf-8")
    back = run_cli("rollback", env=env)
    assert back.returncode == 2 and f"the servers would refuse the previous version {before}" in back.stderr
    assert "built by an older version of the assistant" in back.stderr and "Traceback" not in back.stderr
    assert current_name(seeded_index) == after


def test_an_invalid_corpus_is_not_published_and_every_problem_is_named(
    env: dict[str, str], seeded_index: Path, corpus_copy: Path, gate_files, run_cli: CliRunner
) -> None:  # type: ignore[no-untyped-def]
    before = current_name(seeded_index)
    _edit(corpus_copy, "shared-taxi", status="someday")
    _edit(corpus_copy, "bulky-waste", examples=["粗大ごみ"])
    result = run_cli("publish", *_gate_args(gate_files), env=env)
    assert result.returncode == 2
    assert "shared-taxi.yaml: field 'status': unknown status 'someday'" in result.stderr
    assert "bulky-waste.yaml: field 'examples'" in result.stderr
    assert "CURRENT unchanged" in result.stderr and "Traceback" not in result.stderr
    assert current_name(seeded_index) == before and _leftovers(seeded_index) == []


def test_a_corpus_that_fails_the_gate_changes_nothing(
    env: dict[str, str], seeded_index: Path, corpus_copy: Path, gate_files, run_cli: CliRunner
) -> None:  # type: ignore[no-untyped-def]
    """Each project gets the next one's aliases and examples: valid YAML, wrong answers."""
    before = current_name(seeded_index)
    files = sorted((corpus_copy / "projects").glob("*.yaml"))
    data = [yaml.safe_load(f.read_text(encoding="utf-8")) for f in files]
    for i, path in enumerate(files):
        shifted = dict(
            data[i], aliases=data[(i + 1) % len(data)]["aliases"], examples=data[(i + 1) % len(data)]["examples"]
        )
        path.write_text(yaml.safe_dump(shifted, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = run_cli("publish", *_gate_args(gate_files), env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "gate: hit_at_1" in result.stderr and "is below the gate's minimum 0.8500" in result.stderr
    assert "failed the gate" in result.stderr and f"still serving {before}" in result.stderr
    assert current_name(seeded_index) == before
    assert [p.name for p in versions(seeded_index)] == [before] and _leftovers(seeded_index) == []


def test_a_second_publish_waits_for_none_and_says_why(
    env: dict[str, str], seeded_index: Path, run_cli: CliRunner
) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from pathlib import Path; from assistant.search.versions import writer_lock\n"
            f"with writer_lock(Path({str(seeded_index)!r}), 'publish'):\n"
            "    print('locked', flush=True); time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        result = run_cli("publish", env=env)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()  # type: ignore[union-attr]
    assert result.returncode == 1
    assert f"another publish is running on {seeded_index} (publish, pid {holder.pid}" in result.stderr


def _lines(process: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _kill_when(process: subprocess.Popen[str], index_dir: Path, point: str, timeout: float = 600) -> str:
    """SIGKILL the publish at ``point``: after validation starts, once its build folder exists, or in the gate."""
    lines = _lines(process)
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"publish ended before {point}: {''.join(seen)}"
        if point == "build" and any(".building-" in p.name for p in index_dir.iterdir()):
            break
        try:
            line = lines.get(timeout=0.005)
        except queue.Empty:
            continue
        seen.append(line)
        if (point == "validate" and line.startswith("validating")) or (point == "gate" and line.startswith("gate:")):
            break
    else:
        raise AssertionError(f"publish never reached {point}: {''.join(seen)}")
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return "".join(seen)


def test_kill_9_during_a_publish_leaves_the_old_version_serving_and_the_next_publish_clean(
    settings, env: dict[str, str], seeded_index: Path, corpus_copy: Path, gate_files
) -> None:  # type: ignore[no-untyped-def]
    """Killed after validation starts, mid-build (its work folder exists) and mid-gate, one after another."""
    before = current_name(seeded_index)
    _edit(corpus_copy, "sick-child-care", contact="富岡総合病院 (test)")
    for point in ("validate", "build", "gate"):
        process = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "publish", *_gate_args(gate_files)],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            _kill_when(process, seeded_index, point)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            assert process.stdout is not None
            process.stdout.close()
        assert process.returncode == -signal.SIGKILL
        assert current_name(seeded_index) == before, point
        assert load_index(seeded_index, model=settings.model_spec).manifest.version == before  # still loadable
        left = _leftovers(seeded_index)
        if point in ("build", "gate"):  # really killed with its work folder half done or unchecked …
            assert any(f".building-{process.pid}" in name for name in left), (point, left)
        assert all(str(process.pid) in name for name in left), left  # … and earlier runs' leftovers are gone

    result = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "publish", *_gate_args(gate_files)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "removed what an interrupted run left" in result.stdout
    assert current_name(seeded_index) != before and _leftovers(seeded_index) == []
    assert load_index(seeded_index, model=settings.model_spec).corpus.projects["sick-child-care"].contact == (
        "富岡総合病院 (test)"
    )
