"""What a Japanese question says it is not about is not searched for."""

from __future__ import annotations

import uuid

import pytest

from assistant.answering.negation import NegationReader
from assistant.search.tokens import TextAnalyzer

READER = NegationReader(TextAnalyzer())


@pytest.mark.parametrize(
    ("question", "searched"),
    [
        ("公民館じゃなくて体育館のほうも使える？", "体育館のほうも使える？"),
        ("施設ではなく自宅で看たい", "自宅で看たい"),
        ("運動じゃなくて、書道の講座なら？", "書道の講座なら？"),
        ("役場の職員向けじゃなくて一般の人も受けられるの？", "一般の人も受けられるの？"),
        ("熱がないときに預かってくれる人は？", "ときに預かってくれる人は？"),
        ("病気じゃない日でも頼める？", "日でも頼める？"),
    ],
)
def test_a_negated_phrase_is_read_out(question: str, searched: str) -> None:
    assert READER.without(question) == searched


@pytest.mark.parametrize(
    "question",
    [
        "病児保育はないですか",  # asks whether there is one
        "安くなるんじゃない？",  # a tag question
        "子どもが熱を出して保育園に行けない",  # a negated verb is the need
        "車がなくて病院に行けない",  # what is missing is what the resident asks for
        "下仁田だけじゃなくて4市町村一緒なんですか",  # not only
        "熱がない",  # nothing would be left
    ],
)
def test_other_negations_are_left_alone(question: str) -> None:
    assert READER.without(question) == question


def test_the_place_ruled_out_is_not_cited(assistant) -> None:  # type: ignore[no-untyped-def]
    session = uuid.uuid4().hex
    assistant.ask("公民館の講座について教えて", session_id=session)
    result = assistant.ask("公民館じゃなくて体育館を予約したいんだけど", session_id=session)
    assert [c.project_id for c in result.citations] == ["sports-facilities"]
