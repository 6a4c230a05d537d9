"""Export a sentence-transformers folder to ONNX, once, next to it (``<folder>-onnx/``).

``optimum`` cannot be installed beside transformers 5, so the export uses torch's own exporter:
the folder's encoder is wrapped in a small ``torch.nn.Module`` whose ``forward(inputs_embeds,
attention_mask)`` calls it by keyword and applies the folder's mean pooling and L2 normalization,
with dynamic batch and sequence axes. Pooling inside the graph costs the same as pooling in numpy
after the session (measured: within noise), and leaves one output, the sentence vectors, with no
per-token tensor to copy out.

The graph is then fused by ONNX Runtime's transformer optimizer
(``onnxruntime.transformers.optimizer``, ``model_type="bert"``): each layer's attention becomes one
``Attention`` operator, and the residual LayerNorms and GELUs become ``SkipLayerNormalization`` and
``BiasGelu`` (148 nodes, against 599 in the graph the dynamo exporter wrote; both counted by
``scripts/fused_attention.py``). ONNX Runtime's own graph optimizations, which run when
a session loads, fuse none of the attention. The optimizer recognises the attention that the TorchScript
exporter (``dynamo=False``) writes from the encoder's eager implementation; what the dynamo
exporter writes from PyTorch's fused ``sdpa`` (a ``Softmax`` guarded by ``IsNaN``/``Where``) it does
not, so the export takes that path. Measured on 300 held-out questions, one at a time on two threads
(``scripts/fused_attention.py``): see docs/speed.md; min cosine against the unfused
graph 0.99999. A model whose attention the optimizer does not recognise, or on which it fails,
keeps the graph as exported (``attention_fused`` 0 in ``export.json``). The fused ``Attention``
reads the mask as each row's length (the first N tokens are real): right padding, which is what
:class:`~assistant.model.onnx_backend.OnnxEmbeddings` and sentence-transformers both do.

The TorchScript exporter is deprecated in torch 2.13 (torch is pinned): should a later torch drop
it, the fusion goes with it, and ``test_each_layers_attention_is_fused_into_one_operator`` says so.

The word-embedding lookup stays outside the graph: the table is saved as ``word_embeddings.npy``
and read row by row by :class:`~assistant.model.onnx_backend.WordEmbeddingTable`, so a server holds
only the rows a batch uses instead of all 384 MB. ``BertEmbeddings`` given ``inputs_embeds``
adds the same token-type (zeros) and position embeddings and applies the same LayerNorm as
given ids, so the graph computes exactly what it did with the lookup inside.

The export also writes a dynamically quantized int8 copy (``onnxruntime.quantization``), the
fused graph in OpenVINO's own format with its weights stored in fp16 (the ``openvino`` backend), the
tokenizer, and ``export.json``. Like the model folder, it is written to a temporary sibling
and renamed into place, and redone only when the model folder changes.

Only folders whose modules are ``Transformer → Pooling(mean) → Normalize`` are exported: that
is what the built multilingual-e5-small is, and what this graph reproduces. Any other model
runs through sentence-transformers, which knows every module.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import ModelError
from assistant.model.embeddings import load_sentence_transformer
from assistant.model.fingerprint import model_fingerprint
from assistant.model.install import _replace_folder, _version
from assistant.model.onnx_backend import (
    EXPORT_FORMAT,
    EXPORT_INFO,
    MODEL_FILES,
    WORD_EMBEDDINGS,
    ExportInfo,
    OnnxEmbeddings,
    current_export,
    export_dir_for,
)
from assistant.model.openvino_backend import OPENVINO_FILES, save_openvino_model

OPSET = 17
"""At 18, ONNX Runtime's symbolic shape inference fails on this graph (an ``Expand`` in the
embeddings), and without shapes its optimizer fuses no attention and no SkipLayerNormalization."""
SELF_CHECK_TEXTS = ["子どもが熱を出して保育園に行けない", "Is there a shared taxi between the towns?", "a"]
SELF_CHECK_MIN_COSINE = 0.999


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_onnx` did."""

    path: Path
    built: bool
    seconds: float


def _encoder_module(st_model: Any) -> Any:
    """The torch module to export: the encoder on looked-up word embeddings, then mean pooling and L2 normalization."""
    import torch

    modules = list(st_model)
    names = [type(m).__name__ for m in modules]
    if names != ["Transformer", "Pooling", "Normalize"]:
        raise ModelError(f"only Transformer → Pooling → Normalize models are exported to ONNX, not {' → '.join(names)}")
    pooling = modules[1]
    config = pooling.get_config_dict() if hasattr(pooling, "get_config_dict") else {}
    if config.get("pooling_mode", "mean") != "mean" or config.get("include_prompt", True) is not True:
        raise ModelError(f"only mean pooling over every token is exported to ONNX, not {config}")

    class MeanPooledEncoder(torch.nn.Module):
        def __init__(self, encoder: Any) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, inputs_embeds: Any, attention_mask: Any) -> Any:
            hidden = self.encoder(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    return MeanPooledEncoder(modules[0].auto_model).eval()


@contextlib.contextmanager
def _quiet() -> Any:
    """The exporter and the quantizer print progress and warnings meant for their own developers."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "torch._dynamo", "root")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _word_embeddings(st_model: Any) -> Any:
    """The encoder's word-embedding module (``BertEmbeddings.word_embeddings``)."""
    import torch

    table = st_model[0].auto_model.get_input_embeddings()
    if not isinstance(table, torch.nn.Embedding):
        raise ModelError(f"the encoder's input embeddings are a {type(table).__name__}, not a lookup table")
    return table


def _export_graph(st_model: Any, out: Path) -> None:
    import onnx
    import torch

    module = _encoder_module(st_model)
    encoder = st_model[0].auto_model
    tokenizer = st_model.tokenizer
    sample = tokenizer(
        ["query: 病児保育", "passage: 子どもが熱を出して保育園に行けない"], padding=True, return_tensors="pt"
    )
    # The written-out (eager) attention, whose pattern ONNX Runtime's optimizer fuses (module docstring).
    implementation = getattr(encoder.config, "_attn_implementation", None)
    switch = implementation is not None and hasattr(encoder, "set_attn_implementation")
    if switch:
        encoder.set_attn_implementation("eager")
    try:
        with _quiet(), torch.inference_mode():
            embeds = _word_embeddings(st_model)(sample["input_ids"])
            torch.onnx.export(
                module,
                (embeds, sample["attention_mask"]),
                str(out),
                input_names=["inputs_embeds", "attention_mask"],
                output_names=["sentence_embedding"],
                dynamic_axes={
                    "inputs_embeds": {0: "batch", 1: "sequence"},
                    "attention_mask": {0: "batch", 1: "sequence"},
                    "sentence_embedding": {0: "batch"},
                },
                opset_version=OPSET,
                dynamo=False,
                verbose=False,
            )
    finally:
        if switch:
            encoder.set_attn_implementation(implementation)
    graph = onnx.load(str(out))
    table_rows = int(_word_embeddings(st_model).num_embeddings)
    if any(init.dims and init.dims[0] == table_rows for init in graph.graph.initializer):
        raise ModelError("the exported graph still holds the word-embedding table; it must take inputs_embeds")


def _save_word_embeddings(st_model: Any, out: Path) -> None:
    """The table as a plain little-endian float32 ``.npy``: a header, then the rows one after another."""
    weights = _word_embeddings(st_model).weight.detach().cpu().numpy()
    np.save(out, np.ascontiguousarray(weights, dtype="<f4"), allow_pickle=False)


def _fuse(st_model: Any, graph: Path) -> int:
    """Fuse ``graph`` in place with ONNX Runtime's transformer optimizer; the attention layers fused.

    The graph is kept as exported unless every layer's attention was fused: a partial match would
    mean a pattern the optimizer half recognises."""
    from onnxruntime.transformers import optimizer

    config = st_model[0].auto_model.config
    layers = int(getattr(config, "num_hidden_layers", 0))
    heads, hidden = int(getattr(config, "num_attention_heads", 0)), int(getattr(config, "hidden_size", 0))
    if not (layers and heads and hidden):
        return 0
    try:
        with _quiet():
            fused = optimizer.optimize_model(
                str(graph), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=0, use_gpu=False
            )
        attention = int(fused.get_fused_operator_statistics().get("Attention", 0))
        if attention != layers:
            return 0
        fused.save_model_to_file(str(graph))
    except Exception as exc:  # the optimizer is a heuristic of another library: failing, it fuses nothing
        logging.getLogger(__name__).warning("the ONNX graph is kept unfused: the optimizer failed (%s)", exc)
        return 0
    return attention


def _quantize(source: Path, out: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet():
        # The fused operators (com.microsoft) have no ONNX type inference: their outputs are float.
        quantize_dynamic(
            str(source),
            str(out),
            weight_type=QuantType.QInt8,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )


def export_onnx(model_dir: Path, *, force: bool = False, threads: int = 2) -> ExportResult:
    """Export the sentence-transformers folder ``model_dir`` to ``<folder>-onnx/`` unless a current export is there.

    Args:
        model_dir: a sentence-transformers folder (Transformer → mean Pooling → Normalize).
        force: export again even when a current export exists.
        threads: torch and ONNX Runtime threads while exporting and checking.

    Returns:
        Where the export is, whether it was made now, and how long that took.

    Raises:
        ModelError: the model cannot be loaded or exported, or the export disagrees with it.
    """
    started = time.perf_counter()
    target = export_dir_for(model_dir)
    _, info, _ = current_export(model_dir)
    if info is not None and not force:
        return ExportResult(target, built=False, seconds=time.perf_counter() - started)

    fingerprint = model_fingerprint(str(model_dir))
    st_model = load_sentence_transformer(str(model_dir), threads=threads)
    tokenizer = st_model.tokenizer
    dimension: int | None = st_model.get_embedding_dimension()
    max_length: int | None = st_model.max_seq_length
    if not (model_dir / "tokenizer.json").is_file() or tokenizer.pad_token_id is None:
        raise ModelError(f"{model_dir} has no fast tokenizer with a padding token: it cannot be exported to ONNX")
    if dimension is None or max_length is None:
        raise ModelError(f"{model_dir} does not state its dimension and maximum length: it cannot be exported to ONNX")
    target.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))
    try:
        folder = workdir / "export"
        folder.mkdir()
        _export_graph(st_model, folder / MODEL_FILES["fp32"])
        attention_fused = _fuse(st_model, folder / MODEL_FILES["fp32"])
        _quantize(folder / MODEL_FILES["fp32"], folder / MODEL_FILES["int8"])
        save_openvino_model(folder / MODEL_FILES["fp32"], folder)
        _save_word_embeddings(st_model, folder / WORD_EMBEDDINGS)
        shutil.copy2(model_dir / "tokenizer.json", folder / "tokenizer.json")
        export = ExportInfo(
            format=EXPORT_FORMAT,
            source=str(model_dir),
            source_fingerprint=fingerprint,
            prompts={k: v for k, v in (st_model.prompts or {}).items() if v is not None},
            max_seq_length=max_length,
            dimension=dimension,
            pad_token_id=int(tokenizer.pad_token_id),
            pad_token=str(tokenizer.pad_token),
            files={**{str(k): v for k, v in MODEL_FILES.items()}, "word_embeddings": WORD_EMBEDDINGS, **OPENVINO_FILES},
            exported_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            versions={p: _version(p) for p in ("torch", "transformers", "onnx", "onnxruntime", "openvino")},
            attention_fused=attention_fused,
        )
        (folder / EXPORT_INFO).write_text(json.dumps(export.as_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
        _self_check(st_model, folder, threads)
        _replace_folder(folder, target)
    except OSError as exc:
        raise ModelError(f"cannot write the ONNX export {target}: {exc}") from exc
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return ExportResult(target, built=True, seconds=time.perf_counter() - started)


def _self_check(st_model: Any, folder: Path, threads: int) -> None:
    """Refuse to install an export that does not reproduce the model (``assistant model verify`` checks more)."""
    onnx = OnnxEmbeddings(str(folder), folder, threads=threads)
    reference = st_model.encode_query(SELF_CHECK_TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    cosines = np.sum(onnx.encode(SELF_CHECK_TEXTS, "query") * reference, axis=1)
    if float(cosines.min()) < SELF_CHECK_MIN_COSINE:
        raise ModelError(f"the ONNX export disagrees with the model (min cosine {cosines.min():.5f}); not installed")
