"""Japanese text processing: lemmas and readings, so kana meets kanji and BM25 never silently scores zero."""

from __future__ import annotations

import bm25s
import numpy as np
import pytest

from assistant.corpus import load_corpus
from assistant.search.documents import lexical_document
from assistant.search.tokens import TextAnalyzer, normalize, to_katakana
from tests.conftest import CORPUS


@pytest.fixture(scope="module")
def analyzer() -> TextAnalyzer:
    return TextAnalyzer()


@pytest.fixture(scope="module")
def lexical(analyzer: TextAnalyzer) -> tuple[list[str], bm25s.BM25]:
    corpus = load_corpus(CORPUS)
    ids = list(corpus.projects)
    index = bm25s.BM25()
    index.index(
        [analyzer.tokens(lexical_document(p, corpus).page_content) for p in corpus.projects.values()],
        show_progress=False,
    )
    return ids, index


def test_normalize_is_nfkc_lowercase_single_spaced() -> None:
    assert normalize("ＡＢＣ　ｶﾀｶﾅ  病児") == "abc カタカナ 病児"
    assert to_katakana("びょうじほいく") == "ビョウジホイク"


def test_particles_and_auxiliaries_are_dropped(analyzer: TextAnalyzer) -> None:
    tokens = analyzer.tokens("子どもが熱を出して保育園に行けない")
    words = [t for t in tokens if not t.startswith(("r:", "k:"))]
    assert "子供" in words and "熱" in words and "保育" in words  # lemmas, 子ども → 子供
    assert not {"が", "を", "て", "に", "ない"} & set(words)
    assert "r:コドモ" in tokens and "r:ネツ" in tokens  # readings


def test_hiragana_meets_kanji_through_readings(analyzer: TextAnalyzer) -> None:
    kana = set(analyzer.tokens("びょうじほいく"))
    kanji = set(analyzer.tokens("病児保育"))
    assert {t for t in kana & kanji if t.startswith(("r:", "k:"))}, (kana, kanji)
    assert {"k:カイ", "k:イゴ", "k:ゴニ", "k:ニン", "k:ンテ", "k:テイ"} <= set(analyzer.tokens("かいごにんてい"))
    assert {"k:カイ", "k:イゴ", "k:ゴニ", "k:ニン", "k:ンテ", "k:テイ"} <= set(analyzer.tokens("介護認定"))


def test_english_words_are_lower_cased_and_stop_words_dropped(analyzer: TextAnalyzer) -> None:
    assert analyzer.tokens("Where can I get Sick-Child CARE?") == ["sick", "child", "care"]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("子どもが熱を出して保育園に行けない", "sick-child-care"),
        ("びょうじほいく", "sick-child-care"),
        ("手話を習いたいです", "sign-language-training"),
        ("しゅわを ならいたい", "sign-language-training"),
        ("デマンドタクシーはいつから走りますか", "shared-taxi"),
        ("かいごにんてい の しんさ", "care-certification-board"),
        ("上信電鉄の線路の維持", "joshin-railway"),
        ("断水したとき給水してもらえる？", "water-emergency-aid"),
        ("ファミサポに登録したい", "family-support-center"),
        ("sick child care", "sick-child-care"),
    ],
)
def test_bm25_scores_ordinary_questions_above_zero(
    question: str, expected: str, analyzer: TextAnalyzer, lexical: tuple[list[str], bm25s.BM25]
) -> None:
    ids, index = lexical
    scores = np.asarray(index.get_scores(analyzer.tokens(question)))
    assert scores.max() > 0, f"BM25 scored zero for {question!r}"
    assert ids[int(np.argmax(scores))] == expected


def test_latin_words_meet_without_their_diacritics(analyzer: TextAnalyzer) -> None:
    """Residents type Vietnamese, Portuguese and Spanish without accents: both spellings give one token."""
    assert analyzer.tokens("aula de língua de sinais") == analyzer.tokens("aula de lingua de sinais")
    assert analyzer.tokens("taxi đi chung giữa các thị trấn") == analyzer.tokens("taxi di chung giua cac thi tran")
    assert "cuanto" in analyzer.tokens("¿Cuánto cuesta?")
    assert "手話" in analyzer.tokens("手話の講座")  # Japanese is untouched
