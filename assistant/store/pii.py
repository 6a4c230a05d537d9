"""Mask personal data in what residents type, before anything is stored or logged.

Each finding is replaced by a label naming its kind, so staff still see what was asked::

    >>> mask("090-1234-5678に電話ください。〒370-2316 富岡市富岡1460-1")
    '[電話番号]に電話ください。[郵便番号] 富岡市[住所]'

Kinds: phone numbers, e-mail addresses, My Number (個人番号: 12 digits with a valid check
digit), postal codes, street addresses down to the block number, and names after 「私は」,
「名前は」, 「氏名」 or "my name is" where the sentence makes them clear.

Digits are matched half- and full-width (``0-9``, ``０-９``) and may be split by spaces,
hyphens of any kind (including 「ー」, which Japanese keyboards type for a hyphen), dots and
brackets, because that is how residents write numbers. A run of such digits (a "digit
chain") is checked as a whole: every 12-digit stretch with a valid check digit is a My
Number; every 10- or 11-digit stretch shaped like a Japanese phone number (with ``+81`` read
as the leading 0) is a phone number. Short numbers (「24時間」, 「2時」, 「39度」, years,
ages, prices) are far too short to be either, so ordinary questions pass unchanged.

Masking errs on the side of hiding: a 10-digit order number starting with 0 is masked as a
phone number. Losing a digit string from the record costs little; storing a resident's
number would cost a lot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PHONE = "[電話番号]"
EMAIL = "[メール]"
MY_NUMBER = "[マイナンバー]"
POSTAL = "[郵便番号]"
ADDRESS = "[住所]"
NAME = "[氏名]"

LABELS = (PHONE, EMAIL, MY_NUMBER, POSTAL, ADDRESS, NAME)
"""Every label :func:`mask` writes."""

# Overlapping findings merge into one span; the label of the higher priority (lower number) wins.
_PRIORITY = {EMAIL: 0, MY_NUMBER: 1, PHONE: 2, POSTAL: 3, ADDRESS: 4, NAME: 5}

_DIGIT = "0-9０-９"
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
# Hyphens and dashes of every kind, and the long-vowel marks 「ー」「ｰ」 typed in their place.
_DASHES = "\\-‐‑‒–—―−－﹣ーｰ─━"
_SPACES = " \t\u00a0\u3000"
_BRACKETS = "()（）"
# Between two digits of one number: up to three of these (「03 - 1234」, 「(0274)62」).
_GAP = f"[{_DASHES}{_SPACES}{_BRACKETS}.．・]"
_DIGIT_CHAIN = re.compile(f"(?:[+＋][{_SPACES}]?)?[{_DIGIT}](?:{_GAP}{{0,3}}[{_DIGIT}])*")
_OPENING = "(（"
_CLOSING = ")）"

_ALNUM = "A-Za-z0-9Ａ-Ｚａ-ｚ０-９"
_EMAIL_RE = re.compile(
    # Bounded lengths (RFC 5321: 64 for the local part, 63 a label) keep long log lines linear.
    f"[{_ALNUM}._%+\\-＿．＋－]{{1,64}}[@＠][{_ALNUM}\\-－]{{1,63}}(?:[.．][{_ALNUM}\\-－]{{1,63}})+"
)

_POSTAL_RE = re.compile(
    # 〒 or 「郵便番号」 make any 3+4 digits a postal code; on their own only the hyphenated
    # 「370-2316」 shape is one, and not when it reads as a range or amount (「100-1000円」).
    f"(?:〒[{_SPACES}]*|郵便番号[はがをの:：{_SPACES}]*)[{_DIGIT}]{{3}}[{_DASHES}]?[{_DIGIT}]{{4}}(?![{_DIGIT}])"
    f"|(?<![{_DIGIT}{_DASHES}.．])[{_DIGIT}]{{3}}[{_DASHES}][{_DIGIT}]{{4}}"
    f"(?![{_DIGIT}]|[{_DASHES}.．][{_DIGIT}]|[円人件歳年月日時分秒個回度%％万])"
)

_KANJI = "々〆ヶケ\u3400-\u4dbf\u4e00-\u9fff"
_NUM = f"(?:[{_DIGIT}]+|[一二三四五六七八九十〇百千]+)"
# What stays of an address: prefecture, district and municipality are not personal.
_KEEP = f"(?:[{_KANJI}]{{2,3}}[都道府県])?(?:[{_KANJI}]{{1,4}}郡)?(?:[{_KANJI}]{{1,5}}?[市区町村])?"
_KEEP_RE = re.compile(_KEEP)
# The block number itself; the place name before it is found by walking back over kanji (linear,
# where one regex with the place name in front would retry at every kanji of a long sentence).
_ADDRESS_NUMBER_RE = re.compile(
    f"{_NUM}丁目(?:{_NUM}番地?)?(?:の?{_NUM}号?)?"
    f"|{_NUM}番地(?:の?{_NUM}号?)?"
    f"|{_NUM}番{_NUM}号"
    f"|(?<![{_DIGIT}])[{_DIGIT}]+(?:[{_DASHES}の][{_DIGIT}]+){{1,3}}"
    f"(?![{_DIGIT}]|[円人件歳年月日時分秒個回度%％万倍])"
)
_ADDRESS_HINT_RE = re.compile(f"[{_DIGIT}]|丁目|番")
_IS_KANJI = re.compile(f"[{_KANJI}]").match
_MAX_PLACE = 6
# A kanji word ending in one of these before 「1-2」 is a count, a date or a number, not a place.
_NOT_PLACE_END = set("第約計全各毎年月日時分秒歳円回度目件人枚個本階号番令和平成昭")
_DIGIT_CLASS_RE = re.compile(f"[{_DIGIT}]")
_DIGIT_CHARS = frozenset("0123456789０１２３４５６７８９")
_DATE_RE = re.compile(f"(?:19|20|１９|２０)[{_DIGIT}]{{2}}[{_DASHES}][{_DIGIT}]{{1,2}}[{_DASHES}][{_DIGIT}]{{1,2}}")

# 「事業の名前は…」 is about a project; 「私の名前は…」 and 「息子の名前は…」 are about a person.
_OWNERS = "私|わたし|わたくし|僕|ぼく|自分|子ども|子供|息子|娘|夫|妻|主人|母|父"
_NAME_WORD = f"(?:[{_KANJI}]{{1,5}}|[ァ-ヴー]{{2,10}})"
_NAME_RUN = f"{_NAME_WORD}(?:[{_SPACES}・]?{_NAME_WORD})?"
_NAME_RE = re.compile(
    # 「名前は山田太郎です」「氏名：山田 太郎」: what follows is a name (the resident's or a family member's).
    f"(?P<owner>(?:{_OWNERS})の)?(?:名前|氏名)(?:は|:|：|[{_SPACES}])+(?P<a>{_NAME_RUN})"
    # 「私は山田と申します」: a self-introduction; with a bare 「です」 only a short kanji/katakana word.
    f"|(?:私|わたし|わたくし|僕|ぼく)は(?P<b>{_NAME_RUN})(?=と申します|といいます|と言います|と申す)"
    f"|(?:私|わたし|わたくし|僕|ぼく)は(?P<c>{_NAME_RUN})(?=です|でございます)"
    "|(?i:\\bmy name is\\s+)(?P<d>[A-Z][a-z]+(?:\\s+[A-Z][a-z]+)?)"
)
_NAME_HINT_RE = re.compile("名前|氏名|(?:私|わたし|わたくし|僕|ぼく)は|(?i:my name is)")
# 「名前は何ですか」, 「私は心配です」, 「私は高齢者です」: words that are not names.
_NOT_NAMES = {"何", "誰", "なに", "なん"}
_NOT_NAME_END = set("者人員生婦民歳夫妻親供児配夫丈職安身齢気中")


@dataclass(frozen=True)
class Finding:
    """One piece of personal data: where it is and what kind."""

    start: int
    end: int
    label: str


def my_number_valid(digits: str) -> bool:
    """True when ``digits`` (12 ASCII digits) has the check digit of a My Number.

    The official algorithm (総務省令第85号 第5条): with P(n) the n-th digit from the right
    of the first eleven and Q(n) = n + 1 for n ≤ 6, n − 5 above, the check digit is
    0 when Σ P(n)·Q(n) mod 11 ≤ 1, else 11 minus that remainder.
    """
    if len(digits) != 12 or not digits.isascii() or not digits.isdigit():
        return False
    body = digits[:11]
    total = sum(int(body[11 - n]) * (n + 1 if n <= 6 else n - 5) for n in range(1, 12))
    remainder = total % 11
    return int(digits[11]) == (0 if remainder <= 1 else 11 - remainder)


def _phone_shaped(digits: str) -> bool:
    """Japanese phone numbers: 10 digits 0X… (landline, 0120, 0570), 11 digits 0X0… (mobile, IP, 0800)."""
    if len(digits) == 10:
        return digits[0] == "0" and digits[1] != "0"
    if len(digits) == 11:
        return digits[0] == "0" and digits[1] in "23456789" and digits[2] == "0"
    return False


def _chain_findings(text: str) -> list[Finding]:
    findings: list[Finding] = []
    if _DIGIT_CHARS.isdisjoint(text):
        return findings
    for chain in _DIGIT_CHAIN.finditer(text):
        positions = [m.start() for m in _DIGIT_CLASS_RE.finditer(text, chain.start(), chain.end())]
        digits = "".join(text[p] for p in positions).translate(_FULLWIDTH_DIGITS)
        if len(digits) < 10:
            continue
        # +81 stands for the leading 0 of the national number: 「+81 90-…」 is 「090-…」.
        national, where = digits, positions
        if chain.group()[0] in "+＋" and digits.startswith("81"):
            rest, rest_at = digits[2:], positions[2:]
            if rest.startswith("0"):  # 「+81 (0)3 …」
                national, where = rest, [chain.start(), *rest_at[1:]]
            else:
                national, where = "0" + rest, [chain.start(), *rest_at]
            if _phone_shaped(national):  # the whole chain is one international number
                findings.append(Finding(chain.start(), chain.end(), PHONE))
                continue
        for i in range(len(digits) - 11):
            if my_number_valid(digits[i : i + 12]):
                findings.append(Finding(positions[i], positions[i + 11] + 1, MY_NUMBER))
        for size in (10, 11):
            for i in range(len(national) - size + 1):
                if _phone_shaped(national[i : i + size]):
                    findings.append(Finding(where[i], where[i + size - 1] + 1, PHONE))
    return findings


def _address_findings(text: str) -> list[Finding]:
    if not _ADDRESS_HINT_RE.search(text):
        return []
    findings = []
    for match in _ADDRESS_NUMBER_RE.finditer(text):
        number = match.group()
        begin = match.start()
        while begin > 0 and match.start() - begin < 16 and _IS_KANJI(text[begin - 1]):
            begin -= 1
        run = text[begin : match.start()]
        keep_match = _KEEP_RE.match(run)
        keep = keep_match.group() if keep_match else ""
        place = run[len(keep) :][-_MAX_PLACE:]
        if "丁目" not in number and "番" not in number:
            # 「富岡1460-1」 needs a place name before the numbers; 「3-4」 alone is not an address.
            if len(keep) + len(place) < 2 or (place and place[-1] in _NOT_PLACE_END):
                continue
            if len(_DIGIT_CLASS_RE.findall(number)) > 8 or _DATE_RE.fullmatch(number):
                continue  # a phone number or a date, not a block number
        if not keep and place and place[-1] in _NOT_PLACE_END:
            place = ""
        findings.append(Finding(match.start() - len(place), match.end(), ADDRESS))
    return findings


def _name_findings(text: str) -> list[Finding]:
    if not _NAME_HINT_RE.search(text):
        return []
    findings = []
    for match in _NAME_RE.finditer(text):
        group = next(g for g in "abcd" if match.group(g) is not None)
        name = match.group(group)
        if group == "a" and not match.group("owner") and text[max(0, match.start() - 1) : match.start()] == "の":
            continue
        if name in _NOT_NAMES or name.startswith(("何", "誰")):
            continue
        if group == "c" and (len(name) > 6 or name[-1] in _NOT_NAME_END):
            continue
        findings.append(Finding(match.start(group), match.end(group), NAME))
    return findings


def find(text: str) -> list[Finding]:
    """Every piece of personal data in ``text``, overlaps merged, in order of position."""
    found = (
        [Finding(m.start(), m.end(), EMAIL) for m in _EMAIL_RE.finditer(text)] if "@" in text or "＠" in text else []
    )
    found += _chain_findings(text)
    if not _DIGIT_CHARS.isdisjoint(text):
        found += [Finding(m.start(), m.end(), POSTAL) for m in _POSTAL_RE.finditer(text)]
    found += _address_findings(text)
    found += _name_findings(text)
    if not found:
        return []
    found.sort(key=lambda f: (f.start, -f.end))
    merged = [found[0]]
    for finding in found[1:]:
        last = merged[-1]
        if finding.start < last.end:
            label = min(last.label, finding.label, key=_PRIORITY.__getitem__)
            merged[-1] = Finding(last.start, max(last.end, finding.end), label)
        else:
            merged.append(finding)
    return [_with_bracket(text, f) for f in merged]


def _with_bracket(text: str, finding: Finding) -> Finding:
    """Take in the opening bracket of 「(0274)62-1234」 so no stray 「(」 is left behind."""
    start = finding.start
    if start > 0 and text[start - 1] in _OPENING and any(c in _CLOSING for c in text[start : finding.end]):
        return Finding(start - 1, finding.end, finding.label)
    return finding


def mask(text: str) -> str:
    """``text`` with every piece of personal data replaced by its kind's label.

    Example::

        mask("私の番号は1234 5678 9018です")   # '私の番号は[マイナンバー]です' when the check digit is valid
    """
    findings = find(text)
    if not findings:
        return text
    parts = []
    at = 0
    for finding in findings:
        parts.append(text[at : finding.start])
        parts.append(finding.label)
        at = finding.end
    parts.append(text[at:])
    return "".join(parts)
