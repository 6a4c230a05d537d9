"""Which language a question is in, and which language the answer takes.

Answers come in three forms, all from curated corpus fields:

- ``ja``: Japanese, for Japanese questions;
- ``ja-easy``: やさしい日本語, for questions in kana only, or spaced-out simple Japanese;
- ``en``: English, for English and every other language (Vietnamese, Portuguese, Chinese …),
  keeping the Japanese official name so residents and staff can match it.

Detection is by script and a few function words: questions are short, and a model-based
detector would cost more than the rest of the answer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

AnswerLang = Literal["ja", "ja-easy", "en"]

_HIRAGANA = re.compile(r"[\u3041-\u309f]")
_KATAKANA = re.compile(r"[\u30a0-\u30ffｦ-ﾟ]")
_KANJI = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf々]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")
_LATIN = re.compile(r"[A-Za-zÀ-ɏḀ-ỿ]")
# Letters only Vietnamese uses (â, ê, ô alone are Portuguese too).
_VIETNAMESE = re.compile(r"[ăđơưĂĐƠƯạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]")
_PORTUGUESE_CHARS = re.compile(r"[ãõçÃÕÇ]")
_PORTUGUESE_WORDS = re.compile(
    r"\b(você|voce|vocês|não|nao|meu|minha|meus|onde|posso|para|obrigad[oa]|quero|tem|existe|como|"
    r"filho|filha|mãe|pai|cidade|ajuda|preciso|uma|um|com|sobre|qual|quais|bom|dia|olá|ola)\b",
    re.IGNORECASE,
)
_ENGLISH_WORDS = re.compile(
    r"\b(the|is|are|what|where|how|can|i|my|you|there|do|does|who|when|for|to|of|and|please|any)\b", re.IGNORECASE
)
# Characters written only in simplified Chinese, and Chinese function words that Japanese does not use.
_SIMPLIFIED = re.compile(
    r"[们这吗么没为发车门动电认说问话应该怎样儿个东务区医养护办证书学习们对时间让还给过从关开长见两钱进运]"
    r"|有没有|什么|怎么|哪里|哪儿|可以|我们|你们|孩子|的"
)


@dataclass(frozen=True)
class Language:
    """The question's language (ja, ja-easy, en, vi, pt, zh, ko, und) and the answer's (ja, ja-easy, en)."""

    question: str
    answer: AnswerLang


def detect(text: str) -> Language:
    """Detect the question's language and choose the answer's.

    Args:
        text: the question as the resident typed it.

    Returns:
        The detected language and the answer language.
    """
    text = unicodedata.normalize("NFKC", text)
    hira = len(_HIRAGANA.findall(text))
    kata = len(_KATAKANA.findall(text))
    kanji = len(_KANJI.findall(text))
    latin = len(_LATIN.findall(text))
    if _HANGUL.search(text):
        return Language("ko", "en")
    if latin > 3 * (hira + kata + kanji):  # an English sentence quoting a Japanese term
        return _latin_language(text)
    if hira + kata > 0:
        if kanji == 0 or _is_spaced_simple(text, kanji, hira + kata):
            return Language("ja-easy", "ja-easy")
        return Language("ja", "ja")
    if kanji > 0:
        # Kanji without kana: Chinese when it uses simplified characters or Chinese function
        # words; otherwise a Japanese search such as 「病児保育 富岡」.
        return Language("zh", "en") if _SIMPLIFIED.search(text) else Language("ja", "ja")
    if latin == 0:
        return Language("und", "en")
    return _latin_language(text)


def _latin_language(text: str) -> Language:
    if _VIETNAMESE.search(text):
        return Language("vi", "en")
    if _PORTUGUESE_CHARS.search(text) or len(_PORTUGUESE_WORDS.findall(text)) > len(_ENGLISH_WORDS.findall(text)):
        return Language("pt", "en")
    return Language("en", "en")


def _is_spaced_simple(text: str, kanji: int, kana: int) -> bool:
    """やさしい日本語 style: words separated by spaces and few kanji."""
    spaced = len(text.split()) >= 3
    return spaced and kanji * 4 <= kana
