"""A Unigram tokenizer that keeps its 250k-piece vocabulary in a dict instead of a trie of hash maps.

``tokenizers``' own Unigram model builds a byte trie whose every node is a hash map: for
multilingual-e5-small's 250,002 pieces that is about 280 MB resident in each worker, more than
the ONNX session, against 40 MB for this class (``scripts/memory_parts.py``). This module keeps
the library for everything around the model and replaces only the search:

- ``tokenizers`` still normalizes (the model's precompiled character map and its ``Replace``) and
  pre-tokenizes (``Metaspace``), from the same ``tokenizer.json``, through the library's own
  normalizer and pre-tokenizer objects;
- the added tokens (``<s>``, ``</s>``, ``<pad>``, ``<unk>``, ``<mask>``) are cut out of the raw text
  first, leftmost and longest, as the library does for tokens that are not normalized;
- each pre-token is segmented by the same Viterbi search as ``tokenizers``' ``Unigram::encode``
  (sentencepiece's ``EncodeOptimized``): candidates by increasing length from each start, a
  candidate replaces the best path only when strictly better, a character that is not itself a
  piece may also be read as unknown at the lowest score minus 10, and runs of unknown characters
  fuse into one ``<unk>``;
- the template adds ``<s>`` and ``</s>``, after truncating to the model's length.

:func:`load_tokenizer` uses it only for a ``tokenizer.json`` of exactly that shape and returns
the library's ``Tokenizer`` otherwise. ``tests/model/test_unigram.py`` checks the ids against
the library on every corpus text and eval question and on generated text of every kind;
``assistant model verify`` checks them against sentence-transformers.

Example::

    tokenizer = load_tokenizer(export_dir / "tokenizer.json", max_length=512)
    tokenizer.encode_ids(["query: 病児保育はどこ"])   # [[0, 41, 1294, 12, 6, ...,  2]]
"""

from __future__ import annotations

import json
import re
from array import array
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from assistant.errors import ModelError

UNK_PENALTY = 10.0
"""What an unknown character costs below the lowest piece score (``kUnkPenalty`` in sentencepiece)."""


class TokenIds(Protocol):
    """What the ONNX engine needs from a tokenizer: the ids of each text, special tokens and truncation included."""

    def encode_ids(self, texts: list[str]) -> list[list[int]]: ...


class LibraryTokenizer:
    """``tokenizers.Tokenizer`` behind :class:`TokenIds`, for a ``tokenizer.json`` of any other shape."""

    def __init__(self, file: Path, max_length: int) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(file))
        self._tokenizer.enable_truncation(max_length=max_length)
        # The engine pads a batch itself and masks only what it padded; a tokenizer.json that pads
        # every text to a fixed length (all-MiniLM-L6's, to 128) would have its pads read as words.
        self._tokenizer.no_padding()

    def encode_ids(self, texts: list[str]) -> list[list[int]]:
        return [encoding.ids for encoding in self._tokenizer.encode_batch(texts)]


class _Parts(NamedTuple):
    """What :class:`CompactUnigram` keeps of a ``tokenizer.json``, taken out before the parsed file is let go."""

    pieces: str
    """Every piece, in id order, joined by NUL (no piece holds one)."""
    scores: array[float]
    unk_id: int
    added: list[tuple[str, int]]
    bos: int
    eos: int
    shell: str
    """The file with a one-piece model and no added tokens or template: the library's normalizer and pre-tokenizer."""


def _parts(text: str) -> _Parts | None:
    """The parts of a ``tokenizer.json`` of the shape :class:`CompactUnigram` reproduces exactly, else None.

    Raises:
        ValueError: the file is not JSON.
    """
    config = json.loads(text)
    try:
        if not _supported(config):
            return None
        vocab: list[list[Any]] = config["model"]["vocab"]
        pieces = [piece for piece, _ in vocab]
        if any("\0" in piece for piece in pieces) or len(set(pieces)) != len(pieces):
            return None  # the library keeps the last of a repeated piece; not worth reproducing
        added = [(token["content"], token["id"]) for token in config["added_tokens"]]
        if not 0 <= config["model"]["unk_id"] < len(pieces) or any(
            not content or not 0 <= token_id < len(pieces) or pieces[token_id] != content for content, token_id in added
        ):
            return None  # an added token outside the vocabulary, or an unknown id out of range: the library's rules
        special = config["post_processor"]["special_tokens"]
        shell = dict(config, model={"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0]], "byte_fallback": False})
        shell.update(added_tokens=[], post_processor=None)
        return _Parts(
            pieces="\0".join(pieces),
            scores=array("d", (float(score) for _, score in vocab)),
            unk_id=config["model"]["unk_id"],
            added=added,
            bos=special["<s>"]["ids"][0],
            eos=special["</s>"]["ids"][0],
            shell=json.dumps(shell),
        )
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        return None  # a shape not foreseen here: the library reads it


def _supported(config: dict[str, Any]) -> bool:
    """A Unigram model, Metaspace prepending to every segment, added tokens matched as written, ``<s> $A </s>``."""
    model = config.get("model") or {}
    added = config.get("added_tokens") or []
    pre = config.get("pre_tokenizer") or {}
    post = config.get("post_processor") or {}
    single = [(kind, part["id"]) for step in post.get("single", []) for kind, part in step.items()]
    special = post.get("special_tokens", {})
    return (
        model.get("type") == "Unigram"
        and not model.get("byte_fallback")
        and isinstance(model.get("unk_id"), int)
        and pre.get("type") == "Metaspace"
        and pre.get("prepend_scheme") == "always"  # "first": only the text's first segment would get ▁
        and config.get("normalizer") is not None
        and not any(token[flag] for token in added for flag in ("lstrip", "rstrip", "single_word", "normalized"))
        and post.get("type") == "TemplateProcessing"
        and single == [("SpecialToken", "<s>"), ("Sequence", "A"), ("SpecialToken", "</s>")]
        and all(len(special.get(name, {}).get("ids", [])) == 1 for name in ("<s>", "</s>"))
        and config.get("truncation") is None
        and config.get("padding") is None
    )


class CompactUnigram:
    """The XLM-R Unigram tokenizer of a ``tokenizer.json``, with its vocabulary in a dict.

    Built by :func:`load_tokenizer` from the parts of the file it needs. The pieces are split out
    of one joined string after the parsed file is gone, so they do not sit between the parser's
    freed objects, which would keep those pages resident.

    It runs in Python and holds the GIL: about 0.1 ms per held-out question at p50, against
    0.04 ms for the library (``scripts/memory_parts.py``), next to 13 ms or more for the model.
    """

    def __init__(self, parts: _Parts, max_length: int) -> None:
        from tokenizers import Tokenizer

        self._ids: dict[str, int] = {piece: index for index, piece in enumerate(parts.pieces.split("\0"))}
        self._scores = parts.scores
        # The longest piece that starts with each character: most are one to three characters long, so
        # the search tries far fewer substrings than the longest piece overall (16) would ask.
        self._longest: dict[str, int] = {}
        for piece in self._ids:
            if piece and len(piece) > self._longest.get(piece[0], 0):
                self._longest[piece[0]] = len(piece)
        self._unk_id = parts.unk_id
        self._unk_score = min(self._scores) - UNK_PENALTY
        self._added = dict(parts.added)
        # Leftmost, then longest at one place (the alternatives longest first), as the library matches them.
        contents = sorted(self._added, key=len, reverse=True)
        self._added_pattern = re.compile("|".join(map(re.escape, contents))) if contents else None
        self._bos, self._eos = parts.bos, parts.eos
        self._max_tokens = max(max_length - 2, 0)
        library = Tokenizer.from_str(parts.shell)
        self._normalize = library.normalizer.normalize_str
        self._pre_tokenize = library.pre_tokenizer.pre_tokenize_str

    def encode_ids(self, texts: list[str]) -> list[list[int]]:
        """The ids of each text: ``<s>``, the pieces (cut to the model's length), ``</s>``."""
        out = []
        for text in texts:
            ids = self._pieces(text)[: self._max_tokens]
            out.append([self._bos, *ids, self._eos])
        return out

    def _pieces(self, text: str) -> list[int]:
        ids: list[int] = []
        for segment, added_id in self._split_added(text):
            if added_id is not None:
                ids.append(added_id)
                continue
            normalized = self._normalize(segment)
            for word, _ in self._pre_tokenize(normalized):
                ids.extend(self._viterbi(word))
        return ids

    def _split_added(self, text: str) -> list[tuple[str, int | None]]:
        """The text cut at each added token, leftmost first and longest at one place."""
        if self._added_pattern is None:
            return [(text, None)]
        parts: list[tuple[str, int | None]] = []
        start = 0
        for match in self._added_pattern.finditer(text):
            if match.start() > start:
                parts.append((text[start : match.start()], None))
            parts.append((match.group(), self._added[match.group()]))
            start = match.end()
        if start < len(text):
            parts.append((text[start:], None))
        return parts

    def _viterbi(self, word: str) -> list[int]:
        """``Unigram::encode`` (sentencepiece's ``EncodeOptimized``), over characters instead of bytes."""
        size = len(word)
        ids, scores, longest = self._ids, self._scores, self._longest.get
        best = [0.0] * (size + 1)
        start_of: list[int] = [-1] * (size + 1)
        piece_of = [0] * (size + 1)
        for start in range(size):
            till_here = best[start]
            single = False
            for end in range(start + 1, min(size, start + longest(word[start], 0)) + 1):
                piece = ids.get(word[start:end])
                if piece is None:
                    continue
                score = scores[piece] + till_here
                if start_of[end] < 0 or score > best[end]:
                    best[end], start_of[end], piece_of[end] = score, start, piece
                if end == start + 1:
                    single = True
            if not single:
                end = start + 1
                score = self._unk_score + till_here
                if start_of[end] < 0 or score > best[end]:
                    best[end], start_of[end], piece_of[end] = score, start, self._unk_id
        out: list[int] = []
        unknown_end = -1  # the end of a run of unknown characters being fused, read backwards
        end = size
        while end > 0:
            start = start_of[end]
            if piece_of[end] == self._unk_id:
                if unknown_end < 0:
                    unknown_end = end
            else:
                if unknown_end >= 0:
                    out.append(ids.get(word[end:unknown_end], self._unk_id))
                    unknown_end = -1
                out.append(piece_of[end])
            end = start
        if unknown_end >= 0:
            out.append(ids.get(word[0:unknown_end], self._unk_id))
        out.reverse()
        return out


def load_tokenizer(file: Path, max_length: int) -> TokenIds:
    """The tokenizer of an export: :class:`CompactUnigram` when it reproduces the file exactly, else the library's.

    Raises:
        ModelError: the file cannot be read or is not JSON.
    """
    try:
        parts = _parts(file.read_text(encoding="utf-8"))
        return LibraryTokenizer(file, max_length) if parts is None else CompactUnigram(parts, max_length)
    except Exception as exc:  # OSError, JSON errors, and whatever the library raises for a file it refuses
        raise ModelError(f"cannot read the tokenizer {file}: {exc}; run `assistant model install --force`") from exc
