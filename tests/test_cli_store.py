"""The CLI and the store: `assistant ask` records (channel cli) and continues sessions across runs,
`assistant eval` records nothing, `assistant report` prints the staff summary."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import CliRunner

pytestmark = pytest.mark.slow


@pytest.fixture
def env(settings, built_index, tmp_path: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "ASSISTANT_INDEX_DIR": str(settings.index_dir),
        "ASSISTANT_EMBEDDING_MODEL": settings.model_spec,
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_DATABASE_URL": "",
    }


def test_ask_records_masked_with_channel_cli_and_follow_ups_continue_across_runs(
    run_cli: CliRunner, env: dict[str, str], tmp_path: Path
) -> None:
    first = run_cli(
        "ask", "子どもが熱を出して保育園に行けない。連絡先は090-1234-5678", "--session", "s1", "--json", env=env
    )
    assert first.returncode == 0, first.stderr
    second = run_cli("ask", "それはどこにありますか？", "--session", "s1", "--json", env=env)
    assert second.returncode == 0, second.stderr
    answer = json.loads(second.stdout)
    assert answer["follow_up"] is True and answer["citations"][0]["project_id"] == "sick-child-care"

    with sqlite3.connect(tmp_path / "data" / "assistant.db") as connection:
        rows = connection.execute("SELECT channel, question, session_hash FROM questions ORDER BY id").fetchall()
    connection.close()
    assert [(c, q) for c, q, _ in rows] == [
        ("cli", "子どもが熱を出して保育園に行けない。連絡先は[電話番号]"),
        ("cli", "それはどこにありますか？"),
    ]
    assert rows[0][2] == rows[1][2] and rows[0][2] != "s1"

    report = run_cli("report", env=env)
    assert report.returncode == 0, report.stderr
    assert "Today" in report.stdout and "2 questions" in report.stdout and "cli 2" in report.stdout
    as_json = json.loads(run_cli("report", "--json", env=env).stdout)
    assert as_json["week"]["by_channel"] == {"cli": 2}


def test_eval_records_nothing(run_cli: CliRunner, env: dict[str, str], tmp_path: Path) -> None:
    questions = tmp_path / "two.jsonl"
    questions.write_text(
        '{"id": "a", "question": "病児保育", "expected": ["sick-child-care"], "lang": "ja", "kind": "polite"}\n'
        '{"id": "b", "question": "今日の天気", "expected": [], "lang": "ja", "kind": "out_of_scope"}\n',
        encoding="utf-8",
    )
    result = run_cli("eval", "--questions", str(questions), "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["metrics"]["questions"] == 2
    assert not (tmp_path / "data" / "assistant.db").exists(), "eval must not open the record"
