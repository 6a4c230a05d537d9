"""The gate file is checked, field by field, before any question runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.config import ROOT
from assistant.errors import ConfigError
from assistant.evaluation.comparison import GATE_METRICS, Gate
from tests.conftest import CliRunner

GATE = ROOT / "eval" / "gate.json"


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "gate.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_the_shipped_gate_loads() -> None:
    gate = Gate.load(GATE)
    assert gate.minimums["hit_at_1"] > 0.9 and "false_abstention_rate" in gate.maximums
    assert set(gate.minimums) | set(gate.maximums) <= set(GATE_METRICS)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"minimums": {"hit_at_l": 0.9}, "maximums": {}}, "field 'minimums.hit_at_l': unknown metric"),
        ({"minimums": {"hit_at_1": "0.9"}, "maximums": {}}, "field 'minimums.hit_at_1': the bound must be a number"),
        ({"minimums": {}, "maximums": {"false_abstention_rate": True}}, "'maximums.false_abstention_rate'"),
        ({"minimums": {}, "maximums": {"mrr": None}}, "field 'maximums.mrr': the bound must be a number, not null"),
        ({"minimums": {"hit_at_1": 0.9}}, "field 'maximums' is missing"),
        ({"minimum": {"hit_at_1": 0.9}, "maximums": {}}, "field 'minimum' is unknown"),
        ({"minimums": [0.9], "maximums": {}}, "field 'minimums' must be an object"),
        ([], "must be a JSON object"),
    ],
)
def test_a_bad_gate_names_the_file_and_the_field(tmp_path: Path, data: object, fragment: str) -> None:
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError) as caught:
        Gate.load(path)
    assert str(caught.value).startswith(f"gate file {path}") and fragment in str(caught.value)


def test_every_problem_is_named_at_once(tmp_path: Path) -> None:
    path = _write(tmp_path, {"minimums": {"hit_at_l": 0.9, "mrr": "x"}, "maximums": {"latency": 5}})
    with pytest.raises(ConfigError) as caught:
        Gate.load(path)
    for field in ("minimums.hit_at_l", "minimums.mrr", "maximums.latency"):
        assert field in str(caught.value)


def test_a_non_finite_bound_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gate.json"
    path.write_text('{"minimums": {"hit_at_1": NaN}, "maximums": {}}', encoding="utf-8")
    with pytest.raises(ConfigError, match="'minimums.hit_at_1': the bound must be a number"):
        Gate.load(path)


def test_a_missing_gate_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        Gate.load(tmp_path / "nowhere.json")


def test_eval_stops_on_a_bad_gate_before_running_a_question(tmp_path: Path, run_cli: CliRunner) -> None:
    bad = _write(tmp_path, {"minimums": {"hit_at_l": 0.9}, "maximums": {}})
    # No index here: had the eval started before reading the gate, it would fail on the index instead.
    result = run_cli("eval", "--gate", str(bad), env={"ASSISTANT_INDEX_DIR": str(tmp_path / "no-index")})
    assert result.returncode == 2, result.stderr
    assert f"gate file {bad} is invalid: field 'minimums.hit_at_l': unknown metric" in result.stderr
    assert "no search index" not in result.stderr and "Traceback" not in result.stderr
