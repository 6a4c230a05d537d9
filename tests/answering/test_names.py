"""A project named in another spelling than the corpus's is still named, and searched as the corpus spells it."""

from __future__ import annotations

from assistant.answering.names import ProjectNames, kana_forms
from assistant.corpus import load_corpus
from tests.conftest import CORPUS

CORPUS_ = load_corpus(CORPUS)
NAMES = ProjectNames(CORPUS_, list(CORPUS_.projects))
FAMILY = list(CORPUS_.projects).index("family-support-center")


def test_a_katakana_name_gets_its_hiragana_and_romaji_forms() -> None:
    assert kana_forms("ファミサポ") == ["ふぁみさぽ", "famisapo"]
    assert kana_forms("ファミリーサポート") == ["ふぁみりーさぽーと"]  # a long vowel is spelled many ways in romaji
    assert kana_forms("上信線") == []


def test_the_name_typed_in_hiragana_or_romaji_names_the_project() -> None:
    for question in ("ふぁみさぽに登録したい", "Eh yung famisapo po, pwede rin ba?"):
        named = NAMES.named(question)
        assert named[FAMILY] == 1.0 and named.sum() == 1.0


def test_the_question_is_respelled_as_the_corpus_writes_the_name() -> None:
    assert NAMES.respelled("ふぁみさぽに登録したい") == "ファミサポに登録したい"
    assert NAMES.respelled("may famisapo ba dito?") == "may ファミサポ ba dito?"
    assert NAMES.respelled("病児保育はどこ?") == "病児保育はどこ?"


def test_a_name_in_hiragana_is_answered_like_the_katakana_one(assistant) -> None:  # type: ignore[no-untyped-def]
    result = assistant.ask("ふぁみさぽに登録したいんだけど、どこでできる？")
    assert not result.abstained and result.citations[0].project_id == "family-support-center"
