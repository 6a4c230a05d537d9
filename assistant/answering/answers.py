"""Answers composed from curated corpus fields: exact, in the asker's language, never invented.

Every sentence about a project is a corpus field (name, summary and their translations, status,
municipalities, coverage, category, source) or a fixed sentence of the language files
(``corpus/languages/<code>.yaml``: how to read the status, "the document does not say", "ask your
municipality", which towns a project covers). Nothing is generated, so nothing can be made up;
where the corpus is silent (fees, hours, contacts) the answer says so.

An answer in a language other than Japanese keeps the Japanese official name beside the
translated one and ends with the language's line saying the Japanese text is authoritative.

Example::

    text = project_answer(corpus, [project], "ja", aspect="where", town=ResidentTown("下仁田町"))
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, Field

from assistant.answering.intents import Aspect
from assistant.corpus import Corpus, Project
from assistant.languages import JAPANESE, LanguagePack


@dataclass(frozen=True)
class ResidentTown:
    """Where the resident lives: a member municipality (富岡市 …) or a place outside the zone."""

    name: str
    member: bool = True

    def covered_by(self, project: Project) -> bool:
        """Whether ``project`` applies to residents of this town (never for a place outside the zone)."""
        return self.member and self.name in project.covers


class SourceRef(BaseModel):
    """Where a cited project is written."""

    document: str
    file: str
    page: int
    path: list[str]


class Citation(BaseModel):
    """A joint project an answer comes from."""

    project_id: str
    name: str = Field(description="The official Japanese name.")
    name_en: str
    display_name: str = Field(description="The name in the answer's language (the official name for Japanese).")
    category_path: list[str]
    category_path_en: list[str]
    display_category_path: list[str] = Field(description="政策分野 › 政策項目 › 協定内容 in the answer's language.")
    status: str
    status_label: str = Field(description="The status in the answer's language (計画段階, Planned …).")
    municipalities: list[str] = Field(description="The municipality words of the source (構成団体, 富岡市 …).")
    covers: list[str] = Field(description="The member municipalities the project applies to, from the source.")
    covers_town: bool | None = Field(
        default=None, description="Whether the project covers the resident's town; null when the town is unknown."
    )
    source: SourceRef
    contact: str = ""
    url: str = ""
    score: float = Field(description="Fused retrieval score (higher is closer); for ordering, not a probability.")


def _pack(corpus: Corpus, lang: str) -> LanguagePack:
    return corpus.languages[lang] if lang in corpus.languages else corpus.languages["en"]


def citation(corpus: Corpus, project: Project, lang: str, score: float, town: ResidentTown | None = None) -> Citation:
    """The citation of one project, labelled in the answer's language, with its coverage of the town."""
    pack = _pack(corpus, lang)
    return Citation(
        project_id=project.id,
        name=project.name,
        name_en=project.name_en,
        display_name=corpus.text(project, lang).name,
        category_path=project.category_path,
        category_path_en=[corpus.category(n, "en") for n in project.category_path],
        display_category_path=[corpus.category(n, lang) for n in project.category_path],
        status=project.status,
        status_label=getattr(pack.phrases.status_label, project.status),
        municipalities=project.municipalities,
        covers=project.covers,
        covers_town=None if town is None else town.covered_by(project),
        source=SourceRef(
            document=project.source.document,
            file=project.source.file,
            page=project.source.page,
            path=project.source.path,
        ),
        contact=project.contact,
        url=project.url,
        score=round(score, 4),
    )


def title(corpus: Corpus, project: Project, lang: str) -> str:
    """The project's name as an answer shows it: translated, with the official Japanese name beside it."""
    if lang in JAPANESE:
        return project.name
    return f"{corpus.text(project, lang).name} ({project.name})"


def _summary(corpus: Corpus, project: Project, lang: str) -> str:
    text = corpus.text(project, lang).summary
    return text if lang == "ja" else " ".join(line.strip() for line in text.splitlines() if line.strip())


def _municipalities(corpus: Corpus, project: Project, lang: str) -> str:
    pack = _pack(corpus, lang)
    if lang in JAPANESE:
        return pack.phrases.list_separator.join(corpus.place(m, lang) for m in project.municipalities)
    return pack.phrases.list_separator.join(f"{corpus.place(m, lang)} ({m})" for m in project.municipalities)


def town_name(corpus: Corpus, town: ResidentTown, lang: str) -> str:
    """The resident's town in the answer's language (a place outside the zone as they wrote it)."""
    return corpus.place(town.name, lang) if town.member else town.name


def coverage_line(corpus: Corpus, project: Project, lang: str, town: ResidentTown | None) -> str | None:
    """Whether ``project`` covers the resident's town, said plainly; or, town unknown, which towns it covers.

    None when there is nothing to say: the town is unknown and the project covers the whole zone.
    """
    pack = _pack(corpus, lang)
    members = corpus.zone.members
    covered = pack.join([corpus.place(m, lang) for m in members if m in project.covers])
    if town is None:
        return None if set(project.covers) >= set(members) else pack.phrases.covers_only.format(covered=covered)
    name = town_name(corpus, town, lang)
    if not town.member:
        return pack.phrases.covers_outside.format(members=covered, town=name)
    if town.covered_by(project):
        return pack.phrases.covers_yes.format(town=name)
    return pack.phrases.covers_no.format(covered=covered, town=name)


def _contact_lines(corpus: Corpus, project: Project, lang: str, aspect: Aspect | None) -> list[str]:
    phrases = _pack(corpus, lang).phrases
    lines = []
    if project.contact:
        lines.append(phrases.labels.contact + project.contact)
    if project.url:
        lines.append(phrases.labels.url + project.url)
    if not lines:
        gap = "" if lang in JAPANESE or lang == "zh" else " "  # these languages run sentences together
        lines.append(
            phrases.ask_municipality if aspect == "contact" else f"{phrases.more_info}{gap}{phrases.ask_municipality}"
        )
    return lines


def _aspect_line(corpus: Corpus, project: Project, lang: str, aspect: Aspect | None) -> str | None:
    phrases = _pack(corpus, lang).phrases
    if aspect is None:
        return None
    if aspect == "contact" and (project.contact or project.url):
        return None  # the contact lines below answer it
    missing = getattr(phrases.not_in_source, aspect)
    if aspect == "when":
        return f"{getattr(phrases.status_text, project.status)} {missing}"
    return str(missing)


def _closing(corpus: Corpus, lang: str) -> list[str]:
    """The last line of an answer in a foreign language: the Japanese text is authoritative."""
    line = _pack(corpus, lang).authoritative
    return ["", line] if line else []


def project_answer(
    corpus: Corpus,
    projects: list[Project],
    lang: str,
    *,
    aspect: Aspect | None = None,
    town: ResidentTown | None = None,
) -> str:
    """The answer about one project (``projects[0]``), naming up to two related ones after it."""
    pack = _pack(corpus, lang)
    phrases = pack.phrases
    main, related = projects[0], projects[1:3]
    lines = [phrases.intro.format(name=title(corpus, main, lang))]
    coverage = coverage_line(corpus, main, lang, town)
    if coverage:
        lines.append(coverage)
    lead = _aspect_line(corpus, main, lang, aspect)
    if lead:
        lines.append(lead)
    lines += ["", _summary(corpus, main, lang), ""]
    labels = phrases.labels
    lines.append(labels.status + getattr(phrases.status_text, main.status))
    lines.append(labels.municipalities + _municipalities(corpus, main, lang))
    if labels.category:
        lines.append(labels.category + " › ".join(corpus.category(n, lang) for n in main.category_path))
    lines.append(labels.source + phrases.source_line.format(document=main.source.document, page=main.source.page))
    if related:
        names = [title(corpus, p, lang) for p in related]
        lines += ["", labels.related + ("; " if lang not in JAPANESE else "、").join(names)]
        for project in related:
            extra = coverage_line(corpus, project, lang, town)
            if extra and town is not None and not town.covered_by(project):
                lines.append(f"{title(corpus, project, lang)}: {extra}")
    lines += ["", *_contact_lines(corpus, main, lang, aspect), *_closing(corpus, lang)]
    return "\n".join(lines).strip()


def list_answer(
    corpus: Corpus,
    projects: list[Project],
    lang: str,
    *,
    town: ResidentTown | None = None,
    grouped: bool = False,
) -> str:
    """Every project a list question asks for, each with its status and summary; never cut short.

    ``grouped`` puts them under their policy area (the answer to "what can residents of X use?").
    """
    pack = _pack(corpus, lang)
    phrases = pack.phrases
    if grouped and town is not None:
        head = phrases.town_list_head.format(n=len(projects), town=town_name(corpus, town, lang))
    else:
        head = phrases.list_head.format(n=len(projects))
    lines = [head, ""]
    area = None
    for number, project in enumerate(projects, 1):
        if grouped and project.policy_area != area:
            area = project.policy_area
            lines.append(f"【{corpus.category(area, lang)}】")
        status = getattr(phrases.status_label, project.status)
        lines.append(f"{number}. {title(corpus, project, lang)} — {status}")
        lines.append(f"   {_summary(corpus, project, lang)}")
        coverage = coverage_line(corpus, project, lang, town)
        if coverage and not grouped:
            lines.append(f"   {coverage}")
    source = projects[0].source.document
    lines += [
        "",
        phrases.labels.source + phrases.source_line.format(document=source, page="1–2"),
        phrases.ask_municipality,
        *_closing(corpus, lang),
    ]
    return "\n".join(lines).strip()


def abstention(corpus: Corpus, lang: str) -> str:
    """The honest "not covered": no project answers this; ask the municipality; what can be asked."""
    phrases = _pack(corpus, lang).phrases
    topics = phrases.list_separator.join(corpus.category(item.name, lang) for item in corpus.zone.items())
    gap = "" if lang in JAPANESE or lang == "zh" else " "
    text = f"{phrases.not_covered}{gap}{phrases.ask_municipality}\n{phrases.can_answer.format(topics=topics)}"
    return "\n".join([text, *_closing(corpus, lang)])


def suggestions(corpus: Corpus, lang: str) -> list[str]:
    """Follow-up questions a resident can tap after an answer about one project."""
    tips = _pack(corpus, lang).phrases.suggestions
    return [tips.where, tips.who, tips.when]
