"""Any text at all through the real answer path: an answer, or the documented QuestionError, nothing else.

``Assistant.ask`` runs in process on the real model, FAISS index and fugashi, with Hypothesis
drawing questions from every corner of Unicode: arbitrary code points (lone surrogates
included), control characters, zero-width and bidi marks, emoji with joiners and variation
selectors, mixed scripts, half-width kana, every script's digits, and 10,000-character inputs
(through an assistant whose limit is raised to 10,000, so they reach the model).

Deterministic: ``derandomize=True`` and no example database, so CI draws the same questions
every run. Each test states its example count; the whole module runs about 550 questions.
"""

from __future__ import annotations

import json
import sys
import unicodedata

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from assistant.answering.service import AskResult, Assistant
from assistant.errors import QuestionError

pytestmark = pytest.mark.slow

FUZZ = settings(derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ZERO_WIDTH_AND_BIDI = "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
QUESTIONS = [
    "子どもが熱を出して保育園に行けない",
    "びょうじほいく",
    "where can I get sick-child care?",
    "手話を習いたい",
]
SCRIPTS = {  # (lowest, highest) code point of a script the residents or their phones may use
    "latin": (0x0041, 0x024F), "cyrillic": (0x0400, 0x04FF), "arabic": (0x0600, 0x06FF),
    "devanagari": (0x0900, 0x097F), "thai": (0x0E00, 0x0E7F), "hangul": (0xAC00, 0xD7A3),
    "kanji": (0x4E00, 0x9FFF), "hiragana": (0x3041, 0x309F), "katakana": (0x30A0, 0x30FF),
    "vietnamese": (0x1EA0, 0x1EF9),
}  # fmt: skip


def _script(name: str) -> st.SearchStrategy[str]:
    low, high = SCRIPTS[name]
    return st.characters(min_codepoint=low, max_codepoint=high)


any_code_point = st.characters(codec=None, min_codepoint=0, max_codepoint=sys.maxunicode, exclude_categories=())
fragments = st.one_of(
    st.text(any_code_point, max_size=20),  # anything, lone surrogates included
    st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3),  # lone surrogates alone
    st.text(st.characters(categories=["Cc"]), min_size=1, max_size=5),  # control characters
    st.text(st.sampled_from(ZERO_WIDTH_AND_BIDI), min_size=1, max_size=5),
    st.text(st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF), min_size=1, max_size=4),  # emoji
    st.sampled_from(["👨\u200d👩\u200d👧", "❤\ufe0f", "🇯🇵", "👍🏽", "#\ufe0f\u20e3"]),  # joined and modified emoji
    st.text(st.characters(min_codepoint=0xFF61, max_codepoint=0xFF9F), min_size=1, max_size=10),  # half-width kana
    st.text(st.characters(categories=["Nd"]), min_size=1, max_size=6),  # every script's digits
    st.text(st.characters(categories=["No", "Nl"]), min_size=1, max_size=3),  # ①, Ⅻ, ½ …
    st.sampled_from(list(SCRIPTS)).flatmap(
        lambda name: st.text(
            st.characters(min_codepoint=SCRIPTS[name][0], max_codepoint=SCRIPTS[name][1]), min_size=1, max_size=8
        )
    ),
    st.sampled_from(QUESTIONS),
    st.text(st.sampled_from(" \t\n\u3000\u00a0"), min_size=1, max_size=3),  # whitespace of every kind
)
questions = st.lists(fragments, max_size=8).map("".join)


def _visible(char: str) -> bool:
    """Independent of the code under test: a character that shows, by its Unicode category."""
    blank = {0x034F, 0x115F, 0x1160, 0x180B, 0x180C, 0x180D, 0x180F, 0x2800, 0x3164, 0xFFA0}
    code = ord(char)
    if code in blank or 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF:
        return False
    return unicodedata.category(char) not in {"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"} and not char.isspace()


def _check(assistant: Assistant, question: str, limit: int) -> None:
    """The contract: QuestionError exactly when the question is unusable; otherwise a well-formed answer."""
    unusable = (
        len(question) > limit
        or any(0xD800 <= ord(c) <= 0xDFFF for c in question)
        or not any(_visible(c) for c in question)
    )
    try:
        result = assistant.ask(question, session_id="fuzz")
    except QuestionError as exc:
        assert unusable, f"refused a usable question {ascii(question)}: {exc}"
        assert str(exc).startswith("'question' ")
        return
    assert not unusable, f"answered an unusable question {ascii(question)}"
    assert isinstance(result, AskResult) and result.answer.strip()
    assert result.abstained == (result.citations == [])
    json.dumps(result.model_dump(mode="json"), ensure_ascii=False).encode("utf-8")  # the API can send it


@given(questions)
@settings(FUZZ, max_examples=400)
@example("\ud800")
@example("\udcff")  # the byte 0xFF from a terminal
@example("\u200b" * 10)
@example("\u202e病児保育\u202c")
@example("ｺﾄﾞﾓｶﾞﾈﾂｦﾀﾞｼﾀ")
@example("١٢٣ ४५६ ๗๘๙ ７８９")
@example("子どもが熱😷 fever con sốt 发烧 열이")
@example("\x00\x07\x1b[31m病児保育\x1b[0m")
@example("🏥" * 500)
@example("あ" * 501)
def test_any_question_is_answered_or_refused_with_a_question_error(assistant: Assistant, question: str) -> None:
    _check(assistant, question, assistant.settings.max_question_chars)


@pytest.fixture(scope="module")
def long_assistant(assistant: Assistant) -> Assistant:
    """The same model, index and parameters, with the question limit at its maximum (10,000)."""
    settings_ = assistant.settings.model_copy(update={"max_question_chars": 10_000})
    return Assistant(settings_, assistant.corpus, assistant.index, assistant.embedder, assistant.params)


@given(st.tuples(questions.filter(bool), st.integers(min_value=9_000, max_value=10_001)))
@settings(FUZZ, max_examples=25)
@example(("病児保育", 10_000))
@example(("\u200b", 10_000))
@example(("ﾋﾞｮｳｼﾞ🏥\U000e0100", 10_000))
def test_ten_thousand_characters_reach_the_model(long_assistant: Assistant, seed: tuple[str, int]) -> None:
    text, length = seed
    question = (text * (length // len(text) + 1))[:length]
    _check(long_assistant, question, 10_000)
