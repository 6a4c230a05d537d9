"""The staff report of an eval run: one self-contained HTML page and a Markdown summary.

The HTML has no external assets (inline CSS, inline SVG charts), so it opens from a shared
folder, an e-mail attachment or a browser with no network. It shows:

- a summary of the headline metrics and latency;
- accuracy by language and hit@1 by project, as bar charts;
- the confidence of in-scope versus out-of-scope questions, with the abstention threshold;
- every failure: the question, what was expected and what came back;
- in comparison mode, the configurations side by side.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.evaluation.metrics import Metrics, Outcome, failures

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


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _bars(rows: list[tuple[str, float, int]], *, width: int = 720, title: str) -> str:
    """A horizontal bar chart (0–100%) as inline SVG; rows are (label, value 0–1, count)."""
    bar_h, gap, label_w = 18, 6, 230
    height = len(rows) * (bar_h + gap) + 30
    parts = [
        f'<svg class="chart" role="img" aria-label="{_esc(title)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    scale = width - label_w - 120
    for i, (label, value, count) in enumerate(rows):
        y = 10 + i * (bar_h + gap)
        colour = "#2e7d32" if value >= 0.95 else "#f9a825" if value >= 0.8 else "#c62828"
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" class="lbl">{_esc(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{scale}" height="{bar_h}" fill="#eee"/>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{value * scale:.1f}" height="{bar_h}" fill="{colour}"/>')
        parts.append(f'<text x="{label_w + scale + 6}" y="{y + 13}" class="val">{_pct(value)} (n={count})</text>')
    parts.append("</svg>")
    return "".join(parts)


def _histogram(outcomes: list[Outcome], threshold: float, *, width: int = 640, height: int = 220) -> str:
    """Confidence of in-scope vs out-of-scope questions in 20 bins, with the threshold drawn."""
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
    parts = [
        f'<svg class="chart" role="img" aria-label="confidence distribution" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{left}" y1="{bottom}" x2="{left + plot_w}" y2="{bottom}" stroke="#333"/>',
    ]
    for i in range(bins):
        for series, colour, offset in ((inside, "#1565c0", 0.0), (outside, "#ef6c00", 0.5)):
            h = math.sqrt(series[i]) / top * plot_h  # square-root scale: small counts stay visible
            x = left + i * bw + offset * bw
            parts.append(
                f'<rect x="{x:.1f}" y="{bottom - h:.1f}" width="{bw / 2 - 1:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{series[i]}</title></rect>"
            )
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = left + tick * plot_w
        parts.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" class="val">{tick:.2f}</text>')
    tx = left + threshold * plot_w
    parts.append(f'<line x1="{tx:.1f}" y1="12" x2="{tx:.1f}" y2="{bottom}" stroke="#c62828" stroke-dasharray="5,3"/>')
    parts.append(f'<text x="{tx + 4:.1f}" y="36" class="val" fill="#c62828">threshold {threshold:.2f}</text>')
    parts.append(
        f'<rect x="{left + plot_w - 190}" y="8" width="10" height="10" fill="#1565c0"/>'
        f'<text x="{left + plot_w - 176}" y="17" class="val">in scope</text>'
        f'<rect x="{left + plot_w - 100}" y="8" width="10" height="10" fill="#ef6c00"/>'
        f'<text x="{left + plot_w - 86}" y="17" class="val">out of scope</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _summary_table(runs: list[RunReport]) -> str:
    head = "".join(f"<th>{_esc(r.name)}</th>" for r in runs)
    rows = []
    for key, (label, meaning) in METRIC_LABELS.items():
        cells = "".join(f"<td>{_pct(getattr(r.metrics, key))}</td>" for r in runs)
        rows.append(
            f'<tr><th title="{_esc(meaning)}">{_esc(label)}</th>{cells}<td class="note">{_esc(meaning)}</td></tr>'
        )
    for key, label in (("latency_p50_ms", "Latency p50"), ("latency_p95_ms", "Latency p95")):
        cells = "".join(f"<td>{getattr(r.metrics, key):.1f} ms</td>" for r in runs)
        rows.append(
            f'<tr><th>{label}</th>{cells}<td class="note">time inside the answering code, per question</td></tr>'
        )
    counts = "".join(
        f"<td>{r.metrics.questions} ({r.metrics.in_scope} in / {r.metrics.out_of_scope} out)</td>" for r in runs
    )
    rows.append(f'<tr><th>Questions</th>{counts}<td class="note">in scope / out of scope</td></tr>')
    return f'<table class="summary"><tr><th></th>{head}<th></th></tr>{"".join(rows)}</table>'


def _failure_table(failed: list[dict[str, Any]]) -> str:
    rows = []
    for f in failed:
        got = "abstained (not covered)" if f["abstained"] else ", ".join(f["cited"]) or "—"
        expected = ", ".join(f["expected"]) or "abstain (out of scope)"
        rows.append(
            f"<tr><td>{_esc(f['id'])}</td><td>{_esc(f['lang'])}</td><td>{_esc(f['kind'])}</td>"
            f"<td>{_esc(f['question'])}</td><td>{_esc(expected)}</td><td>{_esc(got)}</td>"
            f"<td>{f['confidence']:.2f}</td></tr>"
        )
    if not rows:
        return "<p>No failures.</p>"
    return (
        '<table class="failures"><tr><th>id</th><th>lang</th><th>kind</th><th>question</th>'
        f"<th>expected</th><th>came back</th><th>confidence</th></tr>{''.join(rows)}</table>"
    )


_CSS = """
body{font-family:system-ui,"Hiragino Sans","Noto Sans CJK JP",sans-serif;margin:2rem;color:#222;max-width:1100px}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;
vertical-align:top;font-size:.9rem}th{background:#f5f5f5}.note{color:#666;font-size:.8rem}
.chart{display:block;margin:.5rem 0}.chart .lbl,.chart .val{font-size:11px;font-family:inherit}
.meta{color:#555;font-size:.9rem}.ok{color:#2e7d32}.bad{color:#c62828}
"""


def render_html(runs: list[RunReport], *, title: str, meta: dict[str, str]) -> str:
    """The full report page."""
    meta_html = "".join(f"<li>{_esc(k)}: {_esc(v)}</li>" for k, v in meta.items())
    sections = [
        f"<h1>{_esc(title)}</h1>",
        f'<ul class="meta">{meta_html}</ul>',
        "<h2>Summary</h2>",
        _summary_table(runs),
    ]
    for run in runs:
        prefix = f"{run.name}: " if len(runs) > 1 else ""
        m = run.metrics
        lang_rows = [(lang, row["accuracy"], int(row["questions"])) for lang, row in m.by_lang.items()]
        kind_rows = [(kind, row["accuracy"], int(row["questions"])) for kind, row in m.by_kind.items()]
        project_rows = [(pid, row["hit_at_1"], int(row["questions"])) for pid, row in m.by_project.items()]
        failed = failures(run.outcomes)
        sections += [
            f"<h2>{_esc(prefix)}Accuracy by language</h2>",
            "<p class='note'>Accuracy: in-scope questions with the right project first, and out-of-scope "
            "questions refused.</p>",
            _bars(lang_rows, title="accuracy by language"),
            f"<h2>{_esc(prefix)}Accuracy by kind of question</h2>",
            _bars(kind_rows, title="accuracy by kind"),
            f"<h2>{_esc(prefix)}Right project first, by project</h2>",
            _bars(project_rows, title="hit@1 by project"),
            f"<h2>{_esc(prefix)}Confidence: in scope vs out of scope</h2>",
            "<p class='note'>Below the red line the assistant answers 'not covered'. Blue bars left of it are "
            "false refusals; orange bars right of it are out-of-scope questions it answered. Bar height grows "
            "with the square root of the count (hover a bar for the count); follow-ups are left out.</p>",
            _histogram(run.outcomes, run.threshold),
            f"<h2>{_esc(prefix)}Failures ({len(failed)})</h2>",
            _failure_table(failed),
        ]
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_esc(title)}</title>'
        f"<style>{_CSS}</style></head><body>{''.join(sections)}</body></html>"
    )


def render_markdown(runs: list[RunReport], *, title: str, meta: dict[str, str]) -> str:
    """A short Markdown summary (for a PR, an issue or the README)."""
    lines = [f"# {title}", ""]
    lines += [f"- {k}: {v}" for k, v in meta.items()]
    lines += ["", "| metric | " + " | ".join(r.name for r in runs) + " |", "|---|" + "---|" * len(runs)]
    for key, (label, _) in METRIC_LABELS.items():
        lines.append(f"| {label} | " + " | ".join(_pct(getattr(r.metrics, key)) for r in runs) + " |")
    lines.append("| latency p50 | " + " | ".join(f"{r.metrics.latency_p50_ms:.1f} ms" for r in runs) + " |")
    lines.append("| latency p95 | " + " | ".join(f"{r.metrics.latency_p95_ms:.1f} ms" for r in runs) + " |")
    for run in runs:
        lines += ["", f"## {run.name}: by language", "", "| lang | n | accuracy | hit@1 |", "|---|---|---|---|"]
        for lang, row in run.metrics.by_lang.items():
            lines.append(f"| {lang} | {row['questions']:.0f} | {_pct(row['accuracy'])} | {_pct(row['hit_at_1'])} |")
        failed = failures(run.outcomes)
        lines += ["", f"## {run.name}: failures ({len(failed)})", ""]
        for f in failed[:50]:
            got = "abstained" if f["abstained"] else ", ".join(f["cited"])
            lines.append(f"- `{f['id']}` {f['question']} — expected {f['expected'] or 'abstain'}, got {got}")
    return "\n".join(lines) + "\n"


def write_report(folder: Path, runs: list[RunReport], *, title: str, meta: dict[str, str]) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.md`` into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    html_path, md_path = folder / "report.html", folder / "report.md"
    html_path.write_text(render_html(runs, title=title, meta=meta), encoding="utf-8")
    md_path.write_text(render_markdown(runs, title=title, meta=meta), encoding="utf-8")
    return html_path, md_path
