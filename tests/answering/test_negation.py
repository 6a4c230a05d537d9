"""What a Japanese question says it is not about is searched without it."""

from __future__ import annotations

import pytest

from assistant.answering.negation import NegationReader
from assistant.search.tokens import TextAnalyzer

READER = NegationReader(TextAnalyzer())


@pytest.mark.parametrize(
    ("question", "searched"),
    [
        ("公民館じゃなくて体育館のほうも使える？", "体育館のほうも使える？"),
        ("施設ではなく自宅で看たい", "自宅で看たい"),
        ("施設でなく自宅で看たい", "自宅で看たい"),
        ("公民館じゃ無くて体育館を借りたい", "体育館を借りたい"),
        ("運動じゃなくて、書道の講座なら？", "書道の講座なら？"),
        ("熱がないときに預かってくれる人は？", "ときに預かってくれる人は？"),
        ("病気じゃない日でも頼める？", "日でも頼める？"),
        # Only the nouns written together before the negation: the topic before の stays.
        ("ファミサポの登録じゃなくて、利用の申し込みは？", "ファミサポの 利用の申し込みは？"),
        ("ファミサポ 熱がないときも頼める？", "ファミサポ ときも頼める？"),
    ],
)
def test_a_negated_phrase_is_read_out(question: str, searched: str) -> None:
    assert READER.without(question) == searched


@pytest.mark.parametrize(
    "question",
    [
        "病児保育はないですか",  # asks whether there is one
        "安くなるんじゃない？",  # a tag question
        "それって病児保育じゃなくて？",  # a tag question too
        "子どもが熱を出して保育園に行けない",  # a negated verb is the need
        "車がなくて病院に行けない",  # what is missing is what the resident asks for
        "下仁田だけじゃなくて4市町村一緒なんですか",  # not only
        "会員じゃなくても一時預かりを頼めますか",  # even if not
        "熱がないとき",  # nothing would be left to search for
    ],
)
def test_other_negations_are_left_alone(question: str) -> None:
    assert READER.without(question) == question


def test_the_place_ruled_out_is_not_cited(assistant) -> None:  # type: ignore[no-untyped-def]
    result = assistant.ask("公民館じゃなくて体育館を予約したい")
    assert [c.project_id for c in result.citations] == ["sports-facilities"]


def test_a_need_ruled_out_does_not_hold_the_answer(assistant) -> None:  # type: ignore[no-untyped-def]
    """Searched whole, 熱 pulls the question to sick-child care, the one thing it rules out."""
    result = assistant.ask("熱がないときに、近所の方が子どもを預かってくれるサービスはありますか")
    assert result.citations[0].project_id == "family-support-center"


def test_without_the_phrase_the_question_must_be_confident_of_something(assistant) -> None:  # type: ignore[no-untyped-def]
    """「車がないとき」: the car is what the resident lacks; searched without it the question is less sure,
    and the whole question is kept (with the one project it is about)."""
    result = assistant.ask("車がないときに病院に行く方法は？")
    assert [c.project_id for c in result.citations] == ["shared-taxi"]


def test_a_category_ruled_out_is_not_listed(assistant) -> None:  # type: ignore[no-untyped-def]
    result = assistant.ask("子育てじゃなくて介護の事業を全部教えて")
    cited = {c.project_id for c in result.citations}
    assert "home-medical-care" in cited
    assert not cited & {"family-support-center", "sick-child-care"}
