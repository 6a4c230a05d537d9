"""What counts as a question: text that can be encoded, with at least one visible character.

Residents paste from everywhere: chat apps add zero-width joiners and bidi marks, keyboards send
variation selectors, a terminal may hand over bytes that are not UTF-8 (Python keeps them as lone
surrogates, ``"\\udcff"``), and JSON may spell a lone surrogate outright (``"\\ud800"``). This
module decides, in one place, which of these the assistant can answer:

- text that cannot be encoded as UTF-8 (a lone surrogate) is refused, naming the position;
- text with no visible character (only whitespace of any kind, control and format characters,
  variation selectors and the other blank fillers below) is refused as empty;
- the rest is answered after format characters (zero-width, bidi) are dropped and control
  characters turned into spaces, so 「病児\\u200b保育」 searches as 「病児保育」.

:data:`VISIBLE_PATTERN` is the same rule as a regular expression, so the OpenAPI schema of
``POST /v1/ask`` states exactly what :func:`validate_question` accepts.

Example::

    validate_question("  子どもが熱を出した\\u200b ", 500)   # '子どもが熱を出した'
    validate_question("\\u200b\\u200e", 500)                 # QuestionError: 'question' is empty …
"""

from __future__ import annotations

import re
import unicodedata

from assistant.errors import QuestionError

INVISIBLE_RANGES: tuple[tuple[int, int], ...] = (
    # Every code point of Unicode categories Cc (control), Cf (format: zero-width, bidi marks, tags),
    # Cs (surrogates), Zs/Zl/Zp (separators) and what str.isspace() calls whitespace, as of Unicode
    # 14.0 (Python 3.11); tests/answering/test_validation.py checks this table against unicodedata.
    (0x0000, 0x0020), (0x007F, 0x00A0), (0x00AD, 0x00AD), (0x0600, 0x0605), (0x061C, 0x061C),
    (0x06DD, 0x06DD), (0x070F, 0x070F), (0x0890, 0x0891), (0x08E2, 0x08E2), (0x1680, 0x1680),
    (0x180E, 0x180E), (0x2000, 0x200F), (0x2028, 0x202F), (0x205F, 0x2064), (0x2066, 0x206F),
    (0x3000, 0x3000), (0xD800, 0xDFFF), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD),
    (0x110CD, 0x110CD), (0x13430, 0x13438), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
    # Blank by design though their category says otherwise: the combining grapheme joiner, Hangul
    # fillers, Mongolian and standard variation selectors, and the blank Braille pattern.
    (0x034F, 0x034F), (0x115F, 0x1160), (0x180B, 0x180D), (0x180F, 0x180F), (0x2800, 0x2800),
    (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xE0100, 0xE01EF),
)  # fmt: skip


def _class_item(low: int, high: int) -> str:
    # BMP code points as \uXXXX escapes (valid in Python and ECMA-262 patterns, and never a lone
    # surrogate in the JSON text); astral ones as the characters themselves, which both read alike.
    def one(code: int) -> str:
        return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)

    return one(low) if low == high else f"{one(low)}-{one(high)}"


_SURROGATES = (0xD800, 0xDFFF)

VISIBLE_PATTERN = "[^" + "".join(_class_item(*span) for span in INVISIBLE_RANGES if span != _SURROGATES) + "]"
"""Matches one visible character: a question must contain a match (the JSON Schema ``pattern``).

Lone surrogates are left out of it, as schema validators (Rust's regex engines) cannot name
them; :func:`validate_question` refuses them before this pattern is asked.
"""

_VISIBLE = re.compile("[^" + "".join(_class_item(*span) for span in INVISIBLE_RANGES) + "]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def has_visible_character(text: str) -> bool:
    """Whether ``text`` has at least one character that shows on screen."""
    return _VISIBLE.search(text) is not None


def first_unencodable(text: str) -> int | None:
    """Index of the first character UTF-8 cannot encode (a lone surrogate), or None."""
    found = _SURROGATE.search(text)
    return found.start() if found else None


def clean(text: str) -> str:
    """Drop format characters (zero-width, bidi marks), turn control characters into spaces, strip."""
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category == "Cf":
            continue
        kept.append(" " if category == "Cc" else char)
    return "".join(kept).strip()


def _check_encodable(field: str, text: str) -> None:
    position = first_unencodable(text)
    if position is not None:
        code = ord(text[position])
        raise QuestionError(
            f"'{field}' is not valid text: character {position + 1} is U+{code:04X}, a lone surrogate "
            "(often a byte that is not UTF-8), which cannot be encoded as UTF-8; send the text as UTF-8"
        )


def validate_question(question: object, max_chars: int) -> str:
    """The question made ready to answer, or a :class:`QuestionError` saying what is wrong with it.

    Args:
        question: what the resident sent.
        max_chars: the longest question accepted, counted as sent (code points).

    Returns:
        The question with format characters dropped, control characters as spaces, stripped.

    Raises:
        QuestionError: not text; longer than ``max_chars``; not encodable as UTF-8; no visible character.
    """
    if not isinstance(question, str):
        raise QuestionError(f"'question' must be text, not {type(question).__name__}")
    if len(question) > max_chars:
        raise QuestionError(f"'question' is {len(question)} characters long; the limit is {max_chars}")
    _check_encodable("question", question)
    if not has_visible_character(question):
        raise QuestionError(
            "'question' is empty: it has no visible character (only spaces, control or zero-width "
            "characters); type a question about the joint services"
        )
    return clean(question)


def validate_session_id(session_id: object, max_chars: int = 128) -> str | None:
    """The session id, or None for none (absent or empty); a :class:`QuestionError` when unusable."""
    return _optional_text("session_id", session_id, max_chars)


def validate_town(town: object, max_chars: int = 64) -> str | None:
    """The town a channel passes, or None for none; a :class:`QuestionError` when unusable (the API's
    ``town`` has the same 64-character limit)."""
    return _optional_text("town", town, max_chars)


def _optional_text(field: str, value: object, max_chars: int) -> str | None:
    """An optional text field: None when absent or empty, else text of at most ``max_chars`` that
    can be encoded; a :class:`QuestionError` naming ``field`` otherwise."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise QuestionError(f"'{field}' must be text, not {type(value).__name__}")
    if len(value) > max_chars:
        raise QuestionError(f"'{field}' is {len(value)} characters long; the limit is {max_chars}")
    _check_encodable(field, value)
    return value
