"""What a Japanese question says it is not about: 「公民館じゃなくて体育館」, 「熱がないときに」.

A word the resident negates is still a word of the question, and both searches read it as asked
for: 「熱がないときに近所の人が子どもを預かってくれるやつ」 has 熱, so meaning and words alike pull
it to sick-child care, the one thing it rules out. The question is also searched without such a
phrase (``Assistant.evidence``), and that reading is the question's when it is confident on its
own of another project: the part of speech cannot tell a symptom ruled out (熱) from a thing the
resident lacks and asks about (「介護認定がない場合でも使えますか」), but the search can. Two forms of the grammar
are read, by fugashi's parts of speech and lemmas, never by a list of nouns:

- **Not A, but …**: nouns, then a copula negated in its joining form (じゃなく(て), ではなく,
  でなく) with more of the question after it. 「Aだけじゃなくて」 ("not only A") and
  「Aじゃなくても」 ("even if not A") keep A; so does 「Aじゃなくて？」 (a tag question).
- **When there is no A, when it is not A**: nouns, a particle (が, は, も) or a copula (じゃ,
  では), ない, then 時 / とき / 場合 / 日 (「熱がないとき」, 「病気じゃない日」).

A is the run of nouns written together just before (「病児保育の予約じゃなくて」 rules out 予約,
not 病児保育). Left alone: a negation that ends the question (「病児保育はないですか」 asks whether
there is one), a negated verb (「保育園に行けない」 is the need), and 「Aがなくて」 (lack: what is
missing is what the resident asks for).

Example::

    reading = NegationReader(TextAnalyzer())
    reading.without("公民館じゃなくて体育館のほうも使える？")   # '体育館のほうも使える？'
"""

from __future__ import annotations

from assistant.search.tokens import TextAnalyzer, Word

_NOUN_POS1 = {"名詞", "接尾辞", "接頭辞", "代名詞"}
_ABSENCE_PARTICLES = {"が", "は", "も"}
_WHEN = {"時", "場合", "日"}
_PUNCTUATION_POS1 = {"補助記号", "空白", "記号"}
_NEGATIONS = ("ない", "なく", "無い", "無く")
"""The surfaces of 無い both forms are read from: a text holding none is not parsed (the hot path)."""
_READING_TOKENS = ("k:", "r:")
"""BM25 tokens of a text's kana reading: even 「とき」 has them, so they say nothing is left to search."""


class NegationReader:
    """Finds the phrases a Japanese question negates, and reads the question without them."""

    def __init__(self, analyzer: TextAnalyzer) -> None:
        self.analyzer = analyzer

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of each negated phrase: its nouns through the negation (and a joining て, 、)."""
        if not any(negation in text for negation in _NEGATIONS):
            return []
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
        """``text`` without its negated phrases; ``text`` itself when there are none, or when what is
        left has no word to search for (「熱がないとき」 → 「とき」)."""
        spans = self.spans(text)
        if not spans:
            return text
        kept, position = [], 0
        for start, end in spans:
            kept.append(text[position:start])
            position = max(position, end)
        kept.append(text[position:])
        rest = " ".join(part.strip() for part in kept if part.strip())
        words = [t for t in self.analyzer.tokens(rest) if not t.startswith(_READING_TOKENS)]
        return rest if words else text


def _noun_run_start(words: list[Word], last: int) -> int | None:
    """The first word of the run of nouns written together and ending at ``last`` (None if ``last``
    is not a noun). A space ends the run: 「ファミサポ 熱がないとき」 rules out 熱 only."""
    first = last
    while first >= 0 and words[first].pos1 in _NOUN_POS1:
        if first < last and words[first].end != words[first + 1].start:
            break
        first -= 1
    return first + 1 if first < last else None


def _copula(word: Word) -> bool:
    return word.surface in ("じゃ", "で") and word.pos1 == "助動詞"


def _absence_particle(word: Word) -> bool:
    return word.surface in _ABSENCE_PARTICLES and word.pos1 == "助詞"


def _negated_copula_start(words: list[Word], k: int) -> int | None:
    """The index of the copula negated by ``words[k]`` (じゃ, で, or で of では), if it is one."""
    before = k - 1
    if before >= 1 and words[before].surface == "は" and words[before - 1].surface == "で":
        return before - 1
    return before if before >= 1 and _copula(words[before]) else None


def _not_but(words: list[Word], k: int) -> tuple[int, int] | None:
    """「AじゃなくてB」, 「AではなくB」, 「AでなくB」: A's span, through the negation and a joining て."""
    if words[k].surface not in ("なく", "無く"):
        return None
    copula = _negated_copula_start(words, k)
    if copula is None:
        return None
    first = _noun_run_start(words, copula - 1)  # 「だけじゃなくて」: a particle ends A, and A is kept
    if first is None:
        return None
    end = k + 1
    if end < len(words) and words[end].surface == "て":
        end += 1
        if end < len(words) and words[end].surface == "も":
            return None  # 「会員じゃなくても頼める？」: even if not A
    if all(word.pos1 in _PUNCTUATION_POS1 for word in words[end:]):
        return None  # 「それって病児保育じゃなくて？」: a tag question, asking about A
    while end < len(words) and words[end].pos1 in _PUNCTUATION_POS1:
        end += 1
    return words[first].start, words[end - 1].end


def _when_absent(words: list[Word], k: int) -> tuple[int, int] | None:
    """「Aがないときに」, 「Aじゃない日」: A's span, through ない (the time it speaks of is kept)."""
    if words[k].surface not in ("ない", "無い") or k + 1 >= len(words) or words[k + 1].lemma not in _WHEN:
        return None
    if k >= 2 and _absence_particle(words[k - 1]):
        before = k - 1
    elif (copula := _negated_copula_start(words, k)) is not None:
        before = copula
    else:
        return None
    first = _noun_run_start(words, before - 1)
    if first is None:
        return None
    return words[first].start, words[k].end
