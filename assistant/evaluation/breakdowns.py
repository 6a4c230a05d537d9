"""The report's tables: results by kind, language and conversation turn; translations; towns.

Everything here is derived from the outcomes of a run, the corpus, or the assistant itself, so the
report never states a figure or a coverage that the data does not hold.

- :func:`by_kind`, :func:`by_lang`, :func:`by_turn`: counts of right answers in each group;
- :func:`translations`: for each project, which answer languages give it curated text;
- :func:`probe_towns`: for each project and member town, what the assistant says about coverage,
  beside the corpus's ``covers``; :func:`town_questions`: how the eval set's own town questions fared.

Example::

    groups = by_turn(run.outcomes)       # [Group(name='single question', questions=…, right=…), …]
    rows = probe_towns(assistant)        # 25 projects × 4 towns, one ``ask`` each
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from assistant.answering.answers import ResidentTown, coverage_line, title, town_name
from assistant.answering.service import AskResult, Assistant
from assistant.corpus import Corpus, Project
from assistant.evaluation.metrics import Outcome
from assistant.evaluation.questions import KINDS
from assistant.languages import BASE_LANGUAGES, LANGUAGES

# --------------------------------------------------------------------------- results by group


@dataclass(frozen=True)
class Group:
    """The questions of one kind, language or turn, and how many were answered right."""

    name: str
    questions: int
    right: int
    """Judged as :attr:`Outcome.correct`: the right project first (and coverage), or rightly refused."""
    in_scope: int
    hits: int
    """In-scope questions with a right project first."""
    out_of_scope: int
    refused: int
    """Out-of-scope questions refused."""

    @property
    def accuracy(self) -> float:
        return self.right / self.questions if self.questions else 0.0


def group_by(outcomes: Iterable[Outcome], key: Callable[[Outcome], str], order: Iterable[str] = ()) -> list[Group]:
    """Count right answers per group; groups named in ``order`` come first in that order, the rest sorted."""
    members: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        members.setdefault(key(outcome), []).append(outcome)
    known = [name for name in order if name in members]
    names = known + sorted(set(members) - set(known))
    groups = []
    for name in names:
        found = members[name]
        inside = [o for o in found if o.question.in_scope]
        outside = [o for o in found if not o.question.in_scope]
        groups.append(
            Group(
                name=name,
                questions=len(found),
                right=sum(o.correct for o in found),
                in_scope=len(inside),
                hits=sum(o.hit for o in inside),
                out_of_scope=len(outside),
                refused=sum(o.abstained for o in outside),
            )
        )
    return groups


def by_kind(outcomes: list[Outcome]) -> list[Group]:
    """Right answers per kind of question, in the order of :data:`~assistant.evaluation.questions.KINDS`."""
    return group_by(outcomes, lambda o: o.question.kind, KINDS)


def by_lang(outcomes: list[Outcome]) -> list[Group]:
    """Right answers per question language, in the order of the answer languages."""
    return group_by(outcomes, lambda o: o.question.lang, LANGUAGES)


SINGLE = "single question"
TURN_LABELS = (SINGLE, "turn 1", "turn 2", "turn 3+")


def turn_labels(outcomes: list[Outcome]) -> dict[str, str]:
    """Each question's place in its conversation, by question id.

    A question no other follows is a ``single question``; a conversation's opening question is
    ``turn 1``; a question that follows another is one turn later than it (``turn 3+`` from the third on).
    """
    followed = {o.question.follow_up_of for o in outcomes if o.question.follow_up_of}
    depth: dict[str, int] = {}
    for outcome in outcomes:  # a question file puts every turn after the turn it follows
        q = outcome.question
        depth[q.id] = depth.get(q.follow_up_of, 1) + 1 if q.follow_up_of else 1
    labels = {}
    for qid, turn in depth.items():
        if turn == 1:
            labels[qid] = "turn 1" if qid in followed else SINGLE
        else:
            labels[qid] = TURN_LABELS[min(turn, 3)]
    return labels


def by_turn(outcomes: list[Outcome]) -> list[Group]:
    """Right answers by turn of conversation (single questions, then turns 1, 2, 3 and later)."""
    labels = turn_labels(outcomes)
    return group_by(outcomes, lambda o: labels[o.question.id], TURN_LABELS)


# --------------------------------------------------------------------------- translations


@dataclass(frozen=True)
class Translation:
    """What one language gives one project: where the text lives, and which parts it has."""

    lang: str
    source: str
    """``project file`` (ja, やさしい日本語, en) or ``languages/<code>.yaml``."""
    name: bool
    summary: bool
    examples: int
    """Curated resident questions in this language (only counted for the language files)."""

    @property
    def complete(self) -> bool:
        return self.name and self.summary


@dataclass(frozen=True)
class TranslationRow:
    project_id: str
    name: str
    languages: list[Translation]


def _base_translation(project: Project, lang: str) -> Translation:
    """ja, やさしい日本語 and English text lives in the project file (やさしい日本語 keeps the official name)."""
    name, summary = {
        "ja": (project.name, project.summary),
        "ja-easy": (project.name, project.summary_easy),
        "en": (project.name_en, project.summary_en),
    }[lang]
    return Translation(lang, "project file", bool(name.strip()), bool(summary.strip()), 0)


def translations(corpus: Corpus) -> list[TranslationRow]:
    """For each project (corpus order), which answer languages give it a curated name, summary and examples."""
    rows = []
    for project in corpus.projects.values():
        cells = []
        for lang in LANGUAGES:
            if lang in BASE_LANGUAGES:
                cells.append(_base_translation(project, lang))
                continue
            pack = corpus.languages.get(lang)
            text = pack.projects.get(project.id) if pack else None
            cells.append(
                Translation(
                    lang,
                    f"languages/{lang}.yaml",
                    bool(text and text.name.strip()),
                    bool(text and text.summary.strip()),
                    len([e for e in text.examples if e.strip()]) if text else 0,
                )
            )
        rows.append(TranslationRow(project.id, project.name, cells))
    return rows


# --------------------------------------------------------------------------- towns × projects


@dataclass(frozen=True)
class TownCell:
    """What the assistant says about one project for a resident of one town, beside the corpus."""

    town: str
    corpus_covers: bool
    """The town is in the project's ``covers``."""
    cited: bool
    """The project is among the answer's citations."""
    covers_town: bool | None
    """The citation's ``covers_town`` (None when the project was not cited)."""
    statement: bool | None
    """The coverage sentence in the answer: True "covers", False "does not cover", None neither."""

    @property
    def agrees(self) -> bool:
        return self.cited and self.covers_town is self.corpus_covers and self.statement is self.corpus_covers


@dataclass(frozen=True)
class TownRow:
    project_id: str
    name: str
    question: str
    covers: list[str]
    cells: list[TownCell]


def town_questions(outcomes: list[Outcome]) -> dict[tuple[str, str], tuple[int, int]]:
    """The eval set's own town questions by (first expected project, town): (right, asked).

    Right means the right project first with the right coverage statement (:attr:`Outcome.coverage_ok`).
    """
    counts: dict[tuple[str, str], tuple[int, int]] = {}
    for outcome in outcomes:
        q = outcome.question
        if q.in_scope and q.town is not None and q.covers_town is not None:
            right, asked = counts.get((q.expected[0], q.town), (0, 0))
            counts[(q.expected[0], q.town)] = (right + outcome.coverage_ok, asked + 1)
    return counts


def probe_question(project: Project) -> str:
    """The question asked for each town: the project's official name, which retrieval finds first."""
    return project.name


def _statements(corpus: Corpus, project: Project, lang: str, town: str) -> dict[bool, str]:
    """The sentence saying the project covers ``town`` (True) and the one saying it does not (False)."""
    resident = ResidentTown(town)
    said = coverage_line(corpus, project, lang, resident) or ""
    pack = corpus.languages[lang] if lang in corpus.languages else corpus.languages["en"]
    name = town_name(corpus, resident, lang)
    if town in project.covers:
        covered = pack.join([corpus.place(m, lang) for m in corpus.zone.members if m in project.covers])
        return {True: said, False: pack.phrases.covers_no.format(covered=covered, town=name)}
    return {True: pack.phrases.covers_yes.format(town=name), False: said}


def _entry(corpus: Corpus, project: Project, result: AskResult) -> str:
    """The part of the answer about ``project``: from its title to the next cited project's title.

    A list answer states coverage under each project, so a sentence must be looked for in the
    project's own entry, not anywhere in the answer.
    """
    text = result.answer
    start = text.find(title(corpus, project, result.answer_lang))
    if start < 0:
        return text
    ends = []
    for other in result.citations:
        if other.project_id == project.id or other.project_id not in corpus.projects:
            continue
        found = text.find(title(corpus, corpus.projects[other.project_id], result.answer_lang), start + 1)
        if found > start:
            ends.append(found)
    return text[start : min(ends, default=len(text))]


def town_cell(corpus: Corpus, project: Project, town: str, result: AskResult) -> TownCell:
    """Judge one answer about ``project`` for a resident of ``town`` against the corpus's ``covers``.

    Args:
        corpus: the corpus the assistant answers from.
        project: the project asked about.
        town: the member town the channel passed.
        result: what the assistant answered.
    """
    cited = {c.project_id: c.covers_town for c in result.citations}
    entry = _entry(corpus, project, result) if project.id in cited else ""
    statements = _statements(corpus, project, result.answer_lang, town)
    found = [value for value, sentence in statements.items() if sentence and sentence in entry]
    return TownCell(
        town=town,
        corpus_covers=town in project.covers,
        cited=project.id in cited,
        covers_town=cited.get(project.id),
        statement=found[0] if len(found) == 1 else None,
    )


def probe_towns(assistant: Assistant) -> list[TownRow]:
    """Ask about every project once per member town (the town passed as ``/v1/ask``'s ``town``).

    Each question is asked outside any conversation, so no earlier answer colours it: the number of
    calls is projects × member towns (100 for the shipped corpus).
    """
    corpus = assistant.corpus
    rows = []
    for project in corpus.projects.values():
        question = probe_question(project)
        cells = []
        for town in corpus.zone.members:
            cells.append(town_cell(corpus, project, town, assistant.ask(question, town=town)))
        rows.append(TownRow(project.id, project.name, question, list(project.covers), cells))
    return rows
