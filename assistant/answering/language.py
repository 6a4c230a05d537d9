"""Which language a question is in, and which language the answer takes.

Answers come in twelve languages (:data:`assistant.languages.LANGUAGES`), all from curated corpus
text: Japanese, やさしい日本語, English, Vietnamese, Portuguese, Spanish, Chinese, Korean, Tagalog,
Indonesian, Nepali and Thai. A question in any other language is answered in English.

How the language is told:

- **Script first.** Kana means Japanese; whether it is やさしい日本語 (kana only, or spaced-out simple
  Japanese) is told from the script mix. Hangul is Korean, Thai script Thai, Devanagari Nepali
  (the zone's residents who write it are Nepali).
- **Han characters without kana** are Chinese only when some character cannot be written in
  Japanese at all (not in JIS X 0208, e.g. 们, 务, 疗); otherwise a short kanji-only question such as
  「在宅医療」 is a Japanese search, and a longer one is left to the language model between ja and zh.
- **Latin script** is Japanese in romaji when every word is made of Japanese syllables and the words,
  turned into kana, parse as known Japanese words; otherwise a statistical language identifier
  (py3langid, offline) decides among the Latin-script languages.

A romaji question also gets its kana form (``kana``), for the lexical side of retrieval.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from assistant.languages import LANGUAGES

_HIRAGANA = re.compile(r"[\u3041-\u309f]")
_KATAKANA = re.compile(r"[\u30a0-\u30ffｦ-ﾟ]")
_KANJI = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf々\U00020000-\U0002ffff]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_THAI = re.compile(r"[\u0e00-\u0e7f]")
_DEVANAGARI = re.compile(r"[\u0900-\u097f]")
_LATIN = re.compile(r"[A-Za-zÀ-ɏḀ-ỿ]")
_LATIN_WORD = re.compile(r"[A-Za-zÀ-ɏḀ-ỿ']+")

# One Japanese syllable in Hepburn or Kunrei romaji, or the first half of a doubled consonant (kk, tt).
_SYLLABLE = (
    r"(?:(?:ky|gy|sh|sy|ch|cy|ts|ty|dy|ny|hy|by|py|my|ry|j|f|v|w|y|[kgsztdnhbpmr])?[aiueo]"
    r"|n'?(?![aiueoy])"
    r"|([kgstpcdbzfhjm])(?=\1)|t(?=ch))"
)
_ROMAJI_WORD = re.compile(rf"(?:{_SYLLABLE})+")
_LONG_VOWELS = str.maketrans({"ā": "aa", "ī": "ii", "ū": "uu", "ē": "ee", "ō": "ou", "â": "aa", "î": "ii",
                              "û": "uu", "ê": "ee", "ô": "ou"})  # fmt: skip
# Languages py3langid may return for a Latin-script question, mapped to the answer language.
_LATIN_ANSWER = {"en": "en", "vi": "vi", "pt": "pt", "es": "es", "tl": "tl", "id": "id", "ms": "id", "gl": "pt"}
ROMAJI_KNOWN_SHARE = 0.8
"""Share of the kana form that must parse as known Japanese words for a Latin question to be romaji."""


@dataclass(frozen=True)
class Language:
    """The question's language and the answer's.

    ``question`` is an ISO 639-1 code (``ja-easy`` for やさしい日本語, ``und`` when nothing tells);
    ``answer`` is one of the twelve answer languages. ``kana`` is the kana form of a romaji question.
    ``sure`` is False when the text is too short to tell (a conversation's language may win).
    """

    question: str
    answer: str
    kana: str | None = None
    sure: bool = True

    @property
    def japanese(self) -> bool:
        """Answered in Japanese (ordinary or やさしい日本語): lexical matches weigh differently."""
        return self.answer in ("ja", "ja-easy")


def detect(text: str, *, parser: Any = None) -> Language:
    """Detect the question's language and choose the answer's.

    Args:
        text: the question as the resident typed it.
        parser: a callable giving (surface, is_known, is_function_word) per morpheme of Japanese
            text, used to recognise romaji; without it romaji is recognised by syllables only.

    Returns:
        The detected language, the answer language and, for romaji, the kana form.
    """
    text = unicodedata.normalize("NFKC", text)
    hira = len(_HIRAGANA.findall(text))
    kata = len(_KATAKANA.findall(text))
    kanji = len(_KANJI.findall(text))
    latin = len(_LATIN.findall(text))
    for script, code in ((_HANGUL, "ko"), (_THAI, "th"), (_DEVANAGARI, "ne")):
        if len(script.findall(text)) > latin:
            return Language(code, code)
    if latin > 3 * (hira + kata + kanji):  # an English sentence quoting a Japanese term
        return _latin_language(text, parser)
    if hira + kata > 0:
        if kanji == 0 or _is_spaced_simple(text, kanji, hira + kata):
            return Language("ja-easy", "ja-easy")
        return Language("ja", "ja")
    if kanji > 0:
        return _han_language(text, kanji)
    if latin == 0:
        return Language("und", "en", sure=False)
    return _latin_language(text, parser)


def _han_language(text: str, kanji: int) -> Language:
    """Kanji without kana: Chinese only when some character is not Japanese, or the model says so."""
    han = "".join(_KANJI.findall(text))
    if any(not _is_japanese_character(c) for c in han):
        return Language("zh", "zh")
    if kanji <= 8:  # a kanji compound search: 「在宅医療」, 「病児保育 富岡」
        return Language("ja", "ja")
    code, _ = _identifier().classify(text)
    return Language("zh", "zh") if code == "zh" else Language("ja", "ja")


def japanese_kanji_only(text: str) -> bool:
    """Whether every Han character of the text is one Japanese is written in (JIS X 0208)."""
    han = _KANJI.findall(text)
    return bool(han) and all(_is_japanese_character(c) for c in han)


@lru_cache(maxsize=8192)
def _is_japanese_character(char: str) -> bool:
    """Whether a Han character exists in JIS X 0208 (the kanji Japanese text is written in)."""
    try:
        char.encode("shift_jis")
    except UnicodeEncodeError:
        return False
    return True


def romaji_to_kana(text: str) -> str:
    """Romaji → hiragana with jaconv (long-vowel marks spelled out first)."""
    import jaconv

    return str(jaconv.alphabet2kana(text.lower().translate(_LONG_VOWELS)))


def _romaji_share(words: list[str]) -> float:
    """Share of the words that are made of Japanese syllables only."""
    lowered = [w.lower().translate(_LONG_VOWELS).replace("'", "") for w in words]
    return sum(bool(_ROMAJI_WORD.fullmatch(w)) for w in lowered) / len(lowered)


def _known_share(kana: str, parser: Any) -> float:
    """Share of the kana text that parses as known Japanese words (function words count)."""
    total = known = 0
    for surface, is_known, function in parser(kana):
        total += len(surface)
        if is_known and (len(surface) >= 2 or function):
            known += len(surface)
    return known / total if total else 0.0


def _latin_language(text: str, parser: Any) -> Language:
    words = _LATIN_WORD.findall(text)
    if words and _romaji_share(words) >= 0.9 and len(words) >= 2 and parser is not None:
        spelled = romaji_to_kana(" ".join(words))
        if _known_share(spelled.replace(" ", ""), parser) >= ROMAJI_KNOWN_SHARE:
            code, _ = _identifier().classify(text)
            if code not in _LATIN_ANSWER or code == "en" and _romaji_share(words) == 1.0:
                return Language("ja", "ja-easy", kana=romaji_to_kana(text))
    code, _ = _identifier().classify(text)
    sure = len(words) >= 3
    if code in _LATIN_ANSWER:
        return Language(code, _LATIN_ANSWER[code], sure=sure)
    return Language(code, "en", sure=sure)


def _is_spaced_simple(text: str, kanji: int, kana: int) -> bool:
    """やさしい日本語 style: words separated by spaces and few kanji."""
    spaced = len(text.split()) >= 3
    return spaced and kanji * 4 <= kana


_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _identifier() -> Any:
    """py3langid's classifier, made once and shared; read-only after that. Its two large tables are
    read from files as questions need them, not held in memory (:mod:`assistant.answering.langid`)."""
    with _LOCK:
        from assistant.answering.langid import LANGID_DIR, load_identifier
        from assistant.config import get_settings

        return load_identifier(get_settings().cache_dir / LANGID_DIR)


def answer_languages() -> tuple[str, ...]:
    """The languages an answer can take."""
    return LANGUAGES
