"""The compact Unigram tokenizer gives the library's ids, text for text, and the library is used for any other shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from assistant.config import ROOT
from assistant.errors import ModelError
from assistant.model.onnx_backend import export_dir_for
from assistant.model.unigram import CompactUnigram, LibraryTokenizer, load_tokenizer
from tests.conftest import CORPUS

MAX_LENGTH = 512
FUZZ = settings(derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ADDED = ["<s>", "</s>", "<pad>", "<unk>", "<mask>", "<s", "s>", "<ma", "＜ｓ＞", "＜ｕｎｋ＞"]
SPACES = [" ", "  ", "\u3000", "\u3000\u3000", "\n", "\r\n", "\t", "\u00a0", "\u200b", "\ufeff", "▁", "▁▁"]


@pytest.fixture(scope="module")
def tokenizers_pair(model_dir: Path) -> tuple[CompactUnigram, object]:
    from tokenizers import Tokenizer

    file = export_dir_for(model_dir) / "tokenizer.json"
    ours = load_tokenizer(file, MAX_LENGTH)
    assert isinstance(ours, CompactUnigram), "the model's tokenizer.json should be read by the compact tokenizer"
    library = Tokenizer.from_file(str(file))
    library.enable_truncation(max_length=MAX_LENGTH)
    return ours, library


def _same(pair: tuple[CompactUnigram, object], texts: list[str]) -> None:
    ours, library = pair
    expected = [encoding.ids for encoding in library.encode_batch(texts)]  # type: ignore[attr-defined]
    got = ours.encode_ids(texts)
    differing = [text for text, a, b in zip(texts, expected, got, strict=True) if a != b]
    assert not differing, f"{len(differing)} of {len(texts)} texts tokenized differently, e.g. {differing[:3]!r}"


def _eval_texts() -> list[str]:
    texts = []
    for path in sorted((ROOT / "eval").rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            texts += [value for key, value in record.items() if key in ("question", "text") and isinstance(value, str)]
            texts += [turn["question"] for turn in record.get("turns") or [] if isinstance(turn, dict)]
    return texts


def test_every_corpus_text_and_eval_question_gets_the_library_ids(tokenizers_pair) -> None:  # type: ignore[no-untyped-def]
    corpus = [line for path in sorted(CORPUS.rglob("*.yaml")) for line in path.read_text(encoding="utf-8").splitlines()]
    source = [path.read_text(encoding="utf-8") for path in sorted((CORPUS / "source").glob("*.txt"))]
    questions = _eval_texts()
    assert len(questions) > 1000 and len(corpus) > 1000 and source
    prompted = [prefix + text for text in questions for prefix in ("query: ", "")]
    _same(tokenizers_pair, prompted + ["passage: " + line for line in corpus] + source)


def test_special_cases_get_the_library_ids(tokenizers_pair) -> None:  # type: ignore[no-untyped-def]
    texts = ["", " ", "a", "▁", "<s>", "<s><s>", "</s>x", "x<unk>", "<mask> y", "病児保育<pad>", "＜ｓ＞熱"]
    texts += [f"病児{space}保育{space}" for space in SPACES] + [space + "query" for space in SPACES]
    texts += ["𠮷野家", "😀👍🏽", "\x00\x01", "ｶﾞｲｺｸｼﾞﾝ", "①②", "Ａｂｃ", "abcdefghijklmnopqrstuvwxyz" * 3]
    texts += ["あ" * 3000, "病児保育 " * 400, "ꙮ" * 20]  # truncated at the model's length; unknown characters fused
    _same(tokenizers_pair, texts)


pieces = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=12),
    st.sampled_from(ADDED + SPACES),
    st.text(st.characters(min_codepoint=0x3040, max_codepoint=0x30FF), min_size=1, max_size=8),
    st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1, max_size=8),
    st.text(st.characters(min_codepoint=0xFF01, max_codepoint=0xFF9F), min_size=1, max_size=6),
    st.text(st.characters(min_codepoint=0x0041, max_codepoint=0x024F), min_size=1, max_size=10),
)


@FUZZ
@given(st.lists(pieces, max_size=8).map("".join))
@example("\u3000<s>\u3000")
@example("a  <unk>  b")
def test_any_text_gets_the_library_ids(tokenizers_pair, text: str) -> None:  # type: ignore[no-untyped-def]
    _same(tokenizers_pair, [text, "query: " + text])


def test_a_tokenizer_of_another_shape_is_the_library_s(minilm_dir: Path) -> None:
    from tokenizers import Tokenizer

    file = minilm_dir / "tokenizer.json"
    tokenizer = load_tokenizer(file, 128)
    assert isinstance(tokenizer, LibraryTokenizer)
    library = Tokenizer.from_file(str(file))
    library.enable_truncation(max_length=128)
    text = "Where can I get sick-child care? " * 20
    assert tokenizer.encode_ids([text]) == [library.encode(text).ids]


def _crafted(
    folder: Path,
    vocab: list[tuple[str, float]],
    *,
    prepend: str = "always",
    single: str = "<s> $A </s>",
) -> Path:
    """A small XLM-R-shaped tokenizer.json written by the library itself."""
    from tokenizers import AddedToken, Regex, Tokenizer, models, normalizers, pre_tokenizers, processors

    library = Tokenizer(models.Unigram(vocab, unk_id=3, byte_fallback=False))
    library.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    library.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme=prepend, split=True)
    library.post_processor = processors.TemplateProcessing(
        single=single, pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    library.add_special_tokens([AddedToken(token, normalized=False) for token in ("<s>", "<pad>", "</s>", "<unk>")])
    file = folder / "tokenizer.json"
    library.save(str(file))
    return file


SPECIALS = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -3.0)]


def test_a_tokenizer_file_that_pads_to_a_fixed_length_is_not_padded(minilm_dir: Path) -> None:
    """all-MiniLM-L6's tokenizer.json pads every text to 128; the engine pads, and masks, only what it pads."""
    assert json.loads((minilm_dir / "tokenizer.json").read_text(encoding="utf-8"))["padding"] is not None
    ids = LibraryTokenizer(minilm_dir / "tokenizer.json", 256).encode_ids(["hello", "a longer sentence here"])
    assert [len(row) for row in ids] == [3, 6]


def test_ties_and_unknown_runs_are_settled_as_the_library_settles_them(tmp_path: Path) -> None:
    """Scores chosen so two segmentations tie (▁ab = ▁a + b) and unknown characters sit side by side."""
    from tokenizers import Tokenizer

    vocab = SPECIALS + [("▁ab", -2.0), ("▁a", -1.0), ("b", -1.0), ("c", -1.5), ("bc", -2.5), ("▁x", -0.5), ("x", -4.0)]
    file = _crafted(tmp_path, vocab)
    ours = load_tokenizer(file, 16)
    assert isinstance(ours, CompactUnigram)
    library = Tokenizer.from_file(str(file))
    library.enable_truncation(max_length=16)
    texts = ["ab", "abc", "a b", "abx", "xyzzy", "a€€b", "ab yy c", "x<s>ab", "ab   ab", "ａｂ", "abcabcabcabcabcabc"]
    assert [library.encode(text).ids for text in texts] == ours.encode_ids(texts)
    assert ours.encode_ids(["ab"]) == [[0, 5, 2]], "the tie keeps the longer piece found first"


@pytest.mark.parametrize(
    ("vocab", "options"),
    [
        (SPECIALS + [("▁a", -1.0), ("b", -1.0)], {"prepend": "first"}),  # ▁ only before the text's first segment
        (SPECIALS + [("▁a", -1.0), ("b", -1.0)], {"single": "</s> $A <s>"}),  # another template
        (SPECIALS + [("▁a", -1.0), ("b", -1.0), ("▁a", -0.5)], {}),  # a repeated piece: the library keeps the last
    ],
)
def test_shapes_the_compact_tokenizer_does_not_reproduce_go_to_the_library(
    tmp_path: Path, vocab: list[tuple[str, float]], options: dict[str, str]
) -> None:
    from tokenizers import Tokenizer

    file = _crafted(tmp_path, vocab, **options)
    tokenizer = load_tokenizer(file, 16)
    assert isinstance(tokenizer, LibraryTokenizer)
    library = Tokenizer.from_file(str(file))
    for text in ("ab", "<s>ab", "ab</s>ab"):
        assert tokenizer.encode_ids([text]) == [library.encode(text).ids]


def test_a_damaged_tokenizer_file_is_a_model_error(tmp_path: Path) -> None:
    file = tmp_path / "tokenizer.json"
    file.write_text('{"model": ', encoding="utf-8")
    with pytest.raises(ModelError, match="cannot read the tokenizer"):
        load_tokenizer(file, 16)


def test_added_tokens_the_library_would_read_otherwise_go_to_the_library(tmp_path: Path, model_dir: Path) -> None:
    """An added token whose id is not its vocabulary id, an empty one, or an unknown id out of range."""
    config = json.loads((export_dir_for(model_dir) / "tokenizer.json").read_text(encoding="utf-8"))
    changes = [
        lambda c: c["added_tokens"][-1].update(id=7),
        lambda c: c["added_tokens"].append({**c["added_tokens"][0], "content": "", "id": 250002}),
        lambda c: c["model"].update(unk_id=len(c["model"]["vocab"])),
    ]
    for number, change in enumerate(changes):
        changed = json.loads(json.dumps(config))
        change(changed)
        file = tmp_path / f"tokenizer-{number}.json"
        file.write_text(json.dumps(changed), encoding="utf-8")
        try:
            tokenizer = load_tokenizer(file, MAX_LENGTH)
        except ModelError:
            continue  # the library refuses it too (an unknown id out of range): a clear error, not wrong ids
        assert isinstance(tokenizer, LibraryTokenizer), number
