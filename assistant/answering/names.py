"""Which projects a question names: by official name or alias, in any of the corpus's languages.

Naming a project (「ファミサポの登録に要る書類は？」) is strong evidence that the question is about it,
however little else of the question the project's text covers; the confidence model weighs it
with the retrieval scores.
"""

from __future__ import annotations

import re

import jaconv
import numpy as np
import numpy.typing as npt

from assistant.corpus import Corpus
from assistant.search.tokens import normalize

MIN_NAME_CHARS = 2


class ProjectNames:
    """One pattern per project over its name, English name, aliases and translated names.

    Example::

        names = ProjectNames(corpus, project_ids)
        names.named("ファミサポって登録いるの？")   # 1.0 at family-support-center, 0 elsewhere
    """

    def __init__(self, corpus: Corpus, project_ids: list[str]) -> None:
        self._patterns: list[re.Pattern[str]] = []
        self._respelled: dict[str, str] = {}
        official: list[str] = []
        # A place is where the resident lives, not a project's name, even where a project's alias is
        # a district (善慶寺 for the sewerage plan).
        places = {
            normalize(name)
            for town in corpus.zone.towns
            for name in [town.name, *town.kana, *town.latin, *town.other, *town.districts]
        }
        for pid in project_ids:
            project = corpus.projects[pid]
            words = [project.name, project.name_en, *project.aliases]
            words += [pack.projects[pid].name for pack in corpus.languages.values() if pid in pack.projects]
            spellings = {normalize(form): word for word in words for form in kana_forms(word)}
            self._respelled.update(spellings)
            words += list(spellings)
            self._patterns.append(_alternation([w for w in words if normalize(w) not in places]))
            official.append(project.name)
        self._official = _alternation(official)
        self._spellings = _alternation(list(self._respelled))

    def respelled(self, question: str) -> str:
        """The question (normalized) with a name typed in hiragana or romaji (ふぁみさぽ, famisapo)
        written as the corpus writes it (ファミサポ), so the word search finds it too."""
        text = normalize(question)
        if not self._respelled:
            return text
        return self._spellings.sub(lambda m: self._respelled.get(m.group(0), m.group(0)), text)

    def without(self, question: str) -> str:
        """The question (normalized) with the projects' official names taken out: a town inside a
        name (「富岡地域自立支援協議会事業」) is not where the resident lives. (Aliases stay: some are
        districts, such as 岡本地区, which do say where the resident lives.)"""
        return self._official.sub(" ", normalize(question))

    def named(self, question: str) -> npt.NDArray[np.float64]:
        """1.0 for each project the question names, 0.0 for the others.

        A word after a demonstrative (「その講座」, "that course") points back at something said
        before; it does not name a project of its own.
        """
        text = _DEMONSTRATIVE.sub(" ", normalize(question))
        return np.array([1.0 if pattern.search(text) else 0.0 for pattern in self._patterns])


# 「その講座」「あの教室」 "that course": the demonstrative and the noun right after it (not 「どこの」, "which").
_DEMONSTRATIVE = re.compile(r"(?:その|(?<!(?<![けなほ])ど)この|あの)\s?[一-龯ァ-ヴー]+|\b(?:that|this|the same)\s+\w+")
_KATAKANA = re.compile(r"[ァ-ヴー・]+")
MIN_ROMAJI_KANA = 4


def kana_forms(word: str) -> list[str]:
    """A katakana name as residents also type it: in hiragana (ふぁみさぽ) and, when it has no long
    vowel mark to spell one way or another, in romaji (famisapo)."""
    if not _KATAKANA.fullmatch(word):
        return []
    hiragana = jaconv.kata2hira(word)
    forms = [hiragana]
    if "ー" not in word and "・" not in word and len(word) >= MIN_ROMAJI_KANA:
        forms.append(jaconv.kana2alphabet(hiragana))
    return forms


def _alternation(words: list[str]) -> re.Pattern[str]:
    parts = []
    for word in sorted({normalize(w) for w in words if len(w.strip()) >= MIN_NAME_CHARS}, key=len, reverse=True):
        escaped = re.escape(word)
        parts.append(rf"\b{escaped}\b" if re.fullmatch(r"[a-z0-9 \-'()/.,]+", word) else escaped)
    return re.compile("|".join(parts) or r"(?!x)x")
