"""LINE messages built from answers over the real corpus: cards, quick replies and LINE's limits."""

from __future__ import annotations

from typing import Any

import pytest

from api import line_messages as lm
from assistant.answering import answers
from assistant.answering.service import AskResult
from assistant.config import ROOT
from assistant.corpus import Corpus, load_corpus


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus(ROOT / "corpus")


def result(corpus: Corpus, ids: list[str], lang: str = "ja", **fields: Any) -> AskResult:
    """An answer citing ``ids``, composed by the service's own answer functions."""
    projects = [corpus.projects[pid] for pid in ids]
    town = answers.ResidentTown(fields["town"]) if fields.get("town") else None
    return AskResult(
        answer=fields.pop("answer", None) or answers.project_answer(corpus, projects, lang, town=town),
        abstained=False,
        lang=lang,
        answer_lang=lang,
        citations=[answers.citation(corpus, p, lang, 1.0, town) for p in projects],
        confidence=0.9,
        suggestions=answers.suggestions(corpus, lang),
        **fields,
    )


def texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["text"]] if node.get("type") == "text" else []
        return found + [t for value in node.values() for t in texts(value)]
    if isinstance(node, list):
        return [t for item in node for t in texts(item)]
    return []


def check_limits(messages: list[dict[str, Any]]) -> None:
    assert 1 <= len(messages) <= lm.MAX_MESSAGES
    for message in messages:
        if message["type"] == "text":
            assert 1 <= len(message["text"]) <= lm.MAX_TEXT_CHARS
        if message["type"] == "flex":
            assert 1 <= len(message["altText"]) <= lm.MAX_ALT_TEXT_CHARS
            contents = message["contents"]
            if contents["type"] == "carousel":
                assert 2 <= len(contents["contents"]) <= lm.MAX_BUBBLES
        if "quickReply" in message:
            items = message["quickReply"]["items"]
            assert 1 <= len(items) <= lm.MAX_QUICK_REPLY_ITEMS
            for item in items:
                action = item["action"]
                assert 1 <= len(action["label"]) <= lm.MAX_LABEL_CHARS
                if action["type"] == "postback":
                    assert len(action["data"]) <= lm.MAX_POSTBACK_DATA_CHARS
    assert "quickReply" not in messages[0] or len(messages) == 1  # LINE shows the last message's quick reply


def test_one_project_is_one_bubble_with_name_status_category_and_source(corpus: Corpus) -> None:
    messages = lm.answer_messages(corpus, result(corpus, ["sick-child-care"]))
    check_limits(messages)
    text, flex = messages
    assert text["text"].startswith("「病児・病後児保育事業」について")
    assert flex["contents"]["type"] == "bubble"
    project = corpus.projects["sick-child-care"]
    words = texts(flex["contents"])
    assert words[0] == "病児・病後児保育事業"
    assert getattr(corpus.languages["ja"].phrases.status_label, project.status) in words
    assert "・分野：" + " › ".join(project.category_path) in words
    assert f"・出典：「{project.source.document}」{project.source.page}ページ" in words
    assert flex["altText"].startswith("病児・病後児保育事業（")


def test_several_projects_make_a_carousel_and_related_quick_replies(corpus: Corpus) -> None:
    ids = ["sick-child-care", "family-support-center", "health-dial-24"]
    messages = lm.answer_messages(corpus, result(corpus, ids))
    check_limits(messages)
    carousel = messages[1]["contents"]
    assert carousel["type"] == "carousel" and len(carousel["contents"]) == 3
    labels = [i["action"]["label"] for i in messages[-1]["quickReply"]["items"]]
    assert "どこで？" in labels and corpus.projects["family-support-center"].name[:19] in "".join(labels)
    assert labels[-4:] == ["富岡市", "下仁田町", "南牧村", "甘楽町"]


def test_every_limit_holds_for_every_project_and_language(corpus: Corpus) -> None:
    ids = list(corpus.projects)
    for lang in corpus.languages:
        for pid in ids:
            check_limits(lm.answer_messages(corpus, result(corpus, [pid], lang)))
        long = result(corpus, ids[:15], lang, answer="あ" * 6000)
        messages = lm.answer_messages(corpus, long)
        check_limits(messages)
        assert messages[0]["text"].endswith("…") and len(messages[0]["text"]) == lm.MAX_TEXT_CHARS
        assert len(messages[1]["contents"]["contents"]) == lm.MAX_BUBBLES


def test_a_foreign_answer_shows_the_official_name_and_labels_in_its_language(corpus: Corpus) -> None:
    messages = lm.answer_messages(corpus, result(corpus, ["sick-child-care"], "en"))
    words = texts(messages[1]["contents"])
    project = corpus.projects["sick-child-care"]
    assert words[:2] == [project.name_en, project.name]
    assert corpus.languages["en"].phrases.status_label.planned in words or any(
        w in words for w in ("Planned", "Under discussion", "In operation")
    )
    assert any(w.endswith(f"{project.source.page}") or str(project.source.page) in w for w in words)


def test_a_known_town_gets_its_coverage_on_the_card_and_no_town_buttons(corpus: Corpus) -> None:
    messages = lm.answer_messages(corpus, result(corpus, ["bulky-waste"], town="下仁田町"))
    words = texts(messages[1]["contents"])
    assert any("下仁田町は対象に含まれていません" in w for w in words)
    assert not [i for i in messages[-1]["quickReply"]["items"] if "town=" in i["action"].get("data", "")]


def test_a_category_lists_its_projects_and_an_unknown_one_nothing(corpus: Corpus) -> None:
    listed = lm.category_result(corpus, "子育て支援の充実", "ja")
    assert listed is not None and listed.list_answer
    ids = [c.project_id for c in listed.citations]
    assert ids == [p.id for p in corpus.projects.values() if "子育て支援の充実" in p.category_path]
    assert "sick-child-care" in ids and "family-support-center" in ids
    messages = lm.answer_messages(corpus, listed)
    check_limits(messages)
    assert not [i for i in messages[-1]["quickReply"]["items"] if "town=" in i["action"].get("data", "")]
    for item in corpus.zone.items():  # every button of the greeting and the abstention lists something
        found = lm.category_result(corpus, item.name, "en")
        assert found is not None and found.citations, item.name
    assert lm.category_result(corpus, "天気", "ja") is None


def test_an_abstention_offers_the_categories(corpus: Corpus) -> None:
    abstained = AskResult(
        answer=answers.abstention(corpus, "ja"),
        abstained=True,
        lang="ja",
        answer_lang="ja",
        citations=[],
        confidence=0.1,
    )
    messages = lm.answer_messages(corpus, abstained)
    check_limits(messages)
    assert len(messages) == 1 and "お住まいの市町村" in messages[0]["text"]
    labels = [i["action"]["label"] for i in messages[0]["quickReply"]["items"]]
    assert labels == [item.name for item in corpus.zone.items()]


def test_greeting_and_non_text_replies_come_from_the_language_files(corpus: Corpus) -> None:
    (greeting,) = lm.greeting_messages(corpus)
    ja, en = corpus.languages["ja"].phrases, corpus.languages["en"].phrases
    assert greeting["text"].startswith(ja.greeting) and en.greeting in greeting["text"]
    assert "医療" in greeting["text"] and "Medical care" in greeting["text"]
    check_limits([greeting])
    assert lm.non_text_messages(corpus, None)[0]["text"] == f"{ja.non_text}\n{en.non_text}"
    assert lm.non_text_messages(corpus, "vi")[0]["text"] == corpus.languages["vi"].phrases.non_text


def test_the_sdk_accepts_every_message_shape(corpus: Corpus) -> None:
    from linebot.v3.messaging import ReplyMessageRequest

    shapes = [
        lm.answer_messages(corpus, result(corpus, ["sick-child-care"])),
        lm.answer_messages(corpus, result(corpus, ["sick-child-care", "health-dial-24"], "vi")),
        lm.greeting_messages(corpus),
        lm.non_text_messages(corpus, None),
    ]
    for messages in shapes:
        request = ReplyMessageRequest.from_dict({"replyToken": "t", "messages": messages})
        assert request.to_dict()["messages"] == messages  # nothing dropped or renamed on the way to LINE
