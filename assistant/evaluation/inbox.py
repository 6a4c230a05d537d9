"""The eval inbox: residents' real questions that staff triaged on the staff page, as eval questions.

Staff pick, for a logged question, "belongs to project X" or "not covered by any project" (``/admin``).
The choice becomes one line of ``<inbox_dir>/<YYYY-MM-DD>.jsonl`` (the JST day the question was
asked) in the format of :mod:`assistant.evaluation.questions`, so ``assistant eval --questions
eval/inbox`` runs them, and staff promote good ones by moving the lines into ``eval/questions/``::

    triage(settings.inbox_dir, answer_id=..., question="病児保育はどこ？", lang="ja",
           asked_at=datetime.now(UTC), project_id="sick-child-care", projects=corpus.projects)

The question written is the masked one from the record: personal data never reaches the eval files.
Triaging the same question again replaces its line (its id derives from the answer id), so a
changed mind leaves one line, not two.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from assistant.errors import TriageError
from assistant.languages import LANGUAGES
from assistant.locks import folder_lock

JST = timezone(timedelta(hours=9), "JST")

RESIDENT = "resident"
"""The ``kind`` of a triaged question some project answers: a real resident's words."""
OUT_OF_SCOPE = "out_of_scope"
"""The ``kind`` of a triaged question no project answers (``expected`` is empty), as in ``eval/questions/``."""


@dataclass(frozen=True)
class Triaged:
    """What was written: the line's id and file, its expected projects, and whether it replaced an earlier line."""

    id: str
    path: Path
    expected: list[str]
    replaced: bool


def entry_id(answer_id: str, asked_at: datetime) -> str:
    """The eval id of a logged question: ``inbox-<JST day>-<first 12 characters of the answer id>``."""
    return f"inbox-{day_of(asked_at)}-{answer_id[:12]}"


def day_of(asked_at: datetime) -> str:
    """The JST day (``YYYY-MM-DD``) of a time; a naive time is taken as UTC (how the store keeps them)."""
    if asked_at.tzinfo is None:
        asked_at = asked_at.replace(tzinfo=UTC)
    return asked_at.astimezone(JST).strftime("%Y-%m-%d")


def eval_lang(lang: str, answer_lang: str | None = None) -> str:
    """The question's language as an eval language: the detected one, else the answer's, else English.

    The record keeps ``und`` when detection was unsure; the eval set needs one of the answer languages.
    """
    for candidate in (lang, answer_lang):
        if candidate in LANGUAGES:
            return candidate
    return "en"


def _line_id(raw: str) -> str | None:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return None
    return data.get("id") if isinstance(data, dict) else None


def triage(
    inbox_dir: Path,
    *,
    answer_id: str,
    question: str,
    lang: str,
    asked_at: datetime,
    project_id: str | None,
    projects: Collection[str],
    answer_lang: str | None = None,
) -> Triaged:
    """Write staff's verdict on one logged question into the inbox (replacing an earlier verdict on it).

    Args:
        inbox_dir: the inbox folder (created when missing).
        answer_id: the logged answer's id; the eval id derives from it.
        question: the masked question, as recorded.
        lang, answer_lang: the recorded languages.
        asked_at: when it was asked: names the file (JST day).
        project_id: the project that answers it, or None for "not covered by any project".
        projects: the known project ids.

    Returns:
        The id, file and expected list written, and whether an earlier line was replaced.

    Raises:
        TriageError: an unknown project id, an empty question or answer id.
    """
    if not answer_id.strip():
        raise TriageError("the answer id is empty")
    text = question.strip()
    if not text:
        raise TriageError(f"the question of answer {answer_id!r} is empty: nothing to evaluate")
    if project_id is not None and project_id not in projects:
        raise TriageError(f"unknown project id {project_id!r}: choose one of the corpus's projects")
    expected = [project_id] if project_id else []
    item_id = entry_id(answer_id, asked_at)
    record = {
        "id": item_id,
        "question": text,
        "expected": expected,
        "lang": eval_lang(lang, answer_lang),
        "kind": RESIDENT if expected else OUT_OF_SCOPE,
    }
    inbox_dir.mkdir(parents=True, exist_ok=True)
    path = inbox_dir / f"{day_of(asked_at)}.jsonl"
    # An exclusive lock on the inbox folder: two workers triaging at once do not lose each other's line.
    with folder_lock(inbox_dir):
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        kept = [raw for raw in lines if raw.strip() and _line_id(raw) != item_id]
        replaced = len(kept) < len([raw for raw in lines if raw.strip()])
        kept.append(json.dumps(record, ensure_ascii=False))
        # Written beside and renamed over: a reader (or `assistant eval`) never sees half a file.
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=inbox_dir, prefix=f".{path.name}.", delete=False
        ) as tmp:
            tmp.write("\n".join(kept) + "\n")
        os.chmod(tmp.name, 0o644)  # a normal repository file, not the temp file's private 0600
        os.replace(tmp.name, path)
    return Triaged(id=item_id, path=path, expected=expected, replaced=replaced)


def triaged(inbox_dir: Path) -> dict[str, list[str]]:
    """Every triaged id in the inbox and its expected projects (empty: not covered), for the staff page."""
    found: dict[str, list[str]] = {}
    if not inbox_dir.is_dir():
        return found
    for path in sorted(inbox_dir.glob("*.jsonl")):
        for raw in path.read_text(encoding="utf-8").splitlines():
            try:
                data = json.loads(raw)
            except json.JSONDecodeError:
                continue
            if isinstance(data, dict) and isinstance(data.get("id"), str) and isinstance(data.get("expected"), list):
                found[data["id"]] = [str(p) for p in data["expected"]]
    return found
