"""Settings: read from ASSISTANT_* variables; a bad value is named, never a traceback."""

from __future__ import annotations

from pathlib import Path

from assistant.config import Settings
from tests.conftest import CliRunner


def test_a_bad_setting_names_the_variable_and_value(run_cli: CliRunner) -> None:
    result = run_cli("model", "path", env={"ASSISTANT_PORT": "abc"})
    assert result.returncode == 2
    assert "ASSISTANT_PORT='abc'" in result.stderr and "Traceback" not in result.stderr


def test_defaults_and_the_model_setting(tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path)
    assert settings.model_spec == str(tmp_path / "models" / "multilingual-e5-small")
    assert Settings(embedding_model=" /models/x ").model_spec == "/models/x"
