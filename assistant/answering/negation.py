"""What a Japanese question says it is not about: 「公民館じゃなくて体育館」, 「熱がないときに」.

A word the resident negates is still a word of the question, and both searches read it as asked
for: 「熱がないときに近所の人が子どもを預かってくれるやつ」 has 熱, so meaning and words alike pull
it to sick-child care, the one thing it rules out. The search reads the question without such a
phrase. Two forms of the grammar are read, both by fugashi's parts of speech, never by a list of words:

- **Not A, but …**: nouns, then a copula negated in its joining form (じゃなく(て), ではなく,
  でなく). 「Aだけじゃなくて」 ("not only A") keeps A.
- **When there is no A, when it is not A**: nouns, a particle (が, は, も) or a copula (じゃ,
  では), ない, then 時 / とき / 場合 / 日 (「熱がないとき」, 「病気じゃない日」).

Left alone on purpose: a negation that ends the question (「病児保育はないですか」 asks whether
there is one), a negated verb (「保育園に行けない」 is the need), and lack (「足がなくて困っています」:
what is missing is what the resident asks for).

Example::

    reading = NegationReader(TextAnalyzer())
    reading.without("公民館じゃなくて体育館のほうも使える？")   # '体育館のほうも使える？'
"""

from __future__ import annotations

from assistant.search.tokens import TextAnalyzer, Word

_NOUN_POS1 = {"名詞", "接尾辞", "接頭辞", "代名詞"}
_ABSENCE_PARTICLES = {"が", "は", "も"}
_WHEN = {"時", "場合", "日"}
_TRAILING_POS1 = {"補助記号", "空白"}


class NegationReader:
    """Finds the phrases a Japanese question negates, and reads the question without them."""

    def __init__(self, analyzer: TextAnalyzer) -> None:
        self.analyzer = analyzer

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of each negated phrase: its nouns through the negation (and a joining て, 、)."""
        words = self.analyzer.words(text)
        found: list[tuple[int, int]] = []
        for k, word in enumerate(words):
            if word.pos1 != "形容詞" or word.lemma != "無い":
                continue
            span = _not_but(words, k) or _when_absent(words, k)
            if span is not None:
                found.append(span)
        return found

    def without(self, text: str) -> str:
        """``text`` without its negated phrases; ``text`` itself when there are none, or nothing would be left."""
        spans = self.spans(text)
        if not spans:
            return text
        kept, position = [], 0
        for start, end in spans:
            kept.append(text[position:start])
            position = max(position, end)
        kept.append(text[position:])
        rest = "".join(kept).strip()
        return rest if any(c.isalnum() for c in rest) else text


def _noun_run_start(words: list[Word], last: int, *, through_no: bool = False) -> int | None:
    """The first word of the run of nouns ending at ``last``, or None if ``last`` is not a noun.
    With ``through_no``, nouns joined by の are one run (「役場の職員向け」)."""
    first = last
    while first >= 0 and words[first].pos1 in _NOUN_POS1:
        first -= 1
        if through_no and first >= 1 and words[first].surface == "の" and words[first - 1].pos1 in _NOUN_POS1:
            first -= 1
    return first + 1 if first < last else None


def _copula(word: Word) -> bool:
    return word.surface in ("じゃ", "で") and word.pos1 == "助動詞"


def _absence_particle(word: Word) -> bool:
    return word.surface in _ABSENCE_PARTICLES and word.pos1 == "助詞"


def _not_but(words: list[Word], k: int) -> tuple[int, int] | None:
    """「AじゃなくてB」, 「AではなくB」, 「AでなくB」: A's span, through the negation and a joining て."""
    if not words[k].surface.startswith("なく"):
        return None
    before = k - 1
    if before >= 1 and words[before].surface == "は" and words[before - 1].surface == "で":
        before -= 1
    elif before < 1 or not _copula(words[before]):
        return None
    first = _noun_run_start(words, before - 1, through_no=True)  # 「だけじゃなくて」: a particle ends A, which is kept
    if first is None:
        return None
    end = k + 1
    while end < len(words) and (words[end].surface == "て" or words[end].pos1 in _TRAILING_POS1):
        end += 1
    return words[first].start, words[end - 1].end


def _when_absent(words: list[Word], k: int) -> tuple[int, int] | None:
    """「Aがないときに」, 「Aじゃない日」: A's span, through ない (the time it speaks of is kept)."""
    if words[k].surface != "ない" or k + 1 >= len(words) or words[k + 1].lemma not in _WHEN:
        return None
    before = k - 1
    if before >= 1 and words[before].surface == "は" and words[before - 1].surface == "で":
        before -= 1  # 「病気ではない時」
    elif before < 1 or not _absence_particle(words[before]) and not _copula(words[before]):
        return None
    first = _noun_run_start(words, before - 1)
    if first is None:
        return None
    return words[first].start, words[k].end
