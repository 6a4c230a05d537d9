"""What counts as a question: encodable text with a visible character (no model needed)."""

from __future__ import annotations

import re
import sys
import unicodedata

import pytest

from assistant.answering.validation import (
    INVISIBLE_RANGES,
    VISIBLE_PATTERN,
    clean,
    has_visible_character,
    validate_question,
    validate_session_id,
    validate_town,
)
from assistant.errors import QuestionError
from tests.conftest import CliRunner

# Blank characters whose category does not say so (the second part of INVISIBLE_RANGES).
BLANK_BY_DESIGN = {0x034F, 0x115F, 0x1160, 0x180B, 0x180C, 0x180D, 0x180F, 0x2800, 0x3164, 0xFFA0}
BLANK_BY_DESIGN |= set(range(0xFE00, 0xFE10)) | set(range(0xE0100, 0xE01F0))


def _invisible_by_category(char: str) -> bool:
    return unicodedata.category(char) in {"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"} or char.isspace()


def test_the_invisible_table_is_exactly_the_unicode_categories() -> None:
    """Every code point: invisible by the table ⇔ invisible by unicodedata (or blank by design)."""
    table = set()
    for low, high in INVISIBLE_RANGES:
        table.update(range(low, high + 1))
    wrong = [
        f"U+{code:04X}"
        for code in range(sys.maxunicode + 1)
        if (code in table) != (_invisible_by_category(chr(code)) or code in BLANK_BY_DESIGN)
    ]
    assert wrong == [], f"INVISIBLE_RANGES disagrees with unicodedata {unicodedata.unidata_version}: {wrong[:20]}"


def test_the_schema_pattern_is_the_same_rule() -> None:
    pattern = re.compile(VISIBLE_PATTERN)
    for sample in ["a", "病", "😀", "١", "ｶ", " \u200bx", "\U000e0100あ"]:
        assert pattern.search(sample) and has_visible_character(sample), sample
    for sample in ["", " ", "\u200b", "\u3000\u00a0", "\ufe0f\U000e0100", "\u2800\u3164", "\x00\x7f\x9f"]:
        assert not pattern.search(sample) and not has_visible_character(sample), ascii(sample)


@pytest.mark.parametrize(
    "question",
    [
        "",
        " \t\n\r\x0b\x0c",
        "\x00\x01\x1b\x7f\x85",  # control characters
        "\u200b\u200c\u200d\u2060\ufeff",  # zero-width characters
        "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c",  # bidi marks
        "\ufe0e\ufe0f\U000e0100\U000e01ef\u180b",  # variation selectors
        "\u00a0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000",  # spaces of every kind
        "\u3164\uffa0\u115f\u2800\u034f",  # fillers that render blank
        "\U000e0001\U000e0067\U000e007f",  # tag characters
    ],
)
def test_no_visible_character_is_empty(question: str) -> None:
    with pytest.raises(QuestionError, match="'question' is empty: it has no visible character"):
        validate_question(question, 500)


@pytest.mark.parametrize(("question", "position", "code"), [("\ud800", 1, "D800"), ("病児\udcff保育", 3, "DCFF")])
def test_a_lone_surrogate_is_named_with_its_position(question: str, position: int, code: str) -> None:
    with pytest.raises(QuestionError) as caught:
        validate_question(question, 500)
    message = str(caught.value)
    assert f"character {position} is U+{code}, a lone surrogate" in message
    assert "cannot be encoded as UTF-8" in message


def test_invisible_marks_are_dropped_and_controls_become_spaces() -> None:
    assert validate_question("  病児\u200b保育\u202e ", 500) == "病児保育"
    assert validate_question("病児\x00保育\t", 500) == "病児 保育"
    assert clean("👨\u200d👩\u200d👧") == "👨👩👧"


def test_the_length_limit_counts_what_was_sent() -> None:
    assert validate_question("あ" * 500, 500) == "あ" * 500
    with pytest.raises(QuestionError, match="is 501 characters long; the limit is 500"):
        validate_question("あ" + " " * 500, 500)


def test_not_text_is_refused() -> None:
    with pytest.raises(QuestionError, match="'question' must be text, not int"):
        validate_question(5, 500)


def test_session_ids() -> None:
    assert validate_session_id(None) is None and validate_session_id("") is None
    assert validate_session_id("abc-123") == "abc-123"
    with pytest.raises(QuestionError, match=re.escape("'session_id' is not valid text: character 2 is U+DCFF")):
        validate_session_id("a\udcff")
    with pytest.raises(QuestionError, match="'session_id' is 129 characters long"):
        validate_session_id("x" * 129)
    with pytest.raises(QuestionError, match="'session_id' must be text"):
        validate_session_id(7)


def test_channel_towns() -> None:
    """``assistant ask --town`` and LINE pass the town to the service, which checks it as the API does."""
    assert validate_town(None) is None and validate_town("") is None
    assert validate_town("下仁田町") == "下仁田町"
    with pytest.raises(QuestionError, match=re.escape("'town' is not valid text: character 1 is U+DCFF")):
        validate_town("\udcff")
    with pytest.raises(QuestionError, match="'town' is 65 characters long; the limit is 64"):
        validate_town("x" * 65)
    with pytest.raises(QuestionError, match="'town' must be text"):
        validate_town(7)


@pytest.mark.parametrize(
    ("argument", "fragment"),
    [
        ("\udcff", "character 1 is U+DCFF, a lone surrogate"),  # the byte 0xFF, as Python hands it over
        ("\u200b\u200e", "'question' is empty"),
    ],
)
def test_cli_ask_refuses_bad_text_with_exit_2(run_cli: CliRunner, argument: str, fragment: str) -> None:
    result = run_cli("ask", argument)
    assert result.returncode == 2, result.stderr
    assert fragment in result.stderr and "Traceback" not in result.stderr
