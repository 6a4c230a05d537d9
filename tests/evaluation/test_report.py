"""The eval report: escaped whatever the questions hold, breakdowns that count right, tables from the data."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser

import pytest

from assistant.answering.answers import ResidentTown, citation, list_answer, project_answer
from assistant.answering.service import AskResult, Assistant
from assistant.corpus import Corpus, load_corpus
from assistant.evaluation.breakdowns import (
    TownRow,
    by_kind,
    by_lang,
    by_turn,
    probe_towns,
    town_cell,
    town_questions,
    translations,
)
from assistant.evaluation.metrics import Outcome, compute_metrics
from assistant.evaluation.questions import EvalQuestion
from assistant.evaluation.report import RunReport, render_html, render_markdown
from assistant.languages import BASE_LANGUAGES, LANGUAGES
from tests.conftest import CORPUS

HOSTILE = '<script>alert(1)</script> "><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus(CORPUS)


class _Tags(HTMLParser):
    """Every element and attribute a browser would build from the page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [name for name, _ in attrs]


def _tags(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    return parser


def _q(
    qid: str,
    expected: list[str],
    *,
    kind: str = "casual",
    lang: str = "ja",
    follow_up_of: str | None = None,
    text: str | None = None,
) -> EvalQuestion:
    return EvalQuestion(
        id=qid, question=text or qid, expected=expected, lang=lang, kind=kind, follow_up_of=follow_up_of
    )


def _outcome(question: EvalQuestion, cited: list[str], *, follow_up: bool = False) -> Outcome:
    return Outcome(question, cited, cited, not cited, 0.9 if cited else 0.1, follow_up, 5.0, answer_lang=question.lang)


def _run(outcomes: list[Outcome], name: str = "hybrid") -> RunReport:
    return RunReport(name, compute_metrics(outcomes), outcomes, 0.5)


# A small run whose counts are known by hand:
#   single questions: s1 right (ja, polite), s2 wrong (en, casual), s3 rightly refused (en, out_of_scope);
#   a conversation c1 → c2 → c3 → c4: c1 right, c2 wrong, c3 right, c4 (out of scope) wrongly answered.
SYNTHETIC = [
    _outcome(_q("s1", ["x"], kind="polite"), ["x"]),
    _outcome(_q("s2", ["x"], lang="en"), ["y"]),
    _outcome(_q("s3", [], kind="out_of_scope", lang="en"), []),
    _outcome(_q("c1", ["x"]), ["x"]),
    _outcome(_q("c2", ["x"], kind="follow_up", follow_up_of="c1"), ["y"], follow_up=True),
    _outcome(_q("c3", ["y"], kind="switch", follow_up_of="c2"), ["y"]),
    _outcome(_q("c4", [], kind="out_of_scope", follow_up_of="c3"), ["x"]),
]


def test_hostile_text_in_a_failure_comes_out_escaped(corpus: Corpus) -> None:
    outcomes = [_outcome(_q("evil", ["x"], text=HOSTILE), ["y"]), *SYNTHETIC]
    run = _run(outcomes, name=f"run {HOSTILE}")
    page = render_html([run], title=f"Eval {HOSTILE}", meta={"command": HOSTILE}, corpus=corpus)
    found = _tags(page)
    assert "script" not in found.tags and "img" not in found.tags
    assert "onerror" not in found.attributes
    assert HOSTILE not in page
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt; &#34;&gt;&lt;img src=x onerror=alert(1)&gt;"
    assert f"<td>{escaped}</td>" in page  # the failure row shows the question as text
    assert f"<title>Eval {escaped}</title>" in page
    markdown = render_markdown([run], title="Eval", meta={}, corpus=corpus)
    assert re.search(r"(?<!\\)<", markdown) is None  # no unescaped tag opener anywhere
    assert "\\<script\\>alert(1)\\</script\\>" in markdown  # shown as text, not run as HTML


def test_breakdowns_count_right_by_kind_language_and_turn() -> None:
    kinds = {g.name: (g.right, g.questions) for g in by_kind(SYNTHETIC)}
    assert kinds == {
        "polite": (1, 1),
        "casual": (1, 2),
        "follow_up": (0, 1),
        "out_of_scope": (1, 2),
        "switch": (1, 1),
    }
    assert [g.name for g in by_kind(SYNTHETIC)] == ["polite", "casual", "follow_up", "out_of_scope", "switch"]
    langs = {g.name: (g.right, g.questions, g.hits, g.in_scope, g.refused, g.out_of_scope) for g in by_lang(SYNTHETIC)}
    assert langs == {"ja": (3, 5, 3, 4, 0, 1), "en": (1, 2, 0, 1, 1, 1)}
    turns = {g.name: (g.right, g.questions) for g in by_turn(SYNTHETIC)}
    assert turns == {"single question": (2, 3), "turn 1": (1, 1), "turn 2": (0, 1), "turn 3+": (1, 2)}


def test_breakdown_tables_show_each_run_side_by_side() -> None:
    better = [*SYNTHETIC[:4], _outcome(SYNTHETIC[4].question, ["x"], follow_up=True), *SYNTHETIC[5:]]
    runs = [_run(SYNTHETIC, "shipped"), _run(better, "other")]
    markdown = render_markdown(runs, title="Eval", meta={})
    assert "| turn 2 | 0/1 (0.0%) | 0/1 | — | 1/1 (100.0%) | 1/1 | — | " in markdown
    assert "| turn 3+ | 1/2 (50.0%) | 1/1 | 0/1 | 1/2 (50.0%) | 1/1 | 0/1 | " in markdown
    assert "| en | 1/2 (50.0%) | 0/1 | 1/1 | 1/2 (50.0%) | 0/1 | 1/1 | " in markdown
    page = render_html(runs, title="Eval", meta={})
    turn_table = page.split('data-breakdown="turn"')[1].split("</table>")[0]
    assert turn_table.count("<tr>") == 5  # heading + single, turn 1, turn 2, turn 3+
    assert '<td class="num bad">0 / 1 (0.0%)</td>' in turn_table
    assert '<td class="num">1 / 1 (100.0%)</td>' in turn_table


def test_translation_table_matches_the_language_packs(corpus: Corpus) -> None:
    rows = translations(corpus)
    assert [r.project_id for r in rows] == list(corpus.projects)
    for row in rows:
        assert [t.lang for t in row.languages] == list(LANGUAGES)
        for t in row.languages:
            if t.lang in BASE_LANGUAGES:
                assert t.source == "project file" and t.complete
                continue
            text = corpus.languages[t.lang].projects[row.project_id]
            assert t.complete and t.examples == len(text.examples)
    # Take one translation away: its cell, and only its cell, goes missing.
    vi = corpus.languages["vi"]
    gone = {pid: text for pid, text in vi.projects.items() if pid != "bulky-waste"}
    thinner = dataclasses.replace(
        corpus, languages={**corpus.languages, "vi": vi.model_copy(update={"projects": gone})}
    )
    missing = [(r.project_id, t.lang) for r in translations(thinner) for t in r.languages if not t.complete]
    assert missing == [("bulky-waste", "vi")]
    page = render_html([_run(SYNTHETIC)], title="Eval", meta={}, corpus=thinner)
    table = page.split('<table class="translations">')[1].split("</table>")[0]
    assert table.count('class="bad"') == 1


def _answer(corpus: Corpus, projects: list[str], town: str, *, as_list: bool = False) -> AskResult:
    """What the assistant composes for a resident of ``town`` (the real answer functions, not a stand-in)."""
    chosen = [corpus.projects[pid] for pid in projects]
    resident = ResidentTown(town)
    compose = list_answer if as_list else project_answer
    return AskResult(
        answer=compose(corpus, chosen, "ja", town=resident),
        abstained=False,
        lang="ja",
        answer_lang="ja",
        citations=[citation(corpus, p, "ja", 1.0, resident) for p in chosen],
        confidence=0.9,
    )


def test_town_table_agrees_with_a_right_answer_and_flags_a_planted_disagreement(corpus: Corpus) -> None:
    bulky = corpus.projects["bulky-waste"]
    assert "下仁田町" not in bulky.covers
    right = _answer(corpus, ["bulky-waste"], "下仁田町")
    cell = town_cell(corpus, bulky, "下仁田町", right)
    assert (cell.corpus_covers, cell.cited, cell.covers_town, cell.statement, cell.agrees) == (
        False,
        True,
        False,
        False,
        True,
    )
    # In a list, each project's coverage is read from its own entry, not from a neighbour's.
    listed = _answer(corpus, ["bulky-waste", "water-emergency-aid"], "下仁田町", as_list=True)
    assert town_cell(corpus, bulky, "下仁田町", listed).agrees
    assert town_cell(corpus, corpus.projects["water-emergency-aid"], "下仁田町", listed).statement is True
    # Plant a disagreement: the corpus now says bulky waste covers every town; the answer still says it does not.
    planted_project = bulky.model_copy(update={"covers": list(corpus.zone.members)})
    planted = dataclasses.replace(corpus, projects={**corpus.projects, "bulky-waste": planted_project})
    cell = town_cell(planted, planted_project, "下仁田町", right)
    assert cell.corpus_covers and not cell.agrees
    not_cited = town_cell(corpus, corpus.projects["sick-child-care"], "下仁田町", right)
    assert not not_cited.cited and not not_cited.agrees


def test_town_table_in_the_report_marks_disagreements(corpus: Corpus) -> None:
    bulky = corpus.projects["bulky-waste"]
    planted = bulky.model_copy(update={"covers": list(corpus.zone.members)})
    planted_corpus = dataclasses.replace(corpus, projects={**corpus.projects, "bulky-waste": planted})
    cells = [
        town_cell(planted_corpus, planted, town, _answer(corpus, ["bulky-waste"], town)) for town in corpus.zone.members
    ]
    rows = [TownRow(bulky.id, bulky.name, bulky.name, planted.covers, cells)]
    page = render_html([_run(SYNTHETIC)], title="Eval", meta={}, corpus=corpus, towns=rows)
    table = page.split('<table class="towns">')[1].split("</table>")[0]
    assert table.count('data-agrees="no"') == 2  # 下仁田町 and 南牧村: the answers say no, the planted corpus yes
    assert 'data-town="下仁田町" data-agrees="no"' in table and 'data-town="富岡市" data-agrees="yes"' in table
    assert "2 disagreements with the corpus" in page
    markdown = render_markdown([_run(SYNTHETIC)], title="Eval", meta={}, corpus=corpus, towns=rows)
    assert "## Towns × projects (2 disagreements with the corpus)" in markdown
    towns = markdown.split("## Towns × projects")[1]
    row = next(line for line in towns.splitlines() if line.startswith("| bulky-waste |"))
    assert row.count("**≠**") == 2


@pytest.mark.slow
def test_town_probe_asks_every_project_for_every_member_town(assistant: Assistant) -> None:
    corpus = assistant.corpus
    rows = probe_towns(assistant)
    assert [r.project_id for r in rows] == list(corpus.projects)
    for row in rows:
        assert [c.town for c in row.cells] == corpus.zone.members
        assert [c.corpus_covers for c in row.cells] == [
            t in corpus.projects[row.project_id].covers for t in corpus.zone.members
        ]
    # The projects that leave towns out are where coverage matters most: the answers must say so.
    partial = [row for row in rows if len(row.covers) < len(corpus.zone.members)]
    assert partial, "the corpus has projects that cover only some towns"
    for row in partial:
        assert all(c.agrees for c in row.cells), row


def test_town_table_shows_how_the_eval_sets_town_questions_fared(corpus: Corpus) -> None:
    def asked(qid: str, said: bool | None) -> Outcome:
        question = EvalQuestion(
            id=qid, question=qid, expected=["bulky-waste"], lang="ja", kind="town", town="下仁田町", covers_town=False
        )
        return Outcome(question, ["bulky-waste"], ["bulky-waste"], False, 0.9, False, 5.0, "ja", covers_town=said)

    outcomes = [asked("t1", False), asked("t2", True), asked("t3", None), *SYNTHETIC]
    assert town_questions(outcomes) == {("bulky-waste", "下仁田町"): (1, 3)}
    bulky = corpus.projects["bulky-waste"]
    cells = [town_cell(corpus, bulky, town, _answer(corpus, ["bulky-waste"], town)) for town in corpus.zone.members]
    rows = [TownRow(bulky.id, bulky.name, bulky.name, bulky.covers, cells)]
    page = render_html([_run(outcomes)], title="Eval", meta={}, corpus=corpus, towns=rows)
    table = page.split('<table class="towns">')[1].split("</table>")[0]
    assert table.count("data-eval=") == 1 and '<span class="bad" data-eval="1/3">eval 1/3</span>' in table
    assert "0 disagreements with the corpus" in page
    markdown = render_markdown([_run(outcomes)], title="Eval", meta={}, corpus=corpus, towns=rows)
    assert "✗ → ✗ / ✗; eval 1/3 |" in markdown
