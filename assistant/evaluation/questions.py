"""Evaluation and tuning question sets: JSON Lines, one question per line.

Each line: ``{"id", "question", "expected": [project ids, best first; empty = must abstain],
"lang", "kind"}`` and, where they apply:

- ``follow_up_of``: the id of the turn just before this one in the same conversation; the turns
  of a conversation are asked in order in one session, and every turn is scored;
- ``town``: the resident's town the assistant should know by this turn (富岡市, 下仁田町, 南牧村,
  甘楽町, or ``outside`` for a place outside the zone), and ``covers_town``: whether the first
  expected project covers it (the coverage statement is scored, not only the citation);
- ``town_field``: a town the channel passes in ``/v1/ask``'s ``town`` (a selector, a quick reply).

``kind`` says how the question is asked (:data:`KINDS`; ``resident`` is a real question from the
record that staff triaged on the staff page into ``eval/inbox/``, see :mod:`assistant.evaluation.inbox`);
``lang`` is one of the twelve answer languages, and the answer must come in it (romaji Japanese may
be answered in Japanese or やさしい日本語).

``eval/questions/`` is the held-out set that measures the assistant; ``eval/tuning/`` is the
separate set that parameters are chosen on (``assistant tune``).
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.errors import AssistantError
from assistant.languages import LANGUAGES

KINDS = (
    "polite",
    "casual",
    "hiragana",
    "typo",
    "list",
    "follow_up",
    "out_of_scope",
    "injection",
    "romaji",
    "voice",
    "situation",
    "long",
    "dialect",
    "two_needs",
    "missing_detail",
    "near_miss",
    "town",
    "town_list",
    "switch",
    "return",
    "resident",
)
LANGS = LANGUAGES
TOWNS = ("富岡市", "下仁田町", "南牧村", "甘楽町", "outside")


class QuestionSetError(AssistantError):
    """Raised when a question file is malformed; lists every problem with file and line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the question set:\n" + "\n".join(problems))


class EvalQuestion(BaseModel):
    """One question with what a correct answer cites."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    expected: list[str]
    lang: str
    kind: str
    follow_up_of: str | None = None
    town: str | None = None
    covers_town: bool | None = None
    town_field: str | None = None
    file: str = ""
    line: int = 0

    @property
    def in_scope(self) -> bool:
        """True when some project answers it."""
        return bool(self.expected)

    @property
    def answer_langs(self) -> tuple[str, ...]:
        """The answer languages that are right for this question."""
        return ("ja", "ja-easy") if self.kind == "romaji" else (self.lang,)


def question_files(target: Path) -> list[Path]:
    """The ``.jsonl`` files of a folder (sorted), or the one file given."""
    return sorted(target.glob("*.jsonl")) if target.is_dir() else [target]


def load_questions(targets: list[Path], project_ids: set[str]) -> list[EvalQuestion]:
    """Read and check question files.

    Raises:
        QuestionSetError: bad JSON, missing or unknown fields, unknown project ids, duplicate ids,
            or a follow-up whose earlier question is missing — every problem with file and line.
    """
    problems: list[str] = []
    questions: list[EvalQuestion] = []
    seen: dict[str, str] = {}
    files = [f for target in targets for f in question_files(target)]
    if not files:
        raise QuestionSetError([f"{', '.join(map(str, targets))}: no .jsonl question files"])
    for path in files:
        if not path.is_file():
            problems.append(f"{path}: no such file or folder")
            continue
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not raw.strip():
                continue
            where = f"{path}:{number}"
            try:
                data = json.loads(raw)
                question = EvalQuestion.model_validate({**data, "file": path.name, "line": number})
            except json.JSONDecodeError as exc:
                problems.append(f"{where}: not valid JSON ({exc.msg})")
                continue
            except ValidationError as exc:
                for error in exc.errors():
                    field = ".".join(str(p) for p in error["loc"])
                    problems.append(f"{where}: field '{field}': {error['msg']}")
                continue
            unknown = [pid for pid in question.expected if pid not in project_ids]
            if unknown:
                problems.append(f"{where}: field 'expected': unknown project id(s) {unknown}")
            if question.kind not in KINDS:
                problems.append(f"{where}: field 'kind': {question.kind!r} is not one of {', '.join(KINDS)}")
            if question.lang not in LANGS:
                problems.append(f"{where}: field 'lang': {question.lang!r} is not one of {', '.join(LANGS)}")
            if question.id in seen:
                problems.append(f"{where}: field 'id': duplicate id {question.id!r} (also {seen[question.id]})")
            if question.town is not None and question.town not in TOWNS:
                problems.append(f"{where}: field 'town': {question.town!r} is not one of {', '.join(TOWNS)}")
            if question.covers_town is not None and (question.town is None or not question.expected):
                problems.append(f"{where}: field 'covers_town': needs 'town' and an expected project")
            if question.town is not None and question.expected and question.kind != "town_list":
                if question.covers_town is None:
                    problems.append(f"{where}: field 'covers_town': required with 'town' and an expected project")
            if question.follow_up_of and question.follow_up_of not in seen:
                problems.append(f"{where}: field 'follow_up_of': {question.follow_up_of!r} is not an earlier question")
            seen[question.id] = where
            questions.append(question)
    if problems:
        raise QuestionSetError(problems)
    return questions
