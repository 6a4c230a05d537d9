"""A question typed in kana, written with the corpus's own words: 「すぽーつの きょうしつ」 → 「スポーツの 教室」.

Residents who write やさしい日本語 in hiragana only, or romaji (which the assistant turns into kana),
use the same words as the corpus, just not its kanji. The embedding model reads kana-only Japanese
poorly, so the question is also searched with every kana stretch that spells the reading of a word
of the corpus written as the corpus writes it. Only the corpus's own vocabulary is used (an input
method limited to the words the projects use, and to pairs of them the dictionary splits, such as
下水+道), and only readings of at least ``MIN_READING`` kana (short ones such as いえ or ひ are too
ambiguous).

Example::

    readings = CorpusReadings.from_texts(texts, analyzer)
    readings.spelled("すぽーつの きょうしつに はいりたいです")   # 'スポーツの 教室に はいりたいです'
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable

from assistant.search.tokens import TextAnalyzer, to_katakana

MIN_READING = 3
MAX_READING = 12
_KANA_RUN = re.compile(r"[\u3041-\u309fー]+")
_HAS_KANJI_OR_KATAKANA = re.compile(r"[\u4e00-\u9fff\u30a1-\u30faー]")


_KANJI = re.compile(r"[\u4e00-\u9fff]")
_KANA = re.compile(r"[\u3041-\u30ffー]")
MAX_KANJI_SHARE = 0.35
"""Measured on the tuning set: a fifth lost a question, a third and more answered as respelling all."""


def mostly_kana(text: str) -> bool:
    """Japanese written mostly in kana (やさしい日本語, romaji turned into kana): about a third or less of
    its Japanese letters are kanji. Ordinary Japanese has more, and the model reads it well as it is."""
    kanji, kana = len(_KANJI.findall(text)), len(_KANA.findall(text))
    return kana > 0 and kanji / (kanji + kana) < MAX_KANJI_SHARE


class CorpusReadings:
    """Katakana reading → the corpus's spelling, for words whose reading has one spelling there."""

    def __init__(self, spellings: dict[str, str]) -> None:
        self.spellings = spellings

    @classmethod
    def from_texts(cls, texts: Iterable[str], analyzer: TextAnalyzer) -> CorpusReadings:
        """Collect the content words written with kanji or katakana, by their reading."""
        seen: dict[str, Counter[str]] = defaultdict(Counter)
        for text in texts:
            words = [m for m in analyzer.morphemes(text) if m.content and m.reading]
            for k, m in enumerate(words):
                if _HAS_KANJI_OR_KATAKANA.search(m.surface):
                    seen[m.reading][m.surface] += 1
                    # Compounds the dictionary splits (下水+道, 病児+保育) are words of the corpus too.
                    if k + 1 < len(words) and _HAS_KANJI_OR_KATAKANA.search(words[k + 1].surface):
                        seen[m.reading + words[k + 1].reading][m.surface + words[k + 1].surface] += 1
        # Where one reading has several spellings (障害 / 障がい), the corpus's usual one.
        spellings = {
            reading: surfaces.most_common(1)[0][0]
            for reading, surfaces in seen.items()
            if MIN_READING <= len(reading) <= MAX_READING
        }
        return cls(spellings)

    def spelled(self, text: str) -> str:
        """The text with each kana stretch that spells a corpus word's reading written as the corpus
        writes it (longest reading first, left to right); other text unchanged."""
        if not self.spellings:
            return text
        return _KANA_RUN.sub(lambda m: self._spell_run(m.group(0)), text)

    def _spell_run(self, run: str) -> str:
        out: list[str] = []
        i = 0
        katakana = to_katakana(run)
        while i < len(run):
            for length in range(min(MAX_READING, len(run) - i), MIN_READING - 1, -1):
                word = self.spellings.get(katakana[i : i + length])
                if word is not None:
                    out.append(word)
                    i += length
                    break
            else:
                out.append(run[i])
                i += 1
        return "".join(out)
