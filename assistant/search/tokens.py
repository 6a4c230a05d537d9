"""Japanese (and mixed) text into search tokens, with fugashi and unidic-lite.

Each word gives its lemma (``子ども`` → ``子供``) and its kana reading (``コドモ``), so a
question in kana only meets kanji text. Readings of a whole hiragana question are often
segmented differently from the kanji text (「かいごにんてい」 vs 「介護認定」), so the reading of
the whole text also contributes kana bigrams, which match whatever the segmentation.
Particles, auxiliaries, symbols and fillers are dropped; Latin words are lower-cased and lose
their diacritics (``língua`` and ``lingua`` meet).

Example::

    analyzer = TextAnalyzer()
    analyzer.tokens("びょうじほいく")   # ['鋲', 'r:ビョウ', ..., 'k:ビョ', 'k:ョウ', ...]
"""

from __future__ import annotations

import re
import threading
import unicodedata
from typing import Any, NamedTuple

_DROP_POS1 = {"助詞", "助動詞", "補助記号", "記号", "空白", "感動詞", "フィラー"}
_SYMBOL_POS1 = {"補助記号", "記号", "空白"}
_KATAKANA = re.compile(r"^[\u30a0-\u30ff]+$")
_LATIN = re.compile(r"^[a-z0-9][a-z0-9'\-]*$")
_KANA_ONLY = re.compile(r"[\u3041-\u309f\u30a0-\u30ffー]+")
# Scripts Japanese never uses (Hangul, Thai, Devanagari): their words carry particles and have no
# dictionary here, so they are matched by character bigrams, like kana readings.
_OTHER_SCRIPT_RUN = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u0e00-\u0e7f\u0900-\u097f]+")
_HAN_RUN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]+")
_UNDECOMPOSED = str.maketrans({"đ": "d", "ø": "o", "ł": "l", "ß": "ss", "æ": "ae", "œ": "oe"})
"""Latin letters whose diacritic Unicode does not decompose."""
_HIRAGANA_TO_KATAKANA = str.maketrans({chr(c): chr(c + 0x60) for c in range(0x3041, 0x3097)})

# Words too general to tell one project from another; BM25's idf handles most, these it cannot.
_STOP_LEMMAS = {
    "する", "為る", "ある", "有る", "在る", "いる", "居る", "なる", "成る", "こと", "事", "もの", "物", "ない", "無い",
    "できる", "出来る", "教える", "いい", "良い", "よい", "思う", "この", "その", "あの", "どの", "これ", "それ",
    "あれ", "ここ", "そこ", "どこ", "何", "なに", "ください", "下さる", "くださる", "ほしい", "欲しい", "です",
    "ます", "知る", "分かる", "わかる", "聞く", "方", "よう", "様", "とき", "時", "ところ", "所", "人",
}  # fmt: skip
_STOP_LATIN = {
    "a", "an", "the", "is", "are", "was", "be", "to", "of", "in", "on", "for", "and", "or", "i", "my", "me",
    "you", "your", "we", "our", "it", "its", "can", "do", "does", "how", "what", "where", "when", "who", "which",
    "there", "this", "that", "with", "at", "from", "any", "get", "about", "if", "im", "i'm", "please", "tell",
    "want", "need", "know", "have", "has", "some", "they", "them", "their", "will", "would", "should", "could",
    "by", "as", "so", "not", "no", "yes", "is there", "e",
}  # fmt: skip


class Word(NamedTuple):
    """One word of the text as written (not normalized), with where it stands: for reading grammar."""

    start: int
    end: int
    surface: str
    pos1: str
    pos2: str
    lemma: str


class Morpheme(NamedTuple):
    """One word as fugashi segments it."""

    surface: str
    lemma: str
    reading: str
    content: bool


def normalize(text: str) -> str:
    """NFKC, lower-cased, whitespace collapsed: the form every comparison uses."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def to_katakana(text: str) -> str:
    """Hiragana → katakana; other characters unchanged."""
    return text.translate(_HIRAGANA_TO_KATAKANA)


def fold_latin(word: str) -> str | None:
    """A lower-case Latin-script word without its diacritics (``língua`` → ``lingua``, ``giữa`` →
    ``giua``), or None if it is not one (the tokenizer lower-cases first; letters with no
    decomposition outside ``_UNDECOMPOSED``, such as ``ı``, leave the word as it is). Residents
    often type Vietnamese, Portuguese and Spanish without them (a phone keyboard, a hurry), so both
    spellings must meet."""
    if _LATIN.match(word):
        return word
    decomposed = unicodedata.normalize("NFD", word.translate(_UNDECOMPOSED))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped if _LATIN.match(stripped) else None


def _stem_latin(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


class TextAnalyzer:
    """Turns text into BM25 tokens. The fugashi ``Tagger`` loads on first use and is shared behind a lock."""

    def __init__(self, *, kana_bigrams: bool = True, han_bigrams: bool = True) -> None:
        self.kana_bigrams = kana_bigrams
        self.han_bigrams = han_bigrams
        self._tagger: Any = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the dictionary now (it is otherwise loaded on first use)."""
        self._ensure_tagger()

    def _ensure_tagger(self) -> Any:
        if self._tagger is None:
            import fugashi

            self._tagger = fugashi.Tagger()
        return self._tagger

    def morphemes(self, text: str) -> list[Morpheme]:
        """Every morpheme of the normalized text, with lemma, katakana reading and whether it carries content."""
        out: list[Morpheme] = []
        with self._lock:
            tagger = self._ensure_tagger()
            for word in tagger(normalize(text)):
                feature = word.feature
                surface = word.surface
                pos1 = feature.pos1 or ""
                lemma = (feature.lemma or surface).split("-", 1)[0]
                reading = feature.kana or ""
                if _KANA_ONLY.fullmatch(surface):
                    reading = to_katakana(surface)  # a kana word is its own reading, whatever the dictionary guessed
                content = pos1 not in _DROP_POS1 or bool(_LATIN.match(surface))
                if pos1 in _SYMBOL_POS1:
                    reading = ""
                out.append(Morpheme(surface, lemma, reading if _KATAKANA.match(reading or "-") else "", content))
        return out

    def words(self, text: str) -> list[Word]:
        """Every word of ``text`` as written, with its offsets, part of speech and lemma."""
        out: list[Word] = []
        position = 0
        with self._lock:
            tagger = self._ensure_tagger()
            for word in tagger(text):
                start = text.find(word.surface, position)
                if start < 0:  # the tagger altered the text (it does not): stop rather than misplace
                    break
                position = start + len(word.surface)
                feature = word.feature
                lemma = (feature.lemma or word.surface).split("-", 1)[0]
                out.append(Word(start, position, word.surface, feature.pos1 or "", feature.pos2 or "", lemma))
        return out

    def parse(self, text: str) -> list[tuple[str, bool, bool]]:
        """(surface, known to the dictionary, function word) per morpheme: tells romaji turned into kana
        from other Latin text turned into kana (which parses into unknown words)."""
        with self._lock:
            tagger = self._ensure_tagger()
            return [
                (word.surface, not word.is_unk, (word.feature.pos1 or "") in ("助詞", "助動詞"))
                for word in tagger(text)
            ]

    def reads_as_person(self, word: str) -> bool:
        """Whether the dictionary reads ``word``, wholly or in part, as a person's name when it stands as
        「<word>です。」 (岡本, 太田: surnames; 大日向, 高崎: places)."""
        with self._lock:
            tagger = self._ensure_tagger()
            length = 0
            for morpheme in tagger(word + "です。"):
                if length >= len(word):
                    return False
                if (morpheme.feature.pos3 or "") == "人名":
                    return True
                length += len(morpheme.surface)
        return False

    def tokens(self, text: str) -> list[str]:
        """BM25 tokens: lemmas, ``r:``readings, ``k:``kana bigrams of the whole reading, Latin stems,
        ``g:``bigrams of Hangul, Thai and Devanagari, ``h:``bigrams of runs of Han characters."""
        tokens: list[str] = []
        morphemes = self.morphemes(text)
        for m in morphemes:
            if not m.content:
                continue
            latin = fold_latin(m.surface)
            if latin is not None:
                if latin not in _STOP_LATIN and len(latin) > 1:
                    tokens.append(_stem_latin(latin))
                continue
            if m.lemma in _STOP_LEMMAS or m.surface in _STOP_LEMMAS:
                continue
            tokens.append(m.lemma)
            if m.reading:
                tokens.append(f"r:{m.reading}")
        if self.kana_bigrams:
            joined = "".join(m.reading for m in morphemes)
            tokens.extend(f"k:{joined[i : i + 2]}" for i in range(len(joined) - 1))
        normalized = normalize(text)
        for run in _OTHER_SCRIPT_RUN.findall(normalized):
            tokens.extend(f"g:{run[i : i + 2]}" for i in range(max(len(run) - 1, 1)))
        if self.han_bigrams:
            for run in _HAN_RUN.findall(normalized):
                tokens.extend(f"h:{run[i : i + 2]}" for i in range(len(run) - 1))
        return tokens
