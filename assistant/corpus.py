"""The corpus of joint projects: its format, its loader and its validation.

One YAML file per project in ``corpus/projects/<id>.yaml``, the zone and its policy
hierarchy in ``corpus/zone.yaml``, and the source document in ``corpus/source/``.
Everything the assistant says about a project comes from these files.

Example::

    corpus = load_corpus(Path("corpus"))
    corpus.projects["sick-child-care"].name   # '病児・病後児保育事業'

:func:`load_corpus` checks every file and raises one :class:`CorpusError` listing every
problem (file, field, what is wrong), so staff can fix a whole edit in one pass.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assistant.errors import CorpusError
from assistant.languages import LANGUAGES, LanguagePack, ProjectText, check_languages

Status = Literal["planned", "under_discussion", "in_operation"]
STATUSES: tuple[str, ...] = ("planned", "under_discussion", "in_operation")

PROJECT_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SOURCE_DOCUMENT = "定住自立圏連携事業（案）"
MIN_EXAMPLES = 5
ZONE_WIDE_WORDS: tuple[str, ...] = ("圏域", "構成団体", "富岡市及び各町村", "各町村", "市と町村")
"""Words of the source that mean every member municipality (圏域市町村 contains 圏域)."""

_KANA_OR_KANJI = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def _project_id(value: str) -> str:
    if not PROJECT_ID.match(value):
        raise ValueError(f"{value!r} is not lower-case and hyphenated (e.g. 'sick-child-care')")
    return value


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("is empty")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Source(_Strict):
    """Where in the source document a project is written."""

    document: str
    file: str
    page: int = Field(ge=1)
    path: list[str] = Field(min_length=4, max_length=4)

    @field_validator("document", "file")
    @classmethod
    def _filled(cls, value: str) -> str:
        return _non_blank(value)


class Project(_Strict):
    """One joint project (連携事業), as staff edit it in ``corpus/projects/<id>.yaml``."""

    id: str
    name: str
    name_en: str
    policy_area: str
    policy_item: str
    agreement: str
    summary: str
    summary_en: str
    summary_easy: str
    status: Status
    status_basis: str
    municipalities: list[str] = Field(min_length=1)
    covers: list[str] = Field(min_length=1)
    """The member municipalities the project applies to, as the source says (``covers_basis``)."""
    covers_basis: str
    """The words of the source that ``covers`` rests on: a phrase of the summary or a ``municipalities`` entry."""
    districts: dict[str, list[str]] = Field(default_factory=dict)
    """Where the source limits a project to districts: municipality → district names (岡本 …)."""
    aliases: list[str] = Field(min_length=1)
    examples: list[str] = Field(min_length=MIN_EXAMPLES)
    source: Source
    contact: str = ""
    url: str = ""

    @field_validator(
        "name",
        "name_en",
        "policy_area",
        "policy_item",
        "agreement",
        "summary",
        "summary_en",
        "summary_easy",
        "status_basis",
        "covers_basis",
    )
    @classmethod
    def _filled(cls, value: str) -> str:
        return _non_blank(value)

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        return _project_id(value)

    @field_validator("municipalities", "covers", "aliases", "examples")
    @classmethod
    def _no_blank_items(cls, values: list[str]) -> list[str]:
        for i, item in enumerate(values):
            if not str(item).strip():
                raise ValueError(f"item {i + 1} is empty")
        return values

    @property
    def category_path(self) -> list[str]:
        """政策分野 › 政策項目 › 協定内容, as in the source table."""
        return [self.policy_area, self.policy_item, self.agreement]


class Agreement(_Strict):
    """A 協定内容 (agreement) of the zone's policy table."""

    name: str
    keywords: list[str] = Field(default_factory=list)
    """Everyday words for the category, used to answer list questions (「子育ての事業を全部」)."""


class PolicyItem(_Strict):
    """A 政策項目 (policy item) and its agreements."""

    name: str
    keywords: list[str] = Field(default_factory=list)
    agreements: list[Agreement] = Field(min_length=1)


class PolicyArea(_Strict):
    """A 政策分野 (policy area) and its items."""

    name: str
    items: list[PolicyItem] = Field(min_length=1)


class Town(_Strict):
    """A member municipality and the ways residents write it."""

    name: str
    kana: list[str] = Field(default_factory=list)
    latin: list[str] = Field(default_factory=list)
    """Romaji and English spellings (Kanra, Kanra Town, Kanra-machi)."""
    other: list[str] = Field(default_factory=list)
    """The name in other scripts (甘乐町, 간라, คันระ …)."""
    districts: list[str] = Field(default_factory=list)
    """大字 and district names inside the municipality."""
    readings: dict[str, list[str]] = Field(default_factory=dict)
    """A district's readings, in kana and romaji (善慶寺: [ぜんけいじ, Zenkeiji]): for questions typed
    in kana or romaji. Every key is one of ``districts``."""

    @model_validator(mode="after")
    def _readings_of_districts(self) -> Town:
        unknown = [name for name in self.readings if name not in self.districts]
        if unknown:
            raise ValueError(f"field 'readings': {', '.join(unknown)} not in 'districts' of {self.name}")
        return self


class Zone(_Strict):
    """The settlement-and-independence zone and its policy hierarchy (``corpus/zone.yaml``)."""

    name: str
    centre_city: str
    members: list[str] = Field(min_length=1)
    policy_areas: list[PolicyArea] = Field(min_length=1)
    towns: list[Town] = Field(default_factory=list)
    outside_places: list[str] = Field(default_factory=list)

    def items(self) -> list[PolicyItem]:
        """Every policy item (医療, 福祉 …), in table order."""
        return [item for area in self.policy_areas for item in area.items]

    def hierarchy(self) -> set[tuple[str, str, str]]:
        """Every (policy area, policy item, agreement) triple the zone defines."""
        return {
            (area.name, item.name, agreement.name)
            for area in self.policy_areas
            for item in area.items
            for agreement in item.agreements
        }

    def category_names(self) -> list[str]:
        """Every area, item and agreement name, in table order (each once)."""
        names: list[str] = []
        for area in self.policy_areas:
            names.append(area.name)
            for item in area.items:
                names.append(item.name)
                names += [agreement.name for agreement in item.agreements]
        return list(dict.fromkeys(names))


class OutOfScopeTopic(_Strict):
    """A topic residents ask about that no joint project covers (``corpus/out_of_scope.yaml``)."""

    id: str
    description: str
    examples: list[str] = Field(min_length=3)
    small_talk: bool = False
    """Greetings, thanks and goodbyes: a turn closest to these closes a conversation, it never asks
    about the conversation's project."""
    language_request: bool = False
    """Asking for the answer in another language (「日本語でお願いします」, "en español, por favor"):
    a sentence closest to these that names a language (``called`` in ``corpus/languages/``) asks
    for the answer in that language; it is not a need of its own."""

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        return _project_id(value)


class OutOfScope(_Strict):
    """The file of out-of-scope topics."""

    topics: list[OutOfScopeTopic] = Field(default_factory=list)


@dataclass(frozen=True)
class Corpus:
    """A validated corpus: the zone, the projects by id (source-table order), out-of-scope topics, the source text."""

    zone: Zone
    projects: dict[str, Project]
    source_text: str
    source_file: str
    digest: str
    out_of_scope: list[OutOfScopeTopic] = field(default_factory=list)
    languages: dict[str, LanguagePack] = field(default_factory=dict)
    root: Path | None = None
    """The folder it was loaded from (an index version snapshots these files)."""

    def get(self, project_id: str) -> Project | None:
        """The project with this id, or None."""
        return self.projects.get(project_id)

    def text(self, project: Project, lang: str) -> ProjectText:
        """The project's name and summary in ``lang`` (Japanese for an unknown language)."""
        if lang == "en":
            return ProjectText(name=project.name_en, summary=project.summary_en)
        if lang == "ja-easy":
            return ProjectText(name=project.name, summary=project.summary_easy)
        pack = self.languages.get(lang)
        if pack is None or project.id not in pack.projects:
            return ProjectText(name=project.name, summary=project.summary)
        return pack.projects[project.id]

    def category(self, name: str, lang: str) -> str:
        """An area, item or agreement name in ``lang`` (the Japanese name when untranslated)."""
        pack = self.languages.get(lang)
        return pack.categories.get(name, name) if pack else name

    def place(self, word: str, lang: str) -> str:
        """A municipality word (富岡市, 構成団体 …) in ``lang``."""
        pack = self.languages.get(lang)
        return pack.places.get(word, word) if pack else word


def join_source_lines(text: str) -> str:
    """Join the PDF extraction's line breaks so a summary split over lines reads whole.

    Also applies NFKC so full-width and half-width forms compare equal.
    """
    return re.sub(r"[ \t]*\r?\n[ \t]*", "", unicodedata.normalize("NFKC", text))


def corpus_files(root: Path) -> list[Path]:
    """The files whose content defines the corpus, in a stable order."""
    files = sorted((root / "projects").glob("*.yaml"))
    files += [root / "zone.yaml", root / "out_of_scope.yaml", *sorted((root / "source").glob("*.txt"))]
    files += sorted((root / "languages").glob("*.yaml"))
    return [f for f in files if f.is_file()]


def corpus_digest(root: Path) -> str:
    """A SHA-256 over the corpus files' names and bytes: changes whenever staff edit one."""
    digest = hashlib.sha256()
    for path in corpus_files(root):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _field_name(loc: Iterable[Any]) -> str:
    return ".".join(str(part) for part in loc) or "(file)"


def _read_yaml(path: Path, shown: str, problems: list[str]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        problems.append(f"{shown}: YAML syntax error{where}: {reason}")
    except UnicodeDecodeError as exc:
        problems.append(f"{shown}: not UTF-8 text ({exc.reason})")
    return None


def _validation_problems(shown: str, exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors():
        field = _field_name(error["loc"])
        kind = error["type"]
        if kind == "missing":
            message = "missing"
        elif kind == "literal_error" and field == "status":
            message = f"unknown status {error.get('input')!r} (expected one of {', '.join(STATUSES)})"
        elif kind == "extra_forbidden":
            message = "unknown field (a typo?)"
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{shown}: field '{field}': {message}")
    return problems


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def _check_languages(shown: str, project: Project) -> list[str]:
    problems = []
    japanese = [e for e in project.examples if _KANA_OR_KANJI.search(e)]
    english = [e for e in project.examples if _LATIN_WORD.search(e) and not _KANA_OR_KANJI.search(e)]
    if not japanese:
        problems.append(f"{shown}: field 'examples': needs at least one Japanese question")
    if not english:
        problems.append(f"{shown}: field 'examples': needs at least one English question")
    return problems


def _check_project(
    shown: str, path: Path, project: Project, zone: Zone | None, source: str | None, source_file: str
) -> list[str]:
    problems: list[str] = []
    if project.id != path.stem:
        problems.append(f"{shown}: field 'id': {project.id!r} differs from the file name {path.stem!r}")
    if source is not None and join_source_lines(project.summary) not in source:
        problems.append(f"{shown}: field 'summary': not found verbatim in the source document {source_file}")
    if join_source_lines(project.status_basis) not in join_source_lines(project.summary):
        problems.append(f"{shown}: field 'status_basis': {project.status_basis!r} is not a phrase of the summary")
    if source is not None and join_source_lines(project.name) not in source:
        problems.append(f"{shown}: field 'name': {project.name!r} not found in the source document")
    if zone is not None:
        triple = (project.policy_area, project.policy_item, project.agreement)
        if triple not in zone.hierarchy():
            problems.append(
                f"{shown}: fields 'policy_area/policy_item/agreement': {' › '.join(triple)} is not in corpus/zone.yaml"
            )
    if zone is not None:
        problems += _check_covers(shown, project, zone)
    expected_path = [*project.category_path, project.name]
    if project.source.path != expected_path:
        problems.append(f"{shown}: field 'source.path': expected {expected_path}, found {project.source.path}")
    if project.source.document != SOURCE_DOCUMENT:
        problems.append(f"{shown}: field 'source.document': expected {SOURCE_DOCUMENT!r}")
    if project.source.file != source_file:
        problems.append(f"{shown}: field 'source.file': {project.source.file!r} is not in corpus/source/")
    return problems + _check_languages(shown, project)


def _check_covers(shown: str, project: Project, zone: Zone) -> list[str]:
    """``covers`` names member municipalities and agrees with the phrase it rests on."""
    problems = []
    unknown = [m for m in project.covers if m not in zone.members]
    if unknown:
        problems.append(
            f"{shown}: field 'covers': {', '.join(unknown)} is not a member municipality ({', '.join(zone.members)})"
        )
    basis = join_source_lines(project.covers_basis)
    if basis not in join_source_lines(project.summary) and project.covers_basis not in project.municipalities:
        problems.append(
            f"{shown}: field 'covers_basis': {project.covers_basis!r} is neither a phrase of the summary nor one of "
            "'municipalities'"
        )
    if any(word in basis for word in ZONE_WIDE_WORDS):
        implied = list(zone.members)
    else:
        implied = [m for m in zone.members if m in basis]
    if sorted(project.covers) != sorted(implied):
        problems.append(
            f"{shown}: field 'covers': {project.covers} does not agree with covers_basis "
            f"{project.covers_basis!r}, which means {implied}"
        )
    for town, districts in project.districts.items():
        if town not in project.covers:
            problems.append(f"{shown}: field 'districts': {town!r} is not in 'covers'")
        for district in districts:
            if district not in join_source_lines(project.summary):
                problems.append(f"{shown}: field 'districts.{town}': {district!r} is not named in the summary")
    return problems


def _check_towns(shown: str, zone: Zone) -> list[str]:
    names = [town.name for town in zone.towns]
    if names and sorted(names) != sorted(zone.members):
        return [f"{shown}: field 'towns': {names} must be exactly the members {zone.members}"]
    return []


def _load_languages(
    root: Path, zone: Zone | None, projects: dict[str, Project], ids: list[str], problems: list[str]
) -> dict[str, LanguagePack]:
    """Read ``languages/*.yaml`` and check that every language is complete."""
    packs: dict[str, LanguagePack] = {}
    shown: dict[str, str] = {}
    for path in sorted((root / "languages").glob("*.yaml")):
        where = _shown(path, root)
        shown[path.stem] = where
        data = _read_yaml(path, where, problems)
        if data is None:
            continue
        if not isinstance(data, dict):
            problems.append(f"{where}: expected a mapping of fields, found {type(data).__name__}")
            continue
        try:
            packs[path.stem] = LanguagePack.model_validate(data)
        except ValidationError as exc:
            problems.extend(_validation_problems(where, exc))
    if zone is None:
        return packs
    places = set(zone.members) | {word for p in projects.values() for word in p.municipalities}
    problems += check_languages(
        packs,
        project_ids=ids,
        categories=zone.category_names(),
        places=places,
        shown=shown,
    )
    return packs


def load_corpus(root: Path) -> Corpus:
    """Load and validate the corpus folder.

    Args:
        root: the corpus folder (holding ``zone.yaml``, ``projects/`` and ``source/``).

    Returns:
        The validated corpus.

    Raises:
        CorpusError: listing every problem found, each with file and field.
    """
    problems: list[str] = []
    if not root.is_dir():
        raise CorpusError([f"{root}: no such corpus folder"])

    sources = sorted((root / "source").glob("*.txt"))
    source_text: str | None = None
    source_file = ""
    if len(sources) != 1:
        problems.append(f"{_shown(root / 'source', root)}: expected exactly one source .txt file, found {len(sources)}")
    else:
        source_file = sources[0].name
        raw_source = sources[0].read_text(encoding="utf-8")
        source_text = join_source_lines(raw_source)

    zone: Zone | None = None
    zone_path = root / "zone.yaml"
    if not zone_path.is_file():
        problems.append(f"{_shown(zone_path, root)}: missing")
    else:
        data = _read_yaml(zone_path, _shown(zone_path, root), problems)
        if data is not None:
            try:
                zone = Zone.model_validate(data)
                problems.extend(_check_towns(_shown(zone_path, root), zone))
            except ValidationError as exc:
                problems.extend(_validation_problems(_shown(zone_path, root), exc))

    projects: dict[str, Project] = {}
    seen: dict[str, str] = {}
    files = sorted((root / "projects").glob("*.yaml"))
    if not files:
        problems.append(f"{_shown(root / 'projects', root)}: no project files")
    for path in files:
        shown = _shown(path, root)
        data = _read_yaml(path, shown, problems)
        if data is None:
            if path.read_bytes().strip() == b"":
                problems.append(f"{shown}: the file is empty")
            continue
        if not isinstance(data, dict):
            problems.append(f"{shown}: expected a mapping of fields, found {type(data).__name__}")
            continue
        try:
            project = Project.model_validate(data)
        except ValidationError as exc:
            problems.extend(_validation_problems(shown, exc))
            continue
        if project.id in seen:
            problems.append(f"{shown}: field 'id': duplicate id {project.id!r} (also in {seen[project.id]})")
            continue
        seen[project.id] = shown
        problems.extend(_check_project(shown, path, project, zone, source_text, source_file))
        projects[project.id] = project

    out_of_scope = _load_out_of_scope(root, projects, problems)
    languages = _load_languages(root, zone, projects, [path.stem for path in files], problems)
    if problems or zone is None or source_text is None:
        raise CorpusError(problems)
    # The order of the source table (page, then where the name stands), as staff read it.
    text = source_text
    projects = dict(
        sorted(projects.items(), key=lambda kv: (kv[1].source.page, text.find(join_source_lines(kv[1].name))))
    )
    return Corpus(
        zone=zone,
        projects=projects,
        source_text=raw_source,
        source_file=source_file,
        digest=corpus_digest(root),
        out_of_scope=out_of_scope,
        languages={code: languages[code] for code in LANGUAGES if code in languages},
        root=root,
    )


def _load_out_of_scope(root: Path, projects: dict[str, Project], problems: list[str]) -> list[OutOfScopeTopic]:
    """The optional ``out_of_scope.yaml``: unique ids, and no example that is also a project's example."""
    path = root / "out_of_scope.yaml"
    if not path.is_file():
        return []
    shown = _shown(path, root)
    data = _read_yaml(path, shown, problems)
    if data is None:
        return []
    try:
        topics = OutOfScope.model_validate(data).topics
    except ValidationError as exc:
        problems.extend(_validation_problems(shown, exc))
        return []
    project_examples = {unicodedata.normalize("NFKC", e) for p in projects.values() for e in p.examples}
    seen: set[str] = set()
    for n, topic in enumerate(topics):
        if topic.id in seen:
            problems.append(f"{shown}: field 'topics.{n}.id': duplicate id {topic.id!r}")
        seen.add(topic.id)
        for example in topic.examples:
            if unicodedata.normalize("NFKC", example) in project_examples:
                problems.append(f"{shown}: topic {topic.id!r}: example {example!r} is also a project's example")
    return topics
