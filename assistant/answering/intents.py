"""What kind of question this is, beyond its topic: a list request, a follow-up, an aspect.

- **List**: 「子育て支援の事業を全部教えて」, "what transport projects are there?" — answer with
  every matching project, not one.
- **Follow-up**: 「それはどこにありますか？」, "who can use it?" — the question points back at
  the project of the previous turn instead of naming one.
- **Aspect**: what the resident wants to know about the project (where, who, when, cost,
  contact, how to apply). The answer leads with what the corpus says about it, or says
  plainly that the source document does not say.

These are cue words, not a model: the wording residents use for these is small and stable,
and a cue that misfires only changes the order of true sentences, never their content.
"""

from __future__ import annotations

import re
from typing import Literal

from assistant.search.tokens import normalize

Aspect = Literal["where", "who", "when", "cost", "contact", "apply"]

_LIST = re.compile(
    # "…の事業を全部 / 事業はどれ / 取り組みには何が": a plural request about projects ...
    r"(事業|じぎょう|サービス|さーびす|取り組み|取組|とりくみ|連携|プロジェクト|制度).{0,12}"
    r"(全部|ぜんぶ|すべて|全て|一覧|いちらん|まとめて|どれ|何が|なにが|どんな|いくつ|何件)|"
    # ... or "全部教えて / 一覧で見せて", whatever is asked about
    r"(全部|ぜんぶ|すべて|全て|一覧|いちらん)(で)?(を)?(教え|おしえ|知りたい|しりたい|見せ|みせ|出して|挙げ)|"
    r"(どんな|どういう|何の|なんの)(事業|じぎょう|取り組み|とりくみ|サービス)|"
    r"(^|please |can you |could you )list\b|\blist (all|every|the)\b|\ball of (it|them)\b|"
    r"\b(all (the )?(joint )?(projects|services)|which (joint )?(projects|services)|what (joint )?(projects|services)|"
    r"every project|what (kind of )?(projects|services))\b"
)
_REFERS_BACK_JA = re.compile(
    r"^(?!それと|それから|それに|それで|これから|あれから)(それ|そこ|その|そちら|あれ|これ|この|そういう|そっち)|それ(は|って|の|に|を|で|も)|そこ(は|って|に|へ|の|で|まで)|"
    r"その(事業|サービス|施設|制度|場所|教室|講座|センター|チーム|タクシー)|この(事業|サービス|施設|制度)"
)
# English pronouns are everywhere ("Is there a …?"): they point back only in a short question.
_REFERS_BACK_EN = re.compile(r"\b(it|its|that|this|they|them|those|one)\b|\bthere\s*\??$")
_SHORT_ENGLISH_WORDS = 8
_ASPECTS: list[tuple[Aspect, re.Pattern[str]]] = [
    (
        "contact",
        re.compile(
            r"電話|でんわ|連絡|れんらく|問い合わせ|問合せ|といあわせ|窓口|まどぐち|番号|\b(phone|call|contact|number|email)\b"
        ),
    ),
    (
        "cost",
        re.compile(
            r"料金|りょうきん|いくら|費用|ひよう|無料|むりょう|有料|お金|おかね|値段|(受講|利用|使用|参加|入会|年会)(料|費)|"
            r"\b(cost|costs|fee|fees|price|free|pay)\b"
        ),
    ),
    (
        "apply",
        re.compile(
            r"申し込|申込|もうしこ|登録|とうろく|手続|てつづき|予約|よやく|使い方|利用方法|どうやって|"
            r"\b(apply|sign up|register|book|reserve|how do i (use|join))\b"
        ),
    ),
    (
        "when",
        re.compile(
            r"いつ|何時|なんじ|時間|じかん|始ま|はじま|開始|から使え|どのくらい(かか|待)|何日|土日|土曜|日曜|休日|祝日|夜間|"
            r"\b(when|start|open|hours|how long|weekends?|holidays?|available yet)\b"
        ),
    ),
    ("where", re.compile(r"どこ|場所|ばしょ|住所|じゅうしょ|\b(where|location|address)\b")),
    (
        "who",
        re.compile(
            r"誰|だれ|対象|たいしょう|使える人|利用できる人|どの町|どの市|\b(who|eligible|which towns?|residents of)\b"
        ),
    ),
]


def is_list_request(question: str) -> bool:
    """Whether the question asks for several projects at once."""
    return bool(_LIST.search(normalize(question)))


def refers_back(question: str) -> bool:
    """Whether the question points at something said before (それ, there, it …)."""
    text = normalize(question)
    if _REFERS_BACK_JA.search(text):
        return True
    return len(text.split()) <= _SHORT_ENGLISH_WORDS and bool(_REFERS_BACK_EN.search(text))


def aspect(question: str) -> Aspect | None:
    """The first aspect the question asks about, or None."""
    text = normalize(question)
    for name, pattern in _ASPECTS:
        if pattern.search(text):
            return name
    return None
