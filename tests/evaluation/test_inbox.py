"""The eval inbox: staff's triage written as eval questions, one line per question, replaced not duplicated."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from assistant.config import ROOT
from assistant.corpus import load_corpus
from assistant.errors import TriageError
from assistant.evaluation.inbox import entry_id, eval_lang, triage, triaged
from assistant.evaluation.questions import load_questions

PROJECTS = set(load_corpus(ROOT / "corpus").projects)
# 2026-11-30 20:30 UTC is already 12-01 in Japan: the file and id take the JST day.
ASKED = datetime(2026, 11, 30, 20, 30, tzinfo=UTC)


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(raw) for raw in path.read_text(encoding="utf-8").splitlines() if raw.strip()]


def test_a_triaged_question_becomes_an_eval_question_in_the_jst_days_file(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    written = triage(
        inbox, answer_id="0123456789abcdef" * 2, question="電話番号は[電話番号]です。病児保育はどこ？",
        lang="ja", asked_at=ASKED, project_id="sick-child-care", projects=PROJECTS,
    )  # fmt: skip
    assert written.path == inbox / "2026-12-01.jsonl" and written.id == "inbox-2026-12-01-0123456789ab"
    assert written.replaced is False
    assert lines(written.path) == [
        {
            "id": "inbox-2026-12-01-0123456789ab",
            "question": "電話番号は[電話番号]です。病児保育はどこ？",
            "expected": ["sick-child-care"],
            "lang": "ja",
            "kind": "resident",
        }
    ]
    # The eval suite reads it as it reads the held-out set.
    (question,) = load_questions([inbox], PROJECTS)
    assert question.expected == ["sick-child-care"] and question.in_scope


def test_not_covered_is_an_out_of_scope_question(tmp_path: Path) -> None:
    written = triage(
        tmp_path, answer_id="feedbeef00112233", question="パスポートの申請はどこ", lang="ja",
        asked_at=ASKED, project_id=None, projects=PROJECTS,
    )  # fmt: skip
    (line,) = lines(written.path)
    assert line["expected"] == [] and line["kind"] == "out_of_scope"
    (question,) = load_questions([tmp_path], PROJECTS)
    assert not question.in_scope


def test_triaging_again_replaces_the_line_and_keeps_the_others(tmp_path: Path) -> None:
    common = {"lang": "ja", "asked_at": ASKED, "projects": PROJECTS}
    triage(tmp_path, answer_id="aaaa00000000", question="病児保育", project_id="sick-child-care", **common)  # type: ignore[arg-type]
    triage(tmp_path, answer_id="bbbb00000000", question="手話を習いたい", project_id=None, **common)  # type: ignore[arg-type]
    again = triage(tmp_path, answer_id="aaaa00000000", question="病児保育", project_id=None, **common)  # type: ignore[arg-type]
    assert again.replaced is True
    found = lines(again.path)
    assert [item["id"] for item in found] == ["inbox-2026-12-01-bbbb00000000", "inbox-2026-12-01-aaaa00000000"]
    assert found[1]["expected"] == []
    assert triaged(tmp_path) == {"inbox-2026-12-01-bbbb00000000": [], "inbox-2026-12-01-aaaa00000000": []}
    assert len(load_questions([tmp_path], PROJECTS)) == 2  # no duplicate id


def test_concurrent_triage_loses_no_line(tmp_path: Path) -> None:
    def one(n: int) -> None:
        triage(tmp_path, answer_id=f"{n:012x}", question=f"質問{n}", lang="ja", asked_at=ASKED,
               project_id="sick-child-care", projects=PROJECTS)  # fmt: skip

    threads = [threading.Thread(target=one, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(lines(tmp_path / "2026-12-01.jsonl")) == 20


def test_bad_choices_are_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(TriageError, match="unknown project id 'no-such-project'"):
        triage(tmp_path, answer_id="a1", question="x", lang="ja", asked_at=ASKED,
               project_id="no-such-project", projects=PROJECTS)  # fmt: skip
    with pytest.raises(TriageError, match="empty"):
        triage(tmp_path, answer_id="a1", question="  ", lang="ja", asked_at=ASKED, project_id=None, projects=PROJECTS)
    assert not list(tmp_path.glob("*.jsonl"))


def test_languages_the_eval_set_does_not_know_fall_back_to_the_answer_language() -> None:
    assert eval_lang("ja-easy") == "ja-easy"
    assert eval_lang("und", "vi") == "vi" and eval_lang("und", "und") == "en"
    assert entry_id("abcdef0123456789", datetime(2026, 1, 1, 0, 0)) == "inbox-2026-01-01-abcdef012345"


def test_eval_on_a_missing_or_empty_inbox_says_so(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    missing = run_cli("eval", "--questions", str(tmp_path / "inbox"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert f"{tmp_path / 'inbox'}: no such file or folder" in missing.stderr
    (tmp_path / "inbox").mkdir()
    empty = run_cli("eval", "--questions", str(tmp_path / "inbox"))
    assert empty.returncode == 2 and "Traceback" not in empty.stderr
    assert f"{tmp_path / 'inbox'}: no .jsonl question files" in empty.stderr


@pytest.mark.slow
def test_assistant_eval_runs_the_inbox(settings, built_index: Path, tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    inbox = tmp_path / "inbox"
    common = {"lang": "ja", "asked_at": ASKED, "projects": PROJECTS}
    triage(inbox, answer_id="c0ffee000001", question="子どもが熱を出して保育園に行けない",
           project_id="sick-child-care", **common)  # type: ignore[arg-type]  # fmt: skip
    triage(inbox, answer_id="c0ffee000002", question="今日の天気はどうですか", project_id=None, **common)  # type: ignore[arg-type]
    env = {"ASSISTANT_INDEX_DIR": str(settings.index_dir), "ASSISTANT_EMBEDDING_MODEL": settings.model_spec}
    result = run_cli("eval", "--questions", str(inbox), "--json", env=env)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)["metrics"]
    assert metrics["questions"] == 2 and metrics["in_scope"] == 1 and metrics["out_of_scope"] == 1
    assert metrics["hit_at_1"] == 1.0 and metrics["abstention_recall"] == 1.0
