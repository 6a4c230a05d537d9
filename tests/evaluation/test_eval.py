"""The eval suite: honest question sets, correct metrics, a report staff can open, a gate that bites."""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from assistant.answering.service import Assistant
from assistant.config import ROOT
from assistant.corpus import load_corpus
from assistant.evaluation.breakdowns import probe_towns
from assistant.evaluation.comparison import Gate, evaluate
from assistant.evaluation.metrics import Outcome, compute_metrics
from assistant.evaluation.questions import EvalQuestion, QuestionSetError, load_questions
from assistant.evaluation.report import RunReport, write_report
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import CORPUS, CliRunner

HELD_OUT = ROOT / "eval" / "questions"
TUNING = ROOT / "eval" / "tuning"
GATE = ROOT / "eval" / "gate.json"


def _key(text: str) -> str:
    """Normalized for comparison: NFKC, lower case, no spaces or punctuation."""
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\s\W_]+", "", text)


@pytest.fixture(scope="module")
def project_ids() -> set[str]:
    return set(load_corpus(CORPUS).projects)


def test_held_out_set_covers_what_residents_ask(project_ids: set[str]) -> None:
    questions = load_questions([HELD_OUT], project_ids)
    assert len(questions) >= 250
    per_project = Counter(pid for q in questions for pid in q.expected)
    assert set(per_project) == project_ids
    assert min(per_project.values()) >= 6, per_project.most_common()[-3:]
    assert sum(not q.in_scope for q in questions) >= 40
    assert {"ja", "ja-easy", "en", "vi", "pt", "zh"} <= {q.lang for q in questions}
    kinds = Counter(q.kind for q in questions)
    for kind in ("polite", "casual", "hiragana", "typo", "list", "follow_up", "out_of_scope", "injection"):
        assert kinds[kind] >= 5, kind


def test_no_eval_question_is_a_corpus_example(project_ids: set[str]) -> None:
    """The eval measures generalization: its questions are not in the corpus the index is built from."""
    corpus = load_corpus(CORPUS)
    examples = {_key(e) for p in corpus.projects.values() for e in p.examples}
    examples |= {_key(e) for topic in corpus.out_of_scope for e in topic.examples}
    for folder in (HELD_OUT, TUNING):
        leaked = [q.id for q in load_questions([folder], project_ids) if _key(q.question) in examples]
        assert leaked == [], f"{folder.name}: questions also in the corpus: {leaked}"


def test_tuning_and_held_out_sets_are_separate(project_ids: set[str]) -> None:
    held_out = {_key(q.question) for q in load_questions([HELD_OUT], project_ids)}
    tuning = {_key(q.question) for q in load_questions([TUNING], project_ids)}
    assert held_out & tuning == set()


def test_a_malformed_question_file_names_file_and_line(tmp_path: Path, project_ids: set[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"id": "a", "question": "q", "expected": ["no-such-project"], "lang": "ja", "kind": "casual"}\n'
        "not json\n"
        '{"id": "a", "question": "q", "expected": [], "lang": "xx", "kind": "casual"}\n',
        encoding="utf-8",
    )
    with pytest.raises(QuestionSetError) as caught:
        load_questions([bad], project_ids)
    text = "\n".join(caught.value.problems)
    assert f"{bad}:1: field 'expected': unknown project id(s)" in text
    assert f"{bad}:2: not valid JSON" in text
    assert f"{bad}:3: field 'lang'" in text and f"{bad}:3: field 'id': duplicate id 'a'" in text


def _q(qid: str, expected: list[str], kind: str = "casual") -> EvalQuestion:
    return EvalQuestion(id=qid, question=qid, expected=expected, lang="ja", kind=kind)


def test_metrics_follow_their_definitions() -> None:
    outcomes = [
        Outcome(_q("a", ["x"]), ["x"], ["x", "y", "z"], False, 0.9, False, 10.0),  # hit
        Outcome(_q("b", ["x"]), ["y"], ["y", "x", "z"], False, 0.8, False, 20.0),  # second
        Outcome(_q("c", ["x"]), [], [], True, 0.1, False, 30.0),  # false abstention
        Outcome(_q("d", [], "out_of_scope"), [], [], True, 0.1, False, 40.0),  # right abstention
        Outcome(_q("e", [], "out_of_scope"), ["y"], ["y"], False, 0.7, False, 50.0),  # answered out of scope
    ]
    m = compute_metrics(outcomes)
    assert (m.in_scope, m.out_of_scope) == (3, 2)
    assert m.hit_at_1 == round(1 / 3, 4)
    assert m.recall_at_3 == round(2 / 3, 4)
    assert m.mrr == round((1 + 0.5 + 0) / 3, 4)
    assert m.abstention_precision == 0.5 and m.abstention_recall == 0.5
    assert m.false_abstention_rate == round(1 / 3, 4)
    assert m.latency_p50_ms == 30.0
    assert m.by_kind["out_of_scope"]["abstention_recall"] == 0.5


# --------------------------------------------------------------------------- real runs (slow)


@pytest.fixture(scope="module")
def held_out_run(assistant: Assistant, project_ids: set[str]) -> RunReport:
    """The held-out questions through the shipped configuration: exactly what `assistant eval` runs."""
    return evaluate("hybrid (shipped)", assistant, load_questions([HELD_OUT], project_ids))


@pytest.mark.slow
def test_gate_passes_on_the_shipped_configuration(held_out_run: RunReport) -> None:
    assert Gate.load(GATE).violations(held_out_run.metrics) == []


@pytest.mark.slow
def test_gate_fails_on_a_degraded_configuration(assistant: Assistant, project_ids: set[str]) -> None:
    """Switching off the lexical side (a plausible regression) must not slip through."""
    degraded_params = assistant.params.model_copy(update={"fusion": "dense"})
    degraded = Assistant(assistant.settings, assistant.corpus, assistant.index, assistant.embedder, degraded_params)
    run = evaluate("dense only, untuned", degraded, load_questions([HELD_OUT], project_ids))
    problems = Gate.load(GATE).violations(run.metrics)
    assert any(p.startswith("hit_at_1") for p in problems), problems


@pytest.mark.slow
def test_gate_fails_when_abstention_is_switched_off(assistant: Assistant, project_ids: set[str]) -> None:
    never = assistant.params.model_copy(update={"threshold": 0.0})
    degraded = Assistant(assistant.settings, assistant.corpus, assistant.index, assistant.embedder, never)
    run = evaluate("never abstains", degraded, load_questions([HELD_OUT], project_ids))
    assert any(p.startswith("abstention_recall") for p in Gate.load(GATE).violations(run.metrics))


@pytest.mark.slow
def test_report_renders_in_headless_chromium(held_out_run: RunReport, assistant: Assistant, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    towns = probe_towns(assistant)
    html_path, md_path = write_report(
        tmp_path, [held_out_run], title="Eval", meta={"command": "test"}, corpus=assistant.corpus, towns=towns
    )
    assert "| Right project first |" in md_path.read_text(encoding="utf-8")
    external: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1600})
        page.on("request", lambda r: external.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
        page.goto(html_path.as_uri())
        assert page.title() == "Eval"
        assert page.locator("svg.chart").count() == 4  # language, kind, project, confidence
        assert page.locator("table.summary tr").count() >= 8
        failures = len([o for o in held_out_run.outcomes if not o.correct])
        assert page.locator("table.failures tr").count() == failures + 1 if failures else True
        assert page.locator("table.breakdown").count() == 3  # kind, language, conversation turn
        projects = len(assistant.corpus.projects)
        assert page.locator("table.translations tr").count() == projects + 1
        assert page.locator("table.towns tr").count() == projects + 1
        assert page.locator("table.towns td[data-town]").count() == projects * len(assistant.corpus.zone.members)
        threshold = page.locator("svg.chart >> text=threshold").first
        assert threshold.is_visible()
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert external == [], f"the report loaded external assets: {external}"
    assert shot.stat().st_size > 20_000


@pytest.mark.slow
def test_eval_cli_reports_and_gates(settings, built_index: Path, tmp_path: Path, run_cli: CliRunner) -> None:  # type: ignore[no-untyped-def]
    strict = tmp_path / "gate.json"
    strict.write_text(json.dumps({"minimums": {"hit_at_1": 1.01}, "maximums": {}}), encoding="utf-8")
    env = {"ASSISTANT_INDEX_DIR": str(settings.index_dir), "ASSISTANT_EMBEDDING_MODEL": settings.model_spec}
    result = run_cli(
        "eval", "--questions", str(HELD_OUT / "list.jsonl"), "--json", "--report", str(tmp_path / "r"),
        "--gate", str(strict), env=env,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "gate: hit_at_1" in result.stderr and "below the gate's minimum 1.0100" in result.stderr
    payload = json.loads(result.stdout)
    lines = (HELD_OUT / "list.jsonl").read_text(encoding="utf-8").splitlines()
    assert payload["metrics"]["questions"] == sum(1 for line in lines if line.strip())
    assert (tmp_path / "r" / "report.html").is_file() and (tmp_path / "r" / "report.md").is_file()


def test_eval_cli_names_a_bad_question_file(tmp_path: Path, run_cli: CliRunner) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n", encoding="utf-8")
    result = run_cli("eval", "--questions", str(bad))
    assert result.returncode == 2
    assert f"{bad}:1: not valid JSON" in result.stderr and "Traceback" not in result.stderr
