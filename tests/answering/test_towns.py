"""The resident's town, however it is written, and places outside the zone by the role they play."""

from __future__ import annotations

import pytest

from assistant.answering.answers import ResidentTown
from assistant.answering.towns import TownFinder
from assistant.corpus import load_corpus
from tests.conftest import CORPUS

FINDER = TownFinder(load_corpus(CORPUS).zone)


@pytest.mark.parametrize(
    ("question", "town"),
    [
        ("下仁田町に住んでいます。粗大ごみは富岡市で受け入れてもらえますか", "下仁田町"),
        ("しもにたに すんで います", "下仁田町"),
        ("I live in Kanra. Is there sick child care?", "甘楽町"),
        ("What joint services can Kanra residents use?", "甘楽町"),
        ("南牧村で使える連携事業は？", "南牧村"),
        ("富岡総合病院の病児保育は甘楽町からでも使えますか", "甘楽町"),  # the hospital's 富岡 is not a residence
        ("馬山に住んでるんだけど", "下仁田町"),  # a district (大字) of 下仁田町
        ("大日向地区の者ですが", "南牧村"),
        ("Tôi sống ở Kanra", "甘楽町"),
        ("난모쿠에 살아요", "南牧村"),
        ("म तोमियोकामा बस्छु", "富岡市"),  # Nepali writes Tomioka with त as well as ट
        ("nanmoku mura ni sunde imasu", "南牧村"),
        ("砥沢で母と二人で暮らしてます", "南牧村"),  # the verb of living a few words after the district
        ("ぜんけいじ に すんで います", "甘楽町"),  # a district's reading, spaced as romaji converts it
        ("I live in Zenkeiji", "甘楽町"),
        ("我们家住在南牧村", "南牧村"),
    ],
)
def test_member_towns_are_recognised_however_written(question: str, town: str) -> None:
    assert FINDER.resident(question) == ResidentTown(town)


def test_a_surname_that_is_also_a_district_is_not_a_town() -> None:
    assert FINDER.resident("岡本です。病児保育について教えて") is None  # UniDic reads 岡本 as a surname
    assert FINDER.resident("おかもとさんに聞きました") is None


@pytest.mark.parametrize(
    ("question", "town"),
    [
        ("大日向です。乗合タクシーって村の中まで来るの？", "南牧村"),
        ("こんにちは、馬山です。", "下仁田町"),
        ("病児保育のことで。砥沢です", "南牧村"),
    ],
)
def test_a_district_introduced_with_desu_is_where_the_resident_is(question: str, town: str) -> None:
    """「大日向です。」 opening a sentence says where the caller is, unless the dictionary reads the
    place as a surname (岡本, 小幡: see the test above)."""
    assert FINDER.resident(question) == ResidentTown(town)


def test_a_surname_district_in_kana_or_romaji_is_still_a_surname() -> None:
    assert FINDER.resident("おかもとです。よろしくお願いします") is None
    assert FINDER.resident("こんにちは、おばたです。") is None


def test_a_district_inside_a_sentence_with_desu_is_not_an_introduction() -> None:
    assert FINDER.resident("乗合タクシーの終点は大日向です") is None


@pytest.mark.parametrize(
    "question",
    [
        "甘楽町のごみを富岡で受け入れてるやつ、うちも対象？",
        "甘楽町の木の家具のごみの話、うちの町も使える？",
        "Kanra's furniture waste goes to Tomioka now. Does that cover my town too?",
    ],
)
def test_a_town_named_beside_my_home_too_is_not_the_residents(question: str) -> None:
    """ "うちも" / "my town too" sets the resident's home against the town the question names."""
    assert FINDER.resident(question) is None


@pytest.mark.parametrize(
    ("question", "town"),
    [
        ("富岡市の住宅リフォーム補助、空き家も対象？", "富岡市"),  # the 家 of 空き家 is not "my home"
        ("富岡市の子育てサロン、私も行けますか", "富岡市"),  # 「私も」 is "me too", not "my town too"
    ],
)
def test_too_that_is_not_about_my_town_keeps_the_town(question: str, town: str) -> None:
    assert FINDER.resident(question) == ResidentTown(town)


def test_short_district_readings_are_not_found_inside_other_words() -> None:
    """宇田 reads うだ: 「どうだに住んで」 is not 宇田 (kana readings shorter than 3 count only in kanji)."""
    assert FINDER.resident("どうだに住んでいる人") is None


def test_a_district_reading_must_be_one_of_the_towns_districts() -> None:
    from assistant.corpus import Town

    with pytest.raises(ValueError, match="readings.*砥沢"):
        Town(name="甘楽町", districts=["善慶寺"], readings={"砥沢": ["とざわ"]})


def test_a_place_outside_the_zone_named_as_home_is_not_a_member_town() -> None:
    assert FINDER.resident("高崎に住んでいます") == ResidentTown("高崎", member=False)
    assert FINDER.resident("藤岡市民です") == ResidentTown("藤岡市", member=False)


@pytest.mark.parametrize(
    ("question", "role"),
    [
        ("東京から引っ越してきました。病児保育はありますか", "other"),  # where they came from
        ("太田です。病児保育について教えて", "other"),  # a surname
        ("高崎です。病児保育について教えて", "residence"),  # a place the dictionary does not read as a name
        ("太田さんに聞きました", "other"),
        ("前橋市の病児保育施設を教えて", "service"),
        ("Is there sick child daycare in Takasaki?", "service"),
        ("高崎に住んでいます", "residence"),
        ("I live in Takasaki", "residence"),
    ],
)
def test_places_outside_the_zone_are_read_by_their_role(question: str, role: str) -> None:
    (mention,) = FINDER.places_outside(question)
    assert mention.role == role


def test_no_town_when_none_is_said() -> None:
    assert FINDER.resident("子どもが熱を出して保育園に行けない") is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("甘楽町", ResidentTown("甘楽町")),
        ("kanra", ResidentTown("甘楽町")),
        ("しもにた", ResidentTown("下仁田町")),
        ("Tomioka City", ResidentTown("富岡市")),
        ("高崎市", ResidentTown("高崎市", member=False)),
    ],
)
def test_a_town_given_by_the_channel_is_read_the_same_way(given: str, expected: ResidentTown) -> None:
    assert FINDER.parse(given) == expected


@pytest.mark.parametrize("given", ["", "   ", "\u200b", "\u200e\u2066"])
def test_a_channel_town_with_nothing_visible_is_no_town(given: str) -> None:
    """Not echoed back as a place outside the zone (「…、\u200bは含まれていません」)."""
    assert FINDER.parse(given) is None


def test_a_project_name_holding_a_town_is_neither_chinese_nor_the_residents_town(assistant) -> None:  # type: ignore[no-untyped-def]
    """「富岡地域自立支援協議会事業」 typed alone: Japanese (kanji only, all Japanese characters, a project's
    name), and the 富岡 inside the name does not override the town the channel passes."""
    name = assistant.corpus.projects["independence-support-council"].name
    result = assistant.ask(name, town="下仁田町")
    assert (result.lang, result.answer_lang, result.town) == ("ja", "ja", "下仁田町")
    assert result.citations[0].project_id == "independence-support-council"
    assert result.citations[0].covers_town is True
    assert "下仁田町" in result.answer
    assert assistant.ask(name).town is None


def test_a_turn_going_back_resolves_to_the_earlier_project(assistant) -> None:  # type: ignore[no-untyped-def]
    session = "return-1"
    first = assistant.ask("校務支援システムって保護者に何か関係ある？", session)
    assert first.citations[0].project_id == "school-admin-system"
    assert assistant.ask("手話の講座はありますか", session).citations[0].project_id == "sign-language-training"
    back = assistant.ask("さっきのシステムの話に戻るけど、業者との契約も市町村で一緒にやってるの？", session)
    assert back.citations[0].project_id == "school-admin-system" and back.follow_up


def test_a_sentence_saying_only_where_the_resident_lives_is_not_the_need(assistant) -> None:  # type: ignore[no-untyped-def]
    """「I live in Kanra.」 names a town that the bulky-waste project names; the need is the rest.

    Searched whole, this message puts bulky-waste first."""
    text = "I live in Kanra. Is there a room my son can go to instead of school?"
    whole = assistant.retriever.search(text)
    assert assistant.index.project_ids[whole.order[0]] == "bulky-waste"
    result = assistant.ask(text)
    assert result.town == "甘楽町"
    assert result.citations[0].project_id == "adaptive-guidance-classroom"
    assert result.citations[0].covers_town is True


def test_a_district_that_is_a_projects_alias_still_asks_for_the_towns_list(assistant) -> None:  # type: ignore[no-untyped-def]
    """岡本地区 is an alias of the sewerage project, but here it says where the resident lives."""
    result = assistant.ask("岡本地区に住んでいます。私に関係のある連携事業を全部知りたいです")
    assert result.list_answer and result.town == "富岡市"
    covering = {p.id for p in assistant.corpus.projects.values() if "富岡市" in p.covers}
    assert {c.project_id for c in result.citations} == covering


def test_a_specific_service_asked_after_a_town_is_that_service_not_the_towns_list(assistant) -> None:  # type: ignore[no-untyped-def]
    session = "town-specific-1"
    assistant.ask("下仁田に引っ越してきました。ファミサポは使えますか", session)
    result = assistant.ask("木の家具を富岡で処分してもらえる制度もあるって聞いたけど、それも使える？", session)
    assert not result.list_answer
    assert result.citations[0].project_id == "bulky-waste"
    assert result.citations[0].covers_town is False
