"""The staff report of an eval run: one self-contained HTML page and a Markdown summary.

The HTML has no external assets (inline CSS, inline SVG charts), so it opens from a shared
folder, an e-mail attachment or a browser with no network. It shows:

- a summary of the headline metrics and latency;
- right answers by kind of question, by language and by conversation turn, one column per run;
- accuracy by language and kind and hit@1 by project, as bar charts;
- the confidence of in-scope versus out-of-scope questions, with the abstention threshold;
- every failure: the question, what was expected and what came back;
- which translations each project has (with the corpus);
- for each project and member town, what the assistant says about coverage beside the corpus's
  ``covers``, disagreements marked (with the town probe of :func:`~.breakdowns.probe_towns`);
- in comparison mode, the configurations side by side.

Both are rendered from Jinja2 templates in ``templates/``; the HTML one autoescapes every value, so
no question text, however hostile, can become markup. The charts' geometry is computed here and
drawn by the template's macros.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from assistant.corpus import Corpus
from assistant.evaluation.breakdowns import Group, TownRow, by_kind, by_lang, by_turn, town_questions, translations
from assistant.evaluation.metrics import Metrics, Outcome, failures
from assistant.languages import LANGUAGES

METRIC_LABELS = {
    "hit_at_1": ("Right project first", "of in-scope questions, the first citation is a right project"),
    "recall_at_3": ("Recall@3", "of the right projects, the share among the first three shown or ranked"),
    "mrr": ("MRR", "mean of 1/rank of the first right project (1.0 = always first)"),
    "abstention_recall": ("Out of scope refused", "of out-of-scope questions, the share answered 'not covered'"),
    "abstention_precision": (
        "Refusals that were right",
        "of the 'not covered' answers, the share that were out of scope",
    ),
    "false_abstention_rate": (
        "False refusals",
        "of in-scope questions, the share wrongly answered 'not covered' (lower is better)",
    ),
}


@dataclass
class RunReport:
    """One configuration's run: its name, figures, outcomes and threshold."""

    name: str
    metrics: Metrics
    outcomes: list[Outcome]
    threshold: float
    details: dict[str, Any] = field(default_factory=dict)


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


# --------------------------------------------------------------------------- chart geometry


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    count: int
    y: int
    length: float
    colour: str


@dataclass(frozen=True)
class BarChart:
    """A horizontal bar chart (0–100%): where each bar and label goes."""

    title: str
    width: int
    height: int
    label_w: int
    scale: int
    bar_h: int
    bars: list[Bar]


def bar_chart(rows: list[tuple[str, float, int]], *, title: str, width: int = 720) -> BarChart:
    """Lay out rows of (label, value 0–1, count) as bars."""
    bar_h, gap, label_w = 18, 6, 230
    scale = width - label_w - 120
    bars = [
        Bar(
            label=label,
            value=value,
            count=count,
            y=10 + i * (bar_h + gap),
            length=round(value * scale, 1),
            colour="#2e7d32" if value >= 0.95 else "#f9a825" if value >= 0.8 else "#c62828",
        )
        for i, (label, value, count) in enumerate(rows)
    ]
    return BarChart(title, width, len(rows) * (bar_h + gap) + 30, label_w, scale, bar_h, bars)


@dataclass(frozen=True)
class Column:
    x: float
    y: float
    width: float
    height: float
    colour: str
    count: int


@dataclass(frozen=True)
class Histogram:
    """Confidence of in-scope vs out-of-scope questions in bins, with the threshold."""

    width: int
    height: int
    left: int
    bottom: int
    plot_w: int
    columns: list[Column]
    ticks: list[tuple[float, float]]
    threshold: float
    threshold_x: float


def histogram(outcomes: list[Outcome], threshold: float, *, width: int = 640, height: int = 220) -> Histogram:
    """Bin the confidence of in-scope and out-of-scope questions (20 bins; follow-ups left out)."""
    bins = 20
    inside = [0] * bins
    outside = [0] * bins
    for outcome in outcomes:
        if outcome.follow_up:
            continue
        b = min(int(outcome.confidence * bins), bins - 1)
        (inside if outcome.question.in_scope else outside)[b] += 1
    top = math.sqrt(max([*inside, *outside, 1]))
    left, bottom, plot_w, plot_h = 40, height - 30, width - 60, height - 50
    bw = plot_w / bins
    columns = []
    for i in range(bins):
        for series, colour, offset in ((inside, "#1565c0", 0.0), (outside, "#ef6c00", 0.5)):
            h = math.sqrt(series[i]) / top * plot_h  # square-root scale: small counts stay visible
            columns.append(Column(left + i * bw + offset * bw, bottom - h, bw / 2 - 1, h, colour, series[i]))
    ticks = [(left + tick * plot_w, tick) for tick in (0.0, 0.25, 0.5, 0.75, 1.0)]
    return Histogram(width, height, left, bottom, plot_w, columns, ticks, threshold, left + threshold * plot_w)


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Breakdown:
    """One table of groups (kinds, languages, turns): a row per group, a cell per run."""

    title: str
    heading: str
    note: str
    rows: list[tuple[str, list[Group | None]]]


def breakdowns(runs: list[RunReport]) -> list[Breakdown]:
    """Right answers by kind, language and conversation turn, each run side by side."""
    tables = []
    for title, heading, note, split in (
        ("By kind of question", "kind", "how the question is asked (eval/questions/*.jsonl 'kind')", by_kind),
        ("By language", "lang", "the question's language", by_lang),
        (
            "By conversation turn",
            "turn",
            "a single question, or a conversation's first, second, third or later turn (asked in one session)",
            by_turn,
        ),
    ):
        per_run = [{g.name: g for g in split(run.outcomes)} for run in runs]
        names = list(dict.fromkeys(name for groups in per_run for name in groups))
        rows = [(name, [groups.get(name) for groups in per_run]) for name in names]
        tables.append(Breakdown(title, heading, note, rows))
    return tables


def _failure_rows(run: RunReport) -> list[dict[str, Any]]:
    rows = []
    for f in failures(run.outcomes):
        got = "abstained (not covered)" if f["abstained"] else ", ".join(f["cited"]) or "—"
        rows.append({**f, "got": got, "expected_text": ", ".join(f["expected"]) or "abstain (out of scope)"})
    return rows


def _context(
    runs: list[RunReport],
    *,
    title: str,
    meta: dict[str, str],
    corpus: Corpus | None,
    towns: list[TownRow] | None,
) -> dict[str, Any]:
    sections = []
    for run in runs:
        m = run.metrics
        sections.append(
            {
                "run": run,
                "prefix": f"{run.name}: " if len(runs) > 1 else "",
                "lang_chart": bar_chart(
                    [(lang, row["accuracy"], int(row["questions"])) for lang, row in m.by_lang.items()],
                    title="accuracy by language",
                ),
                "kind_chart": bar_chart(
                    [(kind, row["accuracy"], int(row["questions"])) for kind, row in m.by_kind.items()],
                    title="accuracy by kind",
                ),
                "project_chart": bar_chart(
                    [(pid, row["hit_at_1"], int(row["questions"])) for pid, row in m.by_project.items()],
                    title="hit@1 by project",
                ),
                "histogram": histogram(run.outcomes, run.threshold),
                "failures": _failure_rows(run),
            }
        )
    return {
        "title": title,
        "meta": meta,
        "runs": runs,
        "labels": METRIC_LABELS,
        "breakdowns": breakdowns(runs),
        "sections": sections,
        "languages": LANGUAGES,
        "translations": translations(corpus) if corpus is not None else None,
        "towns": towns,
        "members": corpus.zone.members if corpus is not None else [c.town for c in towns[0].cells] if towns else [],
        "disagreements": sum(not c.agrees for row in towns or [] for c in row.cells),
        "eval_towns": town_questions(runs[0].outcomes) if runs else {},
    }


# --------------------------------------------------------------------------- rendering


_MD_SPECIAL = re.compile(r"([\\`\[\]<>|])")


def _md_text(value: object) -> str:
    """Text for Markdown: one line; no raw HTML, link or table break (those characters backslash-escaped)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(value).splitlines()))


def _md_code(value: object) -> str:
    """Text for a Markdown code span: one line, no backtick."""
    return " ".join(str(value).splitlines()).replace("`", "'")


@cache
def _environment(autoescape: bool) -> Environment:
    """The report templates: HTML autoescaped, Markdown not (it is plain text)."""
    env = Environment(
        loader=PackageLoader("assistant.evaluation", "templates"),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["pct"] = _pct
    env.filters["md"] = _md_text
    env.filters["code"] = _md_code
    return env


def render_html(
    runs: list[RunReport],
    *,
    title: str,
    meta: dict[str, str],
    corpus: Corpus | None = None,
    towns: list[TownRow] | None = None,
) -> str:
    """The full report page (translations with ``corpus``, the town table with ``towns``)."""
    context = _context(runs, title=title, meta=meta, corpus=corpus, towns=towns)
    return _environment(True).get_template("report.html").render(context)


def render_markdown(
    runs: list[RunReport],
    *,
    title: str,
    meta: dict[str, str],
    corpus: Corpus | None = None,
    towns: list[TownRow] | None = None,
) -> str:
    """A short Markdown summary (for a PR, an issue or the README)."""
    context = _context(runs, title=title, meta=meta, corpus=corpus, towns=towns)
    return _environment(False).get_template("report.md").render(context)


def write_report(
    folder: Path,
    runs: list[RunReport],
    *,
    title: str,
    meta: dict[str, str],
    corpus: Corpus | None = None,
    towns: list[TownRow] | None = None,
) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.md`` into ``folder``; return their paths.

    Args:
        folder: where to write (created if missing).
        runs: the configurations run, the shipped one first.
        title: the page title.
        meta: how the report was made (command, date, index, model …), shown at the top.
        corpus: adds the table of each project's translations.
        towns: adds the town × project table (from :func:`~assistant.evaluation.breakdowns.probe_towns`).
    """
    folder.mkdir(parents=True, exist_ok=True)
    html_path, md_path = folder / "report.html", folder / "report.md"
    html_path.write_text(render_html(runs, title=title, meta=meta, corpus=corpus, towns=towns), encoding="utf-8")
    md_path.write_text(render_markdown(runs, title=title, meta=meta, corpus=corpus, towns=towns), encoding="utf-8")
    return html_path, md_path
