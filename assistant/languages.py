"""The corpus's language files: every sentence an answer can say, in each of the twelve languages.

One file per language in ``corpus/languages/<code>.yaml`` holds the fixed sentences of the answers
(status, "the document does not say", "ask your municipality", the abstention, list and coverage
sentences), the names of the policy table's categories and of the municipalities, and, for the
languages other than Japanese, やさしい日本語 and English, each project's name and summary (and a
few resident-style questions that help retrieval). Japanese, やさしい日本語 and English project text
stays in the project files (``name``/``summary``, ``summary_easy``, ``name_en``/``summary_en``).

Like ``summary_en``, every translation says no more than the Japanese summary; staff check them
against it. :func:`check_languages` makes ``corpus validate`` fail when a language is incomplete.

Example::

    pack = corpus.languages["vi"]
    pack.phrases.status_text.planned     # 'Đang ở giai đoạn kế hoạch …'
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

LANGUAGES: tuple[str, ...] = ("ja", "ja-easy", "en", "vi", "pt", "es", "zh", "ko", "tl", "id", "ne", "th")
"""Every language an answer can take, in the order staff see them."""
BASE_LANGUAGES: tuple[str, ...] = ("ja", "ja-easy", "en")
"""Languages whose project text lives in the project files, not in the language file."""
JAPANESE: tuple[str, ...] = ("ja", "ja-easy")
MIN_TRANSLATED_EXAMPLES = 2


class _Text(BaseModel):
    # Sentences keep their spaces: ", " and " and " are joiners, "Status: " a label.
    model_config = ConfigDict(extra="forbid", frozen=True)


class StatusPhrases(_Text):
    """One sentence (or label) per project status."""

    planned: str
    under_discussion: str
    in_operation: str


class AspectPhrases(_Text):
    """What the document does not say, per aspect a resident asks about."""

    contact: str
    cost: str
    apply: str
    when: str
    where: str
    who: str


class Labels(_Text):
    """Line labels of a project answer."""

    status: str
    municipalities: str
    category: str
    source: str
    related: str
    contact: str
    url: str


class Suggestions(_Text):
    """Short follow-up questions a resident can tap."""

    where: str
    who: str
    when: str


class Phrases(_Text):
    """Every fixed sentence of the answers in one language (placeholders in braces)."""

    intro: str
    status_label: StatusPhrases
    status_text: StatusPhrases
    labels: Labels
    source_line: str
    ask_municipality: str
    more_info: str
    not_in_source: AspectPhrases
    list_head: str
    not_covered: str
    can_answer: str
    covers_yes: str
    covers_no: str
    covers_only: str
    covers_outside: str
    town_list_head: str
    list_separator: str
    list_and: str
    suggestions: Suggestions
    greeting: str
    non_text: str


class Cues(_Text):
    """Words of this language that shape a question: asking for several projects, and naming them."""

    several: list[str] = Field(min_length=1)
    """"All", "every", "list", "which ones": asking for several projects at once."""
    services: list[str] = Field(min_length=1)
    """Words for the joint projects or services themselves."""
    usable: list[str] = Field(min_length=1)
    """"Can use", "available to": with the resident's town known, "what can I use?" lists that town's projects."""
    aspects: dict[Literal["contact", "cost", "apply", "when", "where", "who"], list[str]] = Field(default_factory=dict)
    """Words asking one aspect of a project (where, who, when, cost, contact, how to apply); Japanese
    and English ones are patterns in ``answering/intents.py``."""
    refers: list[str] = Field(default_factory=list)
    """Words pointing back at what was said before ("that", "there"), counted in short questions only."""
    returns: list[str] = Field(default_factory=list)
    """Words going back to something said earlier in the conversation ("back to", "earlier", 「さっきの」)."""


class ProjectText(_Text):
    """A project's name and summary in one language, and questions residents ask in it."""

    name: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    examples: list[str] = Field(default_factory=list)


class LanguagePack(_Text):
    """One language file (``corpus/languages/<code>.yaml``)."""

    code: str
    name: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    called: list[str] = Field(min_length=1)
    """What residents call the language, in it and in others (日本語, English, tiếng Việt …): how a
    request for the answer in it (「英語で」, "in English please") names it. None may be blank."""
    authoritative: str
    """The last line of every answer in a foreign language: the Japanese text is authoritative."""
    phrases: Phrases
    cues: Cues
    categories: dict[str, str]
    places: dict[str, str]
    projects: dict[str, ProjectText] = Field(default_factory=dict)

    @field_validator("called")
    @classmethod
    def _no_blank_name(cls, value: list[str]) -> list[str]:
        if any(not word.strip() for word in value):
            raise ValueError("a name is blank (it would be found in every sentence)")
        return value

    def join(self, names: list[str]) -> str:
        """ "A, B and C" in this language."""
        if len(names) <= 1:
            return "".join(names)
        return self.phrases.list_separator.join(names[:-1]) + self.phrases.list_and + names[-1]


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(dotted key, sentence) for every sentence of a phrases tree."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _leaves(child, f"{path}.{key}" if path else key)
    elif isinstance(value, str):
        yield path, value


def placeholders(text: str) -> set[str]:
    """The ``{names}`` a sentence fills in."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def check_languages(
    packs: dict[str, LanguagePack],
    *,
    project_ids: list[str],
    categories: list[str],
    places: set[str],
    shown: dict[str, str],
) -> list[str]:
    """Every problem of the language files: missing languages, keys, placeholders, projects, names.

    Args:
        packs: the parsed language files by code.
        project_ids: every project of the corpus.
        categories: every area, item and agreement name of ``zone.yaml``.
        places: every municipality word the projects use, and the members.
        shown: how to name each language's file in a message.
    """
    problems: list[str] = []
    for code in LANGUAGES:
        if code not in packs and code not in shown:
            problems.append(f"corpus/languages/{code}.yaml: missing (every answer language needs its file)")
    reference = packs.get("en")
    expected = dict(_leaves(reference.phrases)) if reference else {}
    for code, pack in packs.items():
        where = shown[code]
        if pack.code != code:
            problems.append(f"{where}: field 'code': {pack.code!r} differs from the file name {code!r}")
        if code not in LANGUAGES:
            problems.append(f"{where}: unknown language {code!r} (expected one of {', '.join(LANGUAGES)})")
        if code not in JAPANESE and not pack.authoritative.strip():
            problems.append(f"{where}: field 'authoritative': is empty (say the Japanese text is authoritative)")
        for key, sentence in _leaves(pack.phrases):
            if key in expected and placeholders(sentence) != placeholders(expected[key]):
                want = ", ".join(sorted(placeholders(expected[key]))) or "none"
                problems.append(f"{where}: field 'phrases.{key}': placeholders must be exactly {{{want}}}")
            if not sentence.strip() and key not in ("labels.category", "labels.source"):
                problems.append(f"{where}: field 'phrases.{key}': is empty")
        missing = [c for c in categories if not pack.categories.get(c, "").strip()]
        if missing:
            problems.append(f"{where}: field 'categories': no name for {', '.join(missing)}")
        extra = sorted(set(pack.categories) - set(categories))
        if extra:
            problems.append(f"{where}: field 'categories': {', '.join(extra)} not in corpus/zone.yaml")
        missing_places = sorted(p for p in places if not pack.places.get(p, "").strip())
        if missing_places:
            problems.append(f"{where}: field 'places': no name for {', '.join(missing_places)}")
        problems += _check_projects(where, code, pack, project_ids)
    return problems


def _check_projects(where: str, code: str, pack: LanguagePack, project_ids: list[str]) -> list[str]:
    if code in BASE_LANGUAGES:
        if pack.projects:
            return [f"{where}: field 'projects': {code} project text lives in the project files, not here"]
        return []
    problems = []
    missing = [pid for pid in project_ids if pid not in pack.projects]
    if missing:
        problems.append(f"{where}: field 'projects': incomplete, no translation of {', '.join(missing)}")
    unknown = sorted(set(pack.projects) - set(project_ids))
    if unknown:
        problems.append(f"{where}: field 'projects': unknown project id(s) {', '.join(unknown)}")
    for pid, text in pack.projects.items():
        if len([e for e in text.examples if e.strip()]) < MIN_TRANSLATED_EXAMPLES:
            problems.append(
                f"{where}: field 'projects.{pid}.examples': needs at least {MIN_TRANSLATED_EXAMPLES} questions"
            )
    return problems
