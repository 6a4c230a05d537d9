"""The retrieval parameters: measured ones or none, never silent defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.errors import ConfigError
from assistant.search.params import default_params_path, load_params
from tests.conftest import CliRunner


@pytest.fixture
def shipped() -> dict:  # type: ignore[type-arg]
    return json.loads(default_params_path().read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "params.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_the_shipped_parameters_load_and_were_measured() -> None:
    params = load_params()
    assert params.confidence is not None and params.measured["command"].startswith("assistant tune")


@pytest.mark.parametrize(("backend", "vectors"), [("onnx-int8", "onnx-int8"), ("onnx", "onnx"), ("torch", "onnx")])
def test_each_backend_loads_the_parameters_tuned_on_its_vectors(backend: str, vectors: str) -> None:
    """int8 vectors give other scores than fp32's: each precision has its own threshold and confidence model."""
    params = load_params(backend=backend)
    assert params.measured["backend"] == vectors
    assert default_params_path(backend).name.startswith("retrieval_params")
    assert default_params_path("onnx-int8") != default_params_path("onnx") == default_params_path("torch")


@pytest.mark.parametrize(("tuned", "running"), [("onnx-int8", "onnx"), ("onnx", "onnx-int8"), ("onnx-int8", "torch")])
def test_parameters_tuned_on_the_other_precision_are_refused(tuned: str, running: str) -> None:
    path = default_params_path(tuned)
    with pytest.raises(ConfigError) as caught:
        load_params(path, backend=running)
    message = str(caught.value)
    assert str(path) in message and f"tuned on the {tuned} backend's vectors" in message
    assert f"but {running} is configured" in message and str(default_params_path(running)) in message


def test_a_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    with pytest.raises(ConfigError, match=f"retrieval parameters {missing}: no such file"):
        load_params(missing)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda d: {}, "field 'fusion' is missing"),
        (lambda d: {k: v for k, v in d.items() if k != "threshold"}, "field 'threshold' is missing"),
        (lambda d: {**d, "treshold": 0.5}, "field 'treshold' is unknown"),
        (lambda d: {**d, "confidence": None}, "field 'confidence' is null"),
        (lambda d: {**d, "threshold": "high"}, "field 'threshold': Input should be a valid number"),
        (lambda d: {**d, "fusion": "magic"}, "field 'fusion': Input should be"),
        (lambda d: [d], "must be a JSON object, not list"),
    ],
)
def test_a_damaged_file_names_the_field(tmp_path: Path, shipped: dict, change, fragment: str) -> None:  # type: ignore[no-untyped-def, type-arg]
    path = _write(tmp_path, change(shipped))
    with pytest.raises(ConfigError) as caught:
        load_params(path)
    assert str(path) in str(caught.value) and fragment in str(caught.value)


def test_a_file_that_is_not_json_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "params.json"
    path.write_bytes(b'{"fusion": "linear",')
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_params(path)


@pytest.mark.parametrize("command", [["ask", "病児保育"], ["serve", "--port", "8798"], ["eval"]])
def test_commands_stop_with_exit_2_on_a_missing_parameters_file(
    tmp_path: Path, run_cli: CliRunner, command: list[str]
) -> None:
    missing = tmp_path / "nowhere.json"
    env = {"ASSISTANT_RETRIEVAL_PARAMS": str(missing), "ASSISTANT_INDEX_DIR": str(tmp_path / "no-index")}
    result = run_cli(*command, env=env, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"retrieval parameters {missing}: no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_command_on_fp32_refuses_the_int8_parameters(model_dir: Path, run_cli: CliRunner) -> None:
    int8 = default_params_path("onnx-int8")
    env = {"ASSISTANT_RETRIEVAL_PARAMS": str(int8), "ASSISTANT_EMBEDDING_BACKEND": "onnx"}
    result = run_cli("ask", "病児保育", env=env, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "tuned on the onnx-int8 backend's vectors" in result.stderr and "Traceback" not in result.stderr
    assert "unset ASSISTANT_RETRIEVAL_PARAMS" in result.stderr and "--output" in result.stderr


def test_tune_never_writes_over_the_other_precisions_parameters(
    tmp_path: Path, model_dir: Path, run_cli: CliRunner
) -> None:
    fp32 = tmp_path / "fp32.json"
    fp32.write_bytes(default_params_path("onnx").read_bytes())
    env = {
        "ASSISTANT_RETRIEVAL_PARAMS": str(fp32),
        "ASSISTANT_EMBEDDING_BACKEND": "onnx-int8",
        "ASSISTANT_INDEX_DIR": str(tmp_path / "no-index"),
    }
    result = run_cli("tune", env=env, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{fp32} holds parameters tuned on the onnx backend's vectors" in result.stderr
    assert "Traceback" not in result.stderr
    assert fp32.read_bytes() == default_params_path("onnx").read_bytes(), "the file is left as it was"


def test_tune_into_a_missing_folder_stops_before_tuning(tmp_path: Path, model_dir: Path, run_cli: CliRunner) -> None:
    target = tmp_path / "nowhere" / "params.json"
    result = run_cli("tune", "--output", str(target), env={"ASSISTANT_INDEX_DIR": str(tmp_path / "no-index")})
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"cannot write the retrieval parameters to {target}: no such folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_saving_parameters_where_they_cannot_be_written_names_the_file(tmp_path: Path) -> None:
    from assistant.search.params import save_params

    target = tmp_path / "nowhere" / "params.json"
    with pytest.raises(ConfigError, match=f"cannot write the retrieval parameters to {target}"):
        save_params(load_params(), target)
