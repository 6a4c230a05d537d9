"""Kana written with the corpus's own words."""

from __future__ import annotations

from assistant.corpus import load_corpus
from assistant.search.readings import CorpusReadings
from assistant.search.tokens import TextAnalyzer
from tests.conftest import CORPUS

CORPUS_ = load_corpus(CORPUS)
READINGS = CorpusReadings.from_texts(
    [t for p in CORPUS_.projects.values() for t in [p.name, p.summary, p.summary_easy, *p.aliases, *p.examples]],
    TextAnalyzer(),
)


def test_kana_stretches_are_written_as_the_corpus_writes_them() -> None:
    assert READINGS.spelled("すぽーつの きょうしつに はいりたいです") == "スポーツの 教室に はいりたいです"
    assert READINGS.spelled("びょうじほいくはどこ") == "病児保育はどこ"


def test_a_compound_the_dictionary_splits_is_one_word() -> None:
    assert "下水道" in READINGS.spelled("げすいどうの こうじ")


def test_words_the_corpus_does_not_use_and_short_readings_stay_kana() -> None:
    assert READINGS.spelled("あした はれるかな") == "あした はれるかな"
    assert READINGS.spelled("いえで まつ") == "いえで まつ"  # いえ (家) is too short to tell
    assert READINGS.spelled("介護認定の審査会") == "介護認定の審査会"


def test_an_empty_vocabulary_changes_nothing() -> None:
    assert CorpusReadings({}).spelled("すぽーつ") == "すぽーつ"


def test_a_hiragana_question_is_answered_like_its_kanji_form(assistant) -> None:  # type: ignore[no-untyped-def]
    result = assistant.ask("すぽーつの きょうしつに はいりたいです")
    assert not result.abstained and result.citations[0].project_id == "sports-promotion"


def test_a_category_named_in_kana_asks_for_its_list(assistant) -> None:  # type: ignore[no-untyped-def]
    result = assistant.ask("でんしゃや タクシーの じぎょうは なにが ありますか")
    assert result.list_answer
    assert {"joshin-railway", "shared-taxi"} <= {c.project_id for c in result.citations}


def test_only_japanese_written_mostly_in_kana_is_respelled() -> None:
    from assistant.search.readings import mostly_kana

    assert mostly_kana("すぽーつの きょうしつに はいりたいです")
    assert not mostly_kana("病児保育施設の場所を教えて")
    assert not mostly_kana("Where is sick child care?")
