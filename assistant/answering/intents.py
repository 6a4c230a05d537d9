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
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from assistant.languages import LanguagePack
from assistant.search.tokens import normalize

Aspect = Literal["where", "who", "when", "cost", "contact", "apply"]

# Japanese: "…の事業を全部 / 事業はどれ / 取り組みには何が", "全部教えて / 一覧で見せて", "どんな事業".
_LIST_JA = re.compile(
    r"(事業|じぎょう|サービス|さーびす|取り組み|取組|とりくみ|連携|プロジェクト|制度).{0,12}"
    r"(全部|ぜんぶ|すべて|全て|一覧|いちらん|どれ|何が|なにが|どんな|いくつ|何件|まとめて)|"
    r"(全部|ぜんぶ|すべて|全て|一覧|いちらん)(で)?(を)?(教え|おしえ|知りたい|しりたい|見せ|みせ|出して|挙げ)|"
    r"(どんな|どういう|何の|なんの)(事業|じぎょう|取り組み|とりくみ|サービス)"
)
_REFERS_BACK_JA = re.compile(
    r"^(?!それと|それから|それに|それで|これから|あれから)(それ|そこ|その|そちら|あれ|これ|この|そういう|そっち)|それ(は|って|の|に|を|で|も)|そこ(は|って|に|へ|の|で|まで)|"
    # 「その」「この」 before a noun point back (その講座, このチーム), except in set phrases (その他, その後 …)
    # and in 「どこの」 (which), a question word (but 「…けど この講座」 still points back).
    r"その(?!他|ほか|後|あと|上|うえ|まま|ため|場|時|とき|際|辺|くらい|ぐらい)[一-龯ァ-ヶー]|(?<!(?<![けなほ])ど)この(?!前|間|辺|先|まま|後|たび|度)[一-龯ァ-ヶー]"
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


# "Can I use it?": a question about whether the resident may use a service (not how a service works).
_ELIGIBILITY = re.compile(
    r"(使え|つかえ|利用でき|りようでき|参加でき|さんかでき|預けられ|あずけられ|受けられ|うけられ|申し込め|もうしこめ|"
    r"登録でき|入れ|使っても|利用して(も)?いい|対象|対象にな(り|る|ってい))(ます|る|ない|ません)?(か|の|\?|？|$)|"
    r"\b(can i|could i|may i|can we|can my|am i eligible|are we eligible|is it open to|available to)\b|"
    r"\bapply to (me|us)\b|"
    r"(能|可以)(用|使用|参加|利用)吗|"
    r"¿puedo|\bposso\b|\bpodemos\b|có thể .*không|\bbisa\b|\bboleh\b|\bpwede\b|\bmaaari\b"
)


def asks_eligibility(question: str) -> bool:
    """Whether the question asks if the resident may use something (「使えますか」, "can I use")."""
    return bool(_ELIGIBILITY.search(normalize(question)))


@dataclass(frozen=True)
class CueHits:
    """Which list cues a question holds (see :class:`ListCues`)."""

    japanese_list: bool
    several: bool
    services: bool
    usable: bool


class ListCues:
    """Recognises a request for several projects, in every answer language, from the language files' cues.

    A question asks for a list when it has a word asking for several ("all", "todos", "tất cả", 「全部」)
    and a word for the joint projects or services ("services", "dự án", 「事業」), a category or the
    resident's town (「南牧村で使えるのは全部でいくつ？」 is a list of that town's projects); or it names a
    category and the projects (「交通関係の連携事業は？」). With the resident's town known, "what can I
    use?" (「しもにたまちの ひとが つかえる もの」) asks for that town's projects too (see the service).
    """

    def __init__(self, packs: Iterable[LanguagePack]) -> None:
        packs = list(packs)
        self._list = _words([w for p in packs for w in p.cues.several])
        self._services = _words([w for p in packs for w in p.cues.services])
        self._usable = _words([w for p in packs for w in p.cues.usable])

    def read(self, question: str) -> CueHits:
        """The cues the question holds."""
        text = normalize(question)
        return CueHits(
            japanese_list=bool(_LIST_JA.search(text)),
            several=bool(self._list.search(text)),
            services=bool(self._services.search(text)),
            usable=bool(self._usable.search(text)),
        )

    def asks_for_projects(self, question: str) -> bool:
        """The question asks for several projects or services themselves: 「まとめて教えて」, or a word
        for several beside a word for projects or services (「事業を全部」, "which joint projects").
        Stricter than :meth:`asks_for_list`, where a named category or town stands in for the latter."""
        hits = self.read(question)
        return hits.japanese_list or hits.several and hits.services

    def asks_for_list(self, question: str, *, category: bool = False, town: bool = False) -> bool:
        """Whether the question asks for several projects (``category`` / ``town``: it names one)."""
        hits = self.read(question)
        if hits.japanese_list:
            return True
        return hits.several and (hits.services or category or town) or category and hits.services


def _words(words: list[str]) -> re.Pattern[str]:
    """Latin words match whole words only; other scripts as substrings."""
    parts = []
    for word in sorted({normalize(w) for w in words if w.strip()}, key=len, reverse=True):
        escaped = re.escape(word)
        parts.append(rf"\b{escaped}\b" if re.match(r"[a-zà-ɏḁ-ỿ]", word) else escaped)
    return re.compile("|".join(parts) or r"(?!x)x")


def is_list_request(question: str) -> bool:
    """Whether a Japanese question asks for several projects at once (see :class:`ListCues` for every language)."""
    return bool(_LIST_JA.search(normalize(question)))


def refers_back(question: str) -> bool:
    """Whether the question points at something said before (それ, there, it …)."""
    text = normalize(question)
    if _REFERS_BACK_JA.search(text):
        return True
    return len(text.split()) <= _SHORT_ENGLISH_WORDS and bool(_REFERS_BACK_EN.search(text))


def aspect(question: str) -> Aspect | None:
    """The first aspect a Japanese or English question asks about, or None (:class:`TurnCues`: any language)."""
    text = normalize(question)
    for name, pattern in _ASPECTS:
        if pattern.search(text):
            return name
    return None


# Going back to an earlier topic of the conversation (other languages: ``cues.returns``).
_RETURNS = re.compile(
    r"さっき|先ほど|先程|前の話|最初の|はじめの|(最初|はじめ|前|まえ)に(聞|き)いた|(話|件|ほう|方)に(戻|もど)|(戻|もど)(る|って|り)けど|"
    r"\b(back to|go back|going back|earlier|the first (one|thing)|you mentioned)\b"
)


# Saying the topic changes: 「話変わるけど」, 「ところで」, "by the way", "another question".
_SWITCHES = re.compile(
    r"話(は|が)?(変|か)わ|ところで|別の(質問|話|件)|べつの(しつもん|はなし)|"
    r"\b(by the way|btw|another question|different question|unrelated question|on another note)\b"
)


# Choosing between the projects the conversation has brought up: 「どっちに頼めばいい？」, "which one".
_CHOOSES = re.compile(r"どっち|どちら|\bwhich (one|of (them|these|those|the two))\b|哪个|哪一个")


# Pointing-back words of other languages count only in a short question, like English pronouns:
# up to this many words, or characters where words are not separated by spaces (中文, ภาษาไทย).
_SHORT_UNSPACED_CHARS = 24


class TurnCues:
    """What a question asks and whether it points back, in every answer language.

    Japanese and English use the patterns of this module; the other languages the words of their
    language files (``cues.aspects`` and ``cues.refers``), so 「Hanggang anong oras po bukas?」 asks
    *when* as 「何時まで開いてる？」 does.
    """

    def __init__(self, packs: Iterable[LanguagePack]) -> None:
        packs = list(packs)
        self._aspects = [
            (name, _words([w for p in packs for w in p.cues.aspects.get(name, [])])) for name, _ in _ASPECTS
        ]
        self._refers = _words([w for p in packs for w in p.cues.refers])
        self._returns = _words([w for p in packs for w in p.cues.returns])

    def aspect(self, question: str) -> Aspect | None:
        """The first aspect the question asks about, or None."""
        found = aspect(question)
        if found is not None:
            return found
        text = normalize(question)
        for name, pattern in self._aspects:
            if pattern.search(text):
                return name
        return None

    def returns(self, question: str) -> bool:
        """Whether the question goes back to an earlier topic (「さっきの…」, "back to", 「아까」)."""
        text = normalize(question)
        return bool(_RETURNS.search(text) or self._returns.search(text))

    def switches(self, question: str) -> bool:
        """Whether the question says it changes the topic (「話変わるけど」, "by the way")."""
        return bool(_SWITCHES.search(normalize(question)))

    def chooses(self, question: str) -> bool:
        """Whether the question asks which of the projects already brought up (「どっち」, "which one")."""
        return bool(_CHOOSES.search(normalize(question)))

    def refers_back(self, question: str) -> bool:
        """Whether the question points at something said before (それ, there, đó, 那个 …)."""
        if refers_back(question):
            return True
        text = normalize(question)
        words = text.split()
        short = len(words) <= _SHORT_ENGLISH_WORDS if len(words) > 1 else len(text) <= _SHORT_UNSPACED_CHARS
        return short and bool(self._refers.search(text))
