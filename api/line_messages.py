"""LINE messages built from an answer: the text, a Flex card per cited project, and quick replies.

Pure functions over the corpus and an :class:`~assistant.answering.service.AskResult`; they return
the Messaging API's JSON objects (``{"type": "text", ...}``), which ``api/routes/line.py`` hands to
line-bot-sdk. Every word about a project is a corpus field or a fixed sentence of the language
files; nothing here writes a fact of its own.

LINE's limits (https://developers.line.biz/en/reference/messaging-api/) are kept here, so a long
answer is cut rather than refused by LINE:

Example::

    messages = answer_messages(corpus, result)
    # [{"type": "text", "text": "「病児・病後児保育事業」について…"}, {"type": "flex", "altText": …, "quickReply": …}]
"""

from __future__ import annotations

from typing import Any

from assistant.answering.answers import ResidentTown, citation, coverage_line, list_answer
from assistant.answering.service import AskResult
from assistant.corpus import Corpus
from assistant.languages import JAPANESE, LanguagePack

Json = dict[str, Any]

MAX_TEXT_CHARS = 5000
"""A text message."""
MAX_ALT_TEXT_CHARS = 400
"""A Flex message's altText (shown in notifications and on devices that cannot show Flex)."""
MAX_MESSAGES = 5
"""Messages in one reply."""
MAX_QUICK_REPLY_ITEMS = 13
MAX_LABEL_CHARS = 20
"""A quick-reply button's label."""
MAX_POSTBACK_DATA_CHARS = 300
MAX_BUBBLES = 12
"""Bubbles in one carousel."""

TOWN_POSTBACK = "town"
"""The postback field that carries the resident's town (``town=下仁田町&project=sick-child-care``)."""
CATEGORY_POSTBACK = "category"
"""The postback field that carries a category to list (``category=子育て支援の充実``)."""

_STATUS_COLOURS = {"in_operation": "#1E7B34", "planned": "#8A5A00", "under_discussion": "#5B4B8A"}
"""Badge background per status: dark enough for white text (contrast ≥ 4.5:1)."""


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending with "…" when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pack(corpus: Corpus, lang: str) -> LanguagePack:
    return corpus.languages[lang] if lang in corpus.languages else corpus.languages["en"]


def _message_action(label: str, text: str) -> Json:
    return {"type": "action", "action": {"type": "message", "label": clip(label, MAX_LABEL_CHARS), "text": text}}


def quick_reply(items: list[Json]) -> Json | None:
    """A quick-reply block of at most 13 buttons, duplicates (same label) dropped; None when empty."""
    seen: set[str] = set()
    kept = []
    for item in items:
        label = item["action"]["label"]
        if label in seen:
            continue
        seen.add(label)
        kept.append(item)
    return {"items": kept[:MAX_QUICK_REPLY_ITEMS]} if kept else None


def text_message(text: str, quick: Json | None = None) -> Json:
    """A text message within LINE's length limit."""
    message: Json = {"type": "text", "text": clip(text, MAX_TEXT_CHARS)}
    if quick:
        message["quickReply"] = quick
    return message


def _text(text: str, **style: Any) -> Json:
    return {"type": "text", "text": text, "wrap": True, **style}


def _resident(corpus: Corpus, town: str | None) -> ResidentTown | None:
    if not town:
        return None
    return ResidentTown(town, member=town in corpus.zone.members)


def bubble(corpus: Corpus, result: AskResult, index: int) -> Json:
    """The card of ``result.citations[index]``: name, status badge, coverage, category path, source and page."""
    cited = result.citations[index]
    lang = result.answer_lang
    phrases = _pack(corpus, lang).phrases
    body: list[Json] = [_text(cited.display_name, weight="bold", size="lg")]
    if lang not in JAPANESE and cited.display_name != cited.name:
        body.append(_text(cited.name, size="sm", color="#555555"))
    body.append(
        {
            "type": "box",
            "layout": "horizontal",
            "contents": [
                {
                    "type": "box",
                    "layout": "vertical",
                    "flex": 0,
                    "backgroundColor": _STATUS_COLOURS.get(cited.status, "#444444"),
                    "cornerRadius": "md",
                    "paddingAll": "xs",
                    "paddingStart": "md",
                    "paddingEnd": "md",
                    "contents": [_text(cited.status_label, size="xs", color="#FFFFFF", weight="bold")],
                }
            ],
        }
    )
    project = corpus.projects.get(cited.project_id)
    coverage = coverage_line(corpus, project, lang, _resident(corpus, result.town)) if project else None
    if coverage:
        body.append(_text(coverage, size="sm", color="#B00020" if cited.covers_town is False else "#333333"))
    path = " › ".join(cited.display_category_path)
    body.append(_text(f"{phrases.labels.category}{path}", size="sm", color="#333333"))
    source = phrases.source_line.format(document=cited.source.document, page=cited.source.page)
    body.append(_text(f"{phrases.labels.source}{source}", size="xs", color="#555555"))
    return {
        "type": "bubble",
        "size": "kilo" if len(result.citations) > 1 else "mega",
        "body": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": body},
    }


def alt_text(result: AskResult) -> str:
    """The plain-text stand-in of the cards: each project's name and status."""
    names = [f"{c.display_name}（{c.status_label}）" for c in result.citations[:MAX_BUBBLES]]
    return clip(" / ".join(names), MAX_ALT_TEXT_CHARS)


def cards(corpus: Corpus, result: AskResult) -> Json | None:
    """One Flex message: a bubble for one cited project, a carousel for several; None for no citation."""
    if not result.citations:
        return None
    bubbles = [bubble(corpus, result, i) for i in range(min(len(result.citations), MAX_BUBBLES))]
    contents = bubbles[0] if len(bubbles) == 1 else {"type": "carousel", "contents": bubbles}
    return {"type": "flex", "altText": alt_text(result), "contents": contents}


def town_items(corpus: Corpus, lang: str, project_id: str | None) -> list[Json]:
    """One button per member town: a postback that tells the assistant where the resident lives."""
    items = []
    for town in corpus.zone.members:
        data = f"{TOWN_POSTBACK}={town}" + (f"&project={project_id}" if project_id else "")
        label = corpus.place(town, lang)
        action = {
            "type": "postback",
            "label": clip(label, MAX_LABEL_CHARS),
            "data": data[:MAX_POSTBACK_DATA_CHARS],
            "displayText": label,
        }
        items.append({"type": "action", "action": action})
    return items


def category_item(corpus: Corpus, name: str, lang: str) -> Json:
    """A button listing every project of a category (a policy item such as 医療, or an agreement)."""
    label = corpus.category(name, lang)
    action = {
        "type": "postback",
        "label": clip(label, MAX_LABEL_CHARS),
        "data": f"{CATEGORY_POSTBACK}={name}"[:MAX_POSTBACK_DATA_CHARS],
        "displayText": label,
    }
    return {"type": "action", "action": action}


def category_items(corpus: Corpus, lang: str) -> list[Json]:
    """One button per policy item (医療, 福祉 …): what the assistant can answer about."""
    return [category_item(corpus, item.name, lang) for item in corpus.zone.items()]


def category_result(corpus: Corpus, name: str, lang: str, town: str | None = None) -> AskResult | None:
    """The list answer for a tapped category: every project under it, composed like any list answer.

    None for a name that is no category of ``zone.yaml``.
    """
    projects = [p for p in corpus.projects.values() if name in p.category_path]
    if name not in corpus.zone.category_names() or not projects:
        return None
    resident = _resident(corpus, town)
    return AskResult(
        answer=list_answer(corpus, projects, lang, town=resident),
        abstained=False,
        lang=lang,
        answer_lang=lang,
        citations=[citation(corpus, p, lang, 1.0, resident) for p in projects],
        confidence=1.0,
        list_answer=True,
        town=town,
    )


def answer_quick_reply(corpus: Corpus, result: AskResult) -> Json | None:
    """Follow-ups, related projects, the main project's category and, town unknown, the four towns."""
    lang = result.answer_lang
    if result.abstained:
        return quick_reply(category_items(corpus, lang))
    items = [_message_action(tip, tip) for tip in result.suggestions]
    items += [_message_action(c.display_name, c.display_name) for c in result.citations[1:]]
    if result.citations and not result.list_answer:
        items.append(category_item(corpus, result.citations[0].category_path[-1], lang))
    if result.citations and not result.town and not result.list_answer:
        room = MAX_QUICK_REPLY_ITEMS - len(corpus.zone.members)
        items = items[:room] + town_items(corpus, lang, result.citations[0].project_id)
    return quick_reply(items)


def answer_messages(corpus: Corpus, result: AskResult) -> list[Json]:
    """The reply to a question: the answer text, then the cards; quick replies on the last message."""
    messages = [text_message(result.answer)]
    flex = cards(corpus, result)
    if flex:
        messages.append(flex)
    quick = answer_quick_reply(corpus, result)
    if quick:
        messages[-1]["quickReply"] = quick
    return messages[:MAX_MESSAGES]


def greeting_messages(corpus: Corpus) -> list[Json]:
    """The reply to a follow (friend added): what the assistant answers, in Japanese, then English."""
    ja, en = _pack(corpus, "ja").phrases, _pack(corpus, "en").phrases
    topics_ja = ja.list_separator.join(corpus.category(item.name, "ja") for item in corpus.zone.items())
    topics_en = en.list_separator.join(corpus.category(item.name, "en") for item in corpus.zone.items())
    text = "\n\n".join(
        [
            f"{ja.greeting}\n{ja.can_answer.format(topics=topics_ja)}",
            f"{en.greeting}\n{en.can_answer.format(topics=topics_en)}",
        ]
    )
    return [text_message(text, quick_reply(category_items(corpus, "ja")))]


def non_text_messages(corpus: Corpus, lang: str | None) -> list[Json]:
    """The reply to a sticker, image or other non-text message: please type the question.

    In the conversation's language when known, else in Japanese and English.
    """
    if lang and lang in corpus.languages:
        return [text_message(_pack(corpus, lang).phrases.non_text)]
    return [text_message(f"{_pack(corpus, 'ja').phrases.non_text}\n{_pack(corpus, 'en').phrases.non_text}")]
