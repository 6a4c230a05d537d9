"""Where the resident lives, and whether a question is about another municipality's services.

The zone's towns are written many ways: 下仁田町, しもにた, Shimonita, Shimonita Town, or a district
(大字) inside it such as 馬山 or 大日向 (``corpus/zone.yaml`` lists them). A place outside the zone
(高崎, Tokyo …) matters only in some roles:

- **residence** (「高崎に住んでいます」, "I live in Takasaki", 「前橋市民です」): the resident's town is
  not a member town, so no joint project covers them;
- **service location** (「前橋市の病児保育」, "sick child daycare in Takasaki"): the question asks about
  that place's services, which this assistant does not cover;
- **origin** (「東京から引っ越してきました」, "I moved from Osaka") and **names** (「太田です」, 「太田さん」):
  neither, and they are ignored.

「大日向です。」 opening a sentence is where the caller is, the way one answers the phone, unless UniDic
(the dictionary fugashi already loads) reads the place as a surname: 「岡本です。」 and 「太田です。」 are
people. A member town named beside "うちも" / "my town too" is the other town, not the resident's.

Roles are read from the grammar around the name (particles, verbs of living and moving, honorifics),
not from a list of sentences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.answering.answers import ResidentTown
from assistant.answering.validation import clean
from assistant.corpus import Zone
from assistant.search.tokens import TextAnalyzer, normalize

_RESIDE_AFTER = (
    r"\s?(?:に|で)?\s?(?:住んで|住む|住み|すんで|すむ|住まい|在住|暮らし|くらし|くらして|暮らして)"
    r"|(?:市民|町民|村民|民|の住民|住民|の者|のもの|のもん)"
)
# 「砥沢で母と二人で暮らしてます」: the place, then a few words, then the verb of living, in one clause.
_RESIDE_NEAR_AFTER = r"\s?(?:に|で)[^。．.!?！？、,]{0,10}?(?:住んで|住み|すんで|暮らして|くらして|暮らし|くらし)"
_FROM_AFTER = (
    r"で(?:も)?(?:使え|つかえ|利用でき|りようでき|受けられ|うけられ)"
    r"|から(?:でも|も|は)?(?:.{0,6})(?:使|利用|つか|りよう|行|い[けき]|通|かよ|頼|たの|申し込|もうしこ|参加)"
)
_ORIGIN_AFTER = r"から(?:引っ越|ひっこ|越して|転入|転居|移|来|き[たま])|出身"
_NAME_AFTER = r"(?:さん|様|さま|くん|君|ちゃん|氏|です[。、!！]|と申します|といいます|と言います)"
# A member town named as where a service is: 「富岡市で受け入れる」, 「富岡市が受け入れ」, 「富岡まで」.
_SERVICE_AT_AFTER = (
    r"(?:で(?!す|も?(?:使え|つかえ|利用でき|りようでき|受けられ|うけられ))"
    r"|にある|が(?:受け入れ|うけいれ|やって|実施)|まで|へ|の(?:方|ほう)で)"
)
_PLACE_OF_SERVICE_AFTER = r"(?:市|町|村)?(?:の|で|にある|に(?:も|は)?あ[るり]|内|周辺|近く|辺り|あたり)"
_EN_RESIDE_BEFORE = (
    r"\b(?:live|living|lives|reside|residing|staying|stay|based|moved to|move to|i'm|i am|we're|we are)"
    r"\s+(?:in|at|to|from)?\s*"
)
# 「うちは下仁田なんだけど」, 「私は甘楽町の者です」: the place right after "my home is" / "I am".
_JA_RESIDE_BEFORE = r"(?:うちは|家は|いえは|自宅は|住所は|わたしは|私は|実家は)\s?"
_EN_RESIDE_AFTER = r"\s+(?:resident|residents|citizen)"
_EN_ORIGIN_BEFORE = r"\b(?:moved|moving|came|come|relocated)\s+(?:here\s+)?from\s+"
_EN_SERVICE_BEFORE = r"\b(?:in|at|near|around)\s+"
# Romance, Vietnamese, Tagalog and Indonesian "I live in": the place after these words is home.
_OTHER_RESIDE_BEFORE = (
    r"(?:sống ở|ở tại|moro em|moro no|moro na|vivo em|vivo en|resido en|resido em|nakatira sa|nakatira ako sa|"
    r"tinggal di|saya di|domisili|住在|家在|อาศัยอยู่ที่|อยู่ที่)\s*"
)
# Korean and Nepali say it after the place: 「난모쿠에 사는데」, 「नानमोकुमा बस्छु」.
_OTHER_RESIDE_AFTER = r"\s?(?:에|에서)\s?(?:살|사는|삽니다|거주)|(?:मा)\s?(?:बस्छु|बस्छौं|बस्ने|बस्दै)"
# 「大日向です。」 opening a message: "this is <place>", the way a caller says where they are from.
_INTRO_AFTER = r"です(?:[。、,.!！?？\s]|$)"
_INTRO_BEFORE = (
    r"(?:^|[。．.!?！？]\s?|(?:こんにちは|こんばんは|おはようございます|すみません|すいません)[、,。!！]?\s?)$"
)
# 「甘楽町の…、うちも対象？」, "does it cover my town too?": the resident's home is another place
# than the member town the question names, so that town is not theirs.
_PLACE_OF_MINE = r"の(?:町|まち|村|むら|市|地区|地域|ほう|方|ところ|とこ)"
_HOME_TOO = (
    # うち/家 standing alone (not the 家 of 空き家), or I/my with a place word: 「私も」 alone is "me too".
    rf"(?<![ぁ-んァ-ヶ一-龯])(?:うち|家|いえ|自宅)(?:{_PLACE_OF_MINE})?も"
    rf"|(?:わたし|私|僕|ぼく|俺|おれ){_PLACE_OF_MINE}も"
    r"|\b(?:my|our)\s+(?:town|village|city|area|place)\s+(?:too|also|as well)\b|\b(?:us|ours)\s+too\b"
)
_PLACE_SUFFIX = r"(?:市|町|村|県|都|府)"
# Names that are part of a facility's name, not a place of residence.
_FACILITY_AFTER = r"(?:総合病院|病院|駅|線|高校|中学|小学|IC|インター)"


@dataclass(frozen=True)
class PlaceMention:
    """A place outside the zone named in a question, and the role it plays there."""

    place: str
    role: str  # "residence", "service" or "other"


def _names_pattern(names: list[str]) -> str:
    ordered = sorted({normalize(n) for n in names if n.strip()}, key=len, reverse=True)
    return "|".join(re.escape(n) for n in ordered)


class TownFinder:
    """Recognises the resident's town and mentions of places outside the zone in a question.

    Example::

        finder = TownFinder(corpus.zone)
        finder.resident("しもにたに すんで います")   # ResidentTown('下仁田町')
    """

    def __init__(self, zone: Zone, analyzer: TextAnalyzer | None = None) -> None:
        self.members = list(zone.members)
        self._forms: list[tuple[str, re.Pattern[str], re.Pattern[str]]] = []
        for town in zone.towns:
            names = [town.name, *town.kana, *town.other]
            latin = list(town.latin)
            core = _names_pattern(names)
            latin_core = _names_pattern(latin)
            readings = [r for rs in town.readings.values() for r in rs]
            # Short kana readings (うだ, そぎ) hide inside ordinary words: only readings of 3 or more.
            district = _names_pattern([*town.districts, *(r for r in readings if not r.isascii() and len(r) >= 3)])
            district_latin = _names_pattern([r for r in readings if r.isascii()])
            spelled = rf"(?:{core})" + (rf"|\b(?:{latin_core})\b" if latin_core else "")
            in_district = rf"(?:{district})" + (rf"|\b(?:{district_latin})\b" if district_latin else "")
            self._forms.append((town.name, re.compile(spelled), re.compile(in_district) if district else _NEVER))
        outside = _names_pattern(zone.outside_places)
        self._outside = re.compile(rf"(?:{outside}){_PLACE_SUFFIX}?") if outside else _NEVER
        # A place the dictionary reads as a surname (岡本, 太田, 小幡) may be a person: 「岡本です」 is a name.
        analyzer = analyzer or TextAnalyzer()
        places = [*(d for town in zone.towns for d in town.districts), *zone.outside_places]
        surnames = {normalize(place) for place in places if analyzer.reads_as_person(place)}
        # A district's readings are the same surname in kana or romaji: おかもと, Okamoto.
        self._surnames = surnames | {
            normalize(r)
            for town in zone.towns
            for d, rs in town.readings.items()
            if normalize(d) in surnames
            for r in rs
        }
        self._lookup = {
            normalize(n): town.name for town in zone.towns for n in [town.name, *town.kana, *town.latin, *town.other]
        }

    def without(self, text: str) -> str:
        """The question with every member town and district it names taken out (normalized)."""
        question = normalize(text)
        for _, spelled, districts in self._forms:
            question = districts.sub(" ", spelled.sub(" ", question))
        return " ".join(question.split())

    def parse(self, value: str | None) -> ResidentTown | None:
        """A town given by a channel (``/v1/ask``'s ``town``): a member by any of its names, else outside."""
        value = clean(value) if value is not None else ""
        if not value:  # absent, empty, or nothing visible (zero-width, bidi marks): no town
            return None
        key = normalize(value)
        if key in self._lookup:
            return ResidentTown(self._lookup[key])
        for name, spelled, districts in self._forms:
            if spelled.fullmatch(key) or districts.fullmatch(key):
                return ResidentTown(name)
        return ResidentTown(value, member=False)

    def resident(self, text: str, *, said: bool = False) -> ResidentTown | None:
        """The resident's town as the question states it, or None.

        A member town named as where the resident lives (or uses a service from) wins; then a
        district of a member town in a place role (「馬山に住んでいます」); then (unless ``said`` asks
        only for towns said to be home) a member town named at all, neither as part of a facility's
        name (富岡総合病院) nor as where a service is (「富岡市で受け入れる」). A place outside the
        zone named as the residence gives a non-member town.
        """
        question = normalize(text)
        found: list[tuple[int, int, str]] = []  # (priority, position, town)
        for name, spelled, districts in self._forms:
            for match in spelled.finditer(question):
                after = question[match.end() :]
                before = question[: match.start()]
                if re.match(_FACILITY_AFTER, after):
                    continue
                if re.match(_ORIGIN_AFTER, after):
                    continue
                home = (
                    _lives_there(before, after)
                    or re.search(_JA_RESIDE_BEFORE + "$", before)
                    or re.match(_FROM_AFTER, after)
                    or re.match(_EN_RESIDE_AFTER, after)
                )
                if home:
                    found.append((0, match.start(), name))
                elif not (re.match(_SERVICE_AT_AFTER, after) or re.search(_EN_SERVICE_BEFORE + "$", before)):
                    found.append((2, match.start(), name))
            for match in districts.finditer(question):
                after = question[match.end() :]
                before = question[: match.start()]
                if (
                    _lives_there(before, after)
                    or re.match(r"(?:地区|地域|の方|のほう|あたり|辺り)", after)
                    or self._introduces(match.group(0), before, after)
                ):
                    found.append((1, match.start(), name))
        outside = [m for m in self.places_outside(text) if m.role == "residence"]
        if said or re.search(_HOME_TOO, question):  # only towns said to be home (beside "うちも", named ones are not)
            found = [f for f in found if f[0] < 2]
        if found:
            found.sort()
            best = found[0]
            if best[0] == 0 or not outside:
                return ResidentTown(best[2])
        if outside:
            return ResidentTown(outside[0].place, member=False)
        return None

    def places_outside(self, text: str) -> list[PlaceMention]:
        """Every place outside the zone the question names, with its role."""
        question = normalize(text)
        mentions = []
        for match in self._outside.finditer(question):
            after = question[match.end() :]
            before = question[: match.start()]
            place = match.group(0)
            if self._introduces(place, before, after):
                role = "residence"
            elif (
                re.match(_NAME_AFTER, after)
                or re.match(_ORIGIN_AFTER, after)
                or re.search(_EN_ORIGIN_BEFORE + "$", before)
            ):
                role = "other"
            elif _lives_there(before, after) or re.match(_EN_RESIDE_AFTER, after):
                role = "residence"
            elif re.match(_PLACE_OF_SERVICE_AFTER, after) or re.search(_EN_SERVICE_BEFORE + "$", before):
                role = "service"
            else:
                role = "other"
            mentions.append(PlaceMention(place, role))
        return mentions

    def _introduces(self, place: str, before: str, after: str) -> bool:
        """「大日向です。」 opening a sentence, with a place the dictionary does not read as a surname."""
        return (
            bool(re.match(_INTRO_AFTER, after) and re.search(_INTRO_BEFORE, before))
            and re.sub(_PLACE_SUFFIX + "$", "", place) not in self._surnames
        )

    def names_member(self, text: str) -> bool:
        """Whether the question names any member town or its district at all."""
        question = normalize(text)
        return any(spelled.search(question) or districts.search(question) for _, spelled, districts in self._forms)


def _lives_there(before: str, after: str) -> bool:
    """The words around a place say the resident lives there, in any language (「…に住んでいます」,
    「…で母と暮らしてます」, "I live in …", 「난모쿠에 사는데」, "tinggal di …")."""
    return bool(
        re.match(_RESIDE_AFTER, after)
        or re.match(_RESIDE_NEAR_AFTER, after)
        or re.match(_OTHER_RESIDE_AFTER, after)
        or re.search(_EN_RESIDE_BEFORE + "$", before)
        or re.search(_OTHER_RESIDE_BEFORE + "$", before)
    )


_NEVER = re.compile(r"(?!x)x")
