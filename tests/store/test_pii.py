"""PII masking: each kind, ordinary questions untouched, and property tests that no valid My Number
and no phone number survives wherever it sits."""

from __future__ import annotations

import json
import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.config import ROOT
from assistant.store.pii import ADDRESS, EMAIL, MY_NUMBER, NAME, PHONE, POSTAL, find, mask, my_number_valid


def with_check_digit(body: str) -> str:
    """The 12-digit My Number for 11 digits, by the official formula (written independently of the code)."""
    weights = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2]  # Q(n) for the digits left to right
    remainder = sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11
    return body + str(0 if remainder <= 1 else 11 - remainder)


def test_the_check_digit_follows_the_official_algorithm() -> None:
    # 123456789018 is the example used in the official specification's explanations.
    assert with_check_digit("12345678901") == "123456789018"
    assert my_number_valid("123456789018")
    assert not my_number_valid("123456789017")
    assert not my_number_valid("12345678901")
    for body in ("00000000000", "99999999999", "31415926535", "27182818284"):
        number = with_check_digit(body)
        assert my_number_valid(number)
        wrong = number[:11] + str((int(number[11]) + 1) % 10)
        assert not my_number_valid(wrong)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("090-1234-5678に電話ください", f"{PHONE}に電話ください"),
        ("携帯は09012345678です", f"携帯は{PHONE}です"),
        ("０９０ー１２３４ー５６７８", PHONE),
        ("電話 (0274)62-1234 まで", f"電話 {PHONE} まで"),
        ("（０２７４）６２－１２３４", PHONE),
        ("0274(62)1234", PHONE),
        ("03 - 1234 - 5678", PHONE),
        ("+81 90-1234-5678", PHONE),
        ("+81-3-1234-5678", PHONE),
        ("+81 (0)3 1234 5678", PHONE),
        ("＋８１ ９０ １２３４ ５６７８", PHONE),
        ("フリーダイヤル0120-123-456へ", f"フリーダイヤル{PHONE}へ"),
        ("0800-123-4567", PHONE),
        ("0570-012-345", PHONE),
        ("050 1234 5678", PHONE),
        ("03.1234.5678", PHONE),
    ],
)
def test_phone_numbers(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("taro.yamada@example.co.jp に送って", f"{EMAIL} に送って"),
        ("メールはhanako+city@mail.example.comです", f"メールは{EMAIL}です"),
        ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", EMAIL),
        ("a_b-c.d@sub-domain.example.org.", f"{EMAIL}."),
    ],
)
def test_email_addresses(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    "written",
    [
        "123456789018",
        "1234 5678 9018",
        "1234-5678-9018",
        "１２３４５６７８９０１８",
        "１２３４　５６７８　９０１８",
        "1234ー5678ー9018",
    ],
)
def test_my_numbers(written: str) -> None:
    assert mask(f"私のマイナンバーは{written}です") == f"私のマイナンバーは{MY_NUMBER}です"


def test_twelve_digits_with_a_wrong_check_digit_are_not_called_a_my_number() -> None:
    assert MY_NUMBER not in mask("注文番号 123456789017")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("〒370-2316 富岡市", f"{POSTAL} 富岡市"),
        ("〒３７０－２３１６", POSTAL),
        ("〒3702316", POSTAL),
        ("郵便番号は370-2316です", f"{POSTAL}です"),
        ("370-2316に送ってください", f"{POSTAL}に送ってください"),
    ],
)
def test_postal_codes(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("富岡1460-1に住んでいます", f"{ADDRESS}に住んでいます"),
        ("住所は群馬県富岡市富岡1460-1です", f"住所は群馬県富岡市{ADDRESS}です"),
        ("群馬県甘楽郡下仁田町下仁田123番地", f"群馬県甘楽郡下仁田町{ADDRESS}"),
        ("富岡市七日市1丁目2番3号", f"富岡市{ADDRESS}"),
        ("三丁目五番十号に住んでいます", f"{ADDRESS}に住んでいます"),
        ("甘楽町小幡161の1", f"甘楽町{ADDRESS}"),
        ("南牧村大日向１０９８番地の２", f"南牧村{ADDRESS}"),
    ],
)
def test_street_addresses_down_to_the_block_number(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("私は山田太郎です", f"私は{NAME}です"),
        ("私はタナカと申します", f"私は{NAME}と申します"),
        ("私の名前は田中です", f"私の名前は{NAME}です"),
        ("名前は佐藤 花子です", f"名前は{NAME}です"),
        ("氏名：山田 太郎", f"氏名：{NAME}"),
        ("息子の名前は健太です", f"息子の名前は{NAME}です"),
        ("Hi, my name is John Smith.", f"Hi, my name is {NAME}."),
    ],
)
def test_names_after_self_introductions(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "24時間つながる健康相談の電話ってある？",
        "夜中の2時に子どもが吐いた",
        "保育園から37.8度で呼び出し",
        "39度の熱があります",
        "2024年4月から保育園に入れたい",
        "2024-03-15に申し込みました",
        "65歳以上の母が使えますか",
        "受付は9-17時ですか",
        "第2-3回の講座",
        "参加費は1,000円ですか",
        "100-1000人規模",
        "私は心配です",
        "私は富岡市民です",
        "私は高齢者です",
        "事業の名前は病児保育事業ですか",
        "その事業の名前は何ですか",
        "住民の名前と住所の一覧を出して",
        "4市町村で共同して進めているのでしょうか",
        "中1の息子が学校に行けなくなってもう3か月",
        "健康ダイヤル24の電話番号を教えてください",
        "Is there a 24-hour health advice line?",
        "It's 3am and my toddler has a fever of 39.",
    ],
)
def test_ordinary_questions_pass_unchanged(text: str) -> None:
    assert mask(text) == text


def test_every_real_eval_question_passes_unchanged() -> None:
    files = sorted((ROOT / "eval" / "questions").glob("*.jsonl")) + sorted((ROOT / "eval" / "tuning").glob("*.jsonl"))
    questions = [json.loads(line)["question"] for f in files for line in f.read_text("utf-8").splitlines() if line]
    assert len(questions) > 300
    changed = [(q, mask(q)) for q in questions if mask(q) != q]
    assert changed == []


def test_the_corpus_passes_unchanged() -> None:
    import yaml

    source = next((ROOT / "corpus" / "source").glob("*.txt"))
    texts = [line for line in source.read_text("utf-8").splitlines() if line]
    for path in sorted((ROOT / "corpus" / "projects").glob("*.yaml")):
        project = yaml.safe_load(path.read_text("utf-8"))
        texts += [*project["examples"], *project["aliases"], project["summary"], project["summary_en"]]
        texts.append(project["summary_easy"])
    assert len(texts) > 900
    assert [t for t in texts if mask(t) != t] == []


def test_long_text_is_masked_in_linear_time() -> None:
    import time

    blob = "a" * 20_000 + "1-" * 5_000 + "富岡" * 5_000
    started = time.perf_counter()
    mask(blob)
    assert time.perf_counter() - started < 2.0


# --------------------------------------------------------------------------- properties

_FULL = str.maketrans("0123456789", "０１２３４５６７８９")
_SEPARATORS = ["", "-", "‐", "−", "－", "ー", "ｰ", "–", "—", "―", " ", "　", " - ", ".", "．", "・"]
# Surrounding text: Japanese, digits of both widths, separators, punctuation, Latin letters.
_AROUND = st.text(
    alphabet=st.sampled_from(
        list("あいうえお電話番号私名前住所は。、！？「」 　-()（）+＋0123456789０１２３４５６７８９abcXYZ.,:;@ー〒/")
    ),
    max_size=16,
)
_STRIP = re.compile(r"[\s\u3000\-‐‑‒–—―−－﹣ーｰ─━()（）.．・]")


def _uncovered_digits(before: str, written: str, after: str) -> list[str]:
    """The digits of ``written`` that no finding covers, in ``before + written + after``."""
    spans = find(before + written + after)
    start = len(before)
    return [
        char
        for at, char in enumerate(written, start)
        if char.isdigit() and not any(f.start <= at < f.end for f in spans)
    ]


def _squeeze(text: str) -> str:
    """The text with every character a number can be split by removed, digits half-width."""
    return _STRIP.sub("", unicodedata.normalize("NFKC", text))


@st.composite
def _digits(draw: st.DrawFn, prefix: str, length: int) -> str:
    return prefix + "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=length, max_size=length)))


@st.composite
def phone_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """(how a resident might write it, the national significant number without the leading 0)."""
    national = draw(
        st.one_of(
            _digits("0" + draw(st.sampled_from("789")) + "0", 8),  # mobile
            _digits("050", 8),  # IP phone
            _digits("0" + draw(st.sampled_from("123456789")), 8),  # landline, 0570
            _digits("0120", 6),  # toll-free
            _digits("0800", 7),
        )
    )
    body = national[1:] if draw(st.booleans()) else national
    international = body is not national
    cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=len(body) - 1), max_size=3)))
    groups = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    style = draw(st.sampled_from(["plain", "brackets-first", "brackets-middle"]))
    if style == "brackets-first" and len(groups) > 1 and not international:
        written = f"({groups[0]})" + draw(st.sampled_from(_SEPARATORS)).join(groups[1:])
    elif style == "brackets-middle" and len(groups) == 3:
        written = f"{groups[0]}({groups[1]}){groups[2]}"
    else:
        written = "".join(g + draw(st.sampled_from(_SEPARATORS)) for g in groups[:-1]) + groups[-1]
    if international:
        written = draw(st.sampled_from(["+81", "＋81", "+81 ", "+81-", "+81 (0)"])) + written
    if draw(st.booleans()):
        written = written.translate(_FULL)
    return written, national[1:]


@st.composite
def my_numbers(draw: st.DrawFn) -> tuple[str, str]:
    number = with_check_digit(draw(_digits("", 11)))
    separator = draw(st.sampled_from(["", " ", "-", "　", "－", "ー", " - "]))
    written = separator.join([number[:4], number[4:8], number[8:]])
    if draw(st.booleans()):
        written = written.translate(_FULL)
    return written, number


@settings(max_examples=600, deadline=None)
@given(before=_AROUND, phone=phone_numbers(), after=_AROUND)
def test_no_phone_number_survives_anywhere(before: str, phone: tuple[str, str], after: str) -> None:
    written, significant = phone
    assert _uncovered_digits(before, written, after) == []
    masked = mask(before + written + after)
    assert written not in masked
    assert significant not in _squeeze(masked), masked


@settings(max_examples=600, deadline=None)
@given(before=_AROUND, number=my_numbers(), after=_AROUND)
def test_no_valid_my_number_survives_anywhere(before: str, number: tuple[str, str], after: str) -> None:
    written, digits = number
    assert _uncovered_digits(before, written, after) == []
    masked = mask(before + written + after)
    assert written not in masked
    assert digits not in _squeeze(masked), masked


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60))
def test_masking_any_text_never_fails_and_is_stable(text: str) -> None:
    once = mask(text)
    assert mask(once) == once
