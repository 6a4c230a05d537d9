"""A quick, real publish gate for tests, and corpus edits staff would make."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from assistant.config import ROOT

HELD_OUT = ROOT / "eval" / "questions"


def small_gate(folder: Path) -> tuple[Path, Path]:
    """(questions, gate): every fourth held-out ja, en and out-of-scope question, and bounds for that subset.

    The gate is the real one (``assistant eval``'s code path and ``Gate``) on ~50 questions, so a
    publish takes seconds rather than minutes.
    """
    lines = []
    for name in ("ja.jsonl", "en.jsonl", "out_of_scope.jsonl"):
        rows = [row for row in (HELD_OUT / name).read_text(encoding="utf-8").splitlines() if row.strip()]
        lines += rows[::4]
    questions = folder / "gate-questions.jsonl"
    questions.write_text("\n".join(lines) + "\n", encoding="utf-8")
    gate = folder / "gate.json"
    bounds = {"minimums": {"hit_at_1": 0.85, "abstention_recall": 0.7}, "maximums": {"false_abstention_rate": 0.15}}
    gate.write_text(json.dumps(bounds), encoding="utf-8")
    return questions, gate


def edit_project(corpus: Path, project: str, **fields: object) -> None:
    """Change fields of one project file in a corpus copy."""
    path = corpus / "projects" / f"{project}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(fields)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def shift_examples(corpus: Path) -> None:
    """Give each project the next one's aliases and examples: valid YAML, wrong answers (fails the gate)."""
    files = sorted((corpus / "projects").glob("*.yaml"))
    data = [yaml.safe_load(f.read_text(encoding="utf-8")) for f in files]
    for i, path in enumerate(files):
        following = data[(i + 1) % len(data)]
        shifted = dict(data[i], aliases=following["aliases"], examples=following["examples"])
        path.write_text(yaml.safe_dump(shifted, allow_unicode=True, sort_keys=False), encoding="utf-8")
