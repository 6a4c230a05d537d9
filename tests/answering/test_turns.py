"""Later turns of a conversation: going back, choosing between what was said, and pointing back."""

from __future__ import annotations

import uuid

from assistant.answering.intents import TurnCues
from assistant.answering.names import ProjectNames
from assistant.corpus import load_corpus
from tests.conftest import CORPUS

CORPUS_ = load_corpus(CORPUS)
CUES = TurnCues(CORPUS_.languages.values())


def _conversation(assistant, *questions: str):  # type: ignore[no-untyped-def]
    session = uuid.uuid4().hex
    return [assistant.ask(q, session_id=session) for q in questions]


def test_going_back_after_a_refusal_returns_to_the_project_before_it(assistant) -> None:  # type: ignore[no-untyped-def]
    *_, back = _conversation(
        assistant,
        "手話を習いたいんですけど",
        "病院に行くときに手話通訳の人に来てもらうことってできますか",  # no project: refused
        "じゃあさっきの講座の申し込み方法を教えて",
    )
    assert back.follow_up and back.citations[0].project_id == "sign-language-training"


def test_what_was_asked_first_is_a_way_of_going_back() -> None:
    assert CUES.returns("最初に聞いた教室って何時まで開いてる？")
    assert not CUES.returns("最初に申し込みが必要ですか")


def test_choosing_between_the_projects_already_cited(assistant) -> None:  # type: ignore[no-untyped-def]
    first, choice = _conversation(
        assistant, "ファミリーサポートセンターと病児保育って何が違うの？", "熱があるときはどっちに頼めばいいの？"
    )
    assert {c.project_id for c in first.citations} >= {"family-support-center", "sick-child-care"}
    assert choice.follow_up and choice.citations[0].project_id == "sick-child-care"


def test_a_word_after_a_demonstrative_points_back_instead_of_naming() -> None:
    names = ProjectNames(CORPUS_, list(CORPUS_.projects))
    classes = list(CORPUS_.projects).index("community-center-classes")
    assert names.named("公民館の講座はありますか")[classes] == 1.0  # 講座 is an alias of the classes
    assert names.named("その講座は何曜日にやってますか")[classes] == 0.0
    assert names.named("どこの講座がいいですか")[classes] == 1.0  # どこの asks "which": 講座 still names


def test_which_is_a_question_word_not_a_pointer_back() -> None:
    assert CUES.refers_back("この講座は何曜日？")
    assert not CUES.refers_back("あと、下の子の予防接種ってどこの小児科で受けられる？")
    assert CUES.refers_back("聞きたいんだけどこの講座って何曜日？")  # けど + この still points back


def test_that_course_in_the_next_turn_is_the_course_just_asked_about(assistant) -> None:  # type: ignore[no-untyped-def]
    _, detail = _conversation(
        assistant,
        "Is there a beginner sign language course around here?",
        "すみません、やっぱり日本語で。その講座は何曜日にやってますか",
    )
    assert detail.citations[0].project_id == "sign-language-training"


def test_saying_the_topic_changes_ends_the_follow_up(assistant) -> None:  # type: ignore[no-untyped-def]
    assert CUES.switches("話変わるけど、障害者手帳の更新ってどこでやるの")
    assert CUES.switches("By the way, where can I renew my passport?")
    assert not CUES.switches("それって誰でも参加できる？")
    *_, changed = _conversation(assistant, "自立支援協議会ってなに？", "話変わるけど、障害者手帳の更新ってどこでやるの")
    assert changed.abstained and not changed.follow_up


def test_thanks_close_the_conversation_instead_of_following_it(assistant) -> None:  # type: ignore[no-untyped-def]
    """A turn closest to the greetings-and-thanks examples (a ``small_talk`` topic) asks nothing about
    the conversation's project; a question after the thanks still does."""
    _, thanks = _conversation(
        assistant, "こどもが サッカーを したいです。 スポーツきょうしつを しりたいです", "ありがとう ございました"
    )
    assert not thanks.follow_up and thanks.citations == [] and thanks.abstained
    _, closing = _conversation(assistant, "Any sign language classes for beginners?", "ok thanks, have a nice day!")
    assert not closing.follow_up and closing.citations == []
    _, more = _conversation(assistant, "手話を習いたいんですけど", "ありがとう。それって何曜日にやってるの？")
    assert more.follow_up and more.citations[0].project_id == "sign-language-training"


def test_asking_for_another_language_gets_the_same_answer_in_it(assistant) -> None:  # type: ignore[no-untyped-def]
    """A sentence asking for another language is not a need: the conversation's project is answered
    in the language named, and the rest of the message, if any, is the question."""
    first, english, japanese, thanks = _conversation(
        assistant,
        "病児保育について教えて",
        "Sorry, in English please",
        "すみません、日本語で。場所はどこですか？",
        "ok thank you, that's all for now",  # names no language: not a request
    )
    assert first.citations[0].project_id == "sick-child-care" and first.answer_lang == "ja"
    assert english.follow_up and english.answer_lang == "en"
    assert [c.project_id for c in english.citations] == ["sick-child-care"]
    assert japanese.follow_up and japanese.answer_lang == "ja" and japanese.aspect == "where"
    assert japanese.citations[0].project_id == "sick-child-care"
    assert thanks.abstained and not thanks.follow_up
    # Named in another language than the message's: the one named wins.
    _, vietnamese = _conversation(
        assistant, "ファミリーサポートセンターって何？", "In Vietnamese please: how do I register?"
    )
    assert vietnamese.answer_lang == "vi" and vietnamese.citations[0].project_id == "family-support-center"
    # With no conversation there is nothing to repeat: it is not a question about a project.
    alone = assistant.ask("英語でお願いします")
    assert alone.abstained and not alone.follow_up


def test_tuning_reads_a_turn_as_ask_does(assistant) -> None:  # type: ignore[no-untyped-def]
    """``assistant tune`` fits the follow-up model on :meth:`Assistant.read_turn`, the reading ``ask``
    answers from: the question after a request for another language, not the whole message."""
    from assistant.answering.language import detect

    previous = assistant.index.project_ids.index("family-support-center")
    message = "sorry, in English please - can people in all four towns use it?"
    turn = assistant.read_turn(message, message, detect(message), previous)
    assert (turn.text, turn.requested, turn.only_language) == ("can people in all four towns use it?", "en", False)
    assert turn.evidence.context is not None
    alone = assistant.read_turn("in English please", "in English please", detect("in English please"), previous)
    assert alone.only_language and alone.requested == "en"
    first = assistant.read_turn(message, message, detect(message), None)
    assert first.text == message and first.requested is None and first.evidence.context is None


def test_a_request_names_a_language_and_stands_at_an_end_of_the_message() -> None:
    from assistant.answering.service import request_ends

    assert request_ends("Sorry, in English please - can people in all four towns use it?") == [
        ("Sorry, in English please", "can people in all four towns use it?"),
        ("can people in all four towns use it?", "Sorry, in English please"),
    ]
    assert request_ends("予約は10:30からですか？") == []  # a time is not a boundary
    assert request_ends("病児保育はどこ？") == []
