"""Which engine embeds: one function picks it from the settings, for every command and the server.

``ASSISTANT_EMBEDDING_BACKEND``:

- ``onnx`` (default): ONNX Runtime over the fp32 export ``assistant model install`` made next to
  the model folder. Faithful to the model (cosine 1.0000): the same answers as torch, question
  for question, at about half its cost per query (``assistant bench``); the server then never
  imports torch.
- ``onnx-int8``: the dynamically quantized export, with its own tuned parameters
  (``assistant/data/retrieval_params.onnx-int8.json``). Half fp32's cost per query again, but on
  the held-out set it refuses 0.6 points more answerable questions than fp32, more than the
  half point allowed, so it is not the default (docs/speed.md).
- ``openvino``: OpenVINO over the same fp32 export, computing in bfloat16 where the CPU does so
  natively (labelled ``openvino-bf16``; ``openvino`` on other CPUs, in fp32). Faithful (cosine
  0.99998 to sentence-transformers, ``assistant model verify``) and the same answers as ``onnx`` on
  every held-out question, with the fp32 parameters; faster in bursts, but a worker holds about
  600 MB, at the edge of the target, and issue 11 asks for ONNX Runtime as the runtime, so it is
  an option (the README's "Speed", docs/speed.md).
- ``torch``: sentence-transformers, the reference.

A model with no ONNX export (``ASSISTANT_EMBEDDING_MODEL`` set to another folder or a hub id)
runs through sentence-transformers whatever the setting: the export reproduces one module
stack (Transformer → mean Pooling → Normalize), which is what the built e5 model is, while
sentence-transformers loads every model correctly. The default model's export is made by
``assistant model install``; if it is missing, the command says so instead of silently running
slower.

Example::

    embedder = make_embedder(get_settings())
    embedder.backend        # 'onnx'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from assistant.config import Settings
from assistant.errors import ModelError
from assistant.model.embeddings import Embedder, SentenceTransformerEmbeddings
from assistant.model.onnx_backend import OnnxEmbeddings, Quantization, current_export
from assistant.model.openvino_backend import OpenVinoEmbeddings, Precision, cpu_precision


@dataclass(frozen=True)
class BackendChoice:
    """The engine the settings resolve to, and why."""

    name: Literal["onnx", "openvino", "torch"]
    quantization: Quantization | Precision
    export_dir: Path | None
    reason: str

    @property
    def label(self) -> str:
        """``torch``, ``onnx``, ``onnx-int8``, ``openvino-bf16`` or ``openvino``: what the index manifest records."""
        return self.name if self.quantization == "fp32" else f"{self.name}-{self.quantization}"


def choose_backend(settings: Settings, backend: str | None = None) -> BackendChoice:
    """The engine for the configured model (cheap: reads files, loads nothing).

    Args:
        settings: the settings (model and backend).
        backend: ``onnx``, ``onnx-int8``, ``openvino`` or ``torch`` instead of the setting.

    Raises:
        ModelError: ONNX is asked for the default model but its export is missing or out of date.
    """
    wanted = backend or settings.embedding_backend
    if wanted not in ("onnx", "onnx-int8", "openvino", "torch"):
        raise ModelError(f"unknown embedding backend {wanted!r}: use onnx, onnx-int8, openvino or torch")
    if wanted == "torch":
        return BackendChoice("torch", "fp32", None, "ASSISTANT_EMBEDDING_BACKEND=torch")
    quantization: Quantization = "int8" if wanted == "onnx-int8" else "fp32"
    spec = settings.model_spec
    path = Path(spec).expanduser()
    if not path.is_dir():
        return BackendChoice(
            "torch", "fp32", None, f"{spec!r} is not a local folder: no ONNX export, sentence-transformers"
        )
    folder, info, why = current_export(path.resolve())
    if info is None:
        if path.resolve() == settings.default_model_dir:
            raise ModelError(f"{why}: run `assistant model install` (or set ASSISTANT_EMBEDDING_BACKEND=torch)")
        return BackendChoice("torch", "fp32", None, f"{why}: sentence-transformers")
    if wanted == "openvino":
        precision = cpu_precision()
        return BackendChoice("openvino", precision, folder, f"OpenVINO ({precision}) over {folder}")
    return BackendChoice("onnx", quantization, folder, f"ONNX Runtime over {folder}")


def make_embedder(settings: Settings, *, backend: str | None = None, cache_size: int = 2048) -> Embedder:
    """The embedder the settings ask for (the model loads lazily, on ``warm_up`` or first use).

    Raises:
        ModelError: see :func:`choose_backend`.
    """
    choice = choose_backend(settings, backend)
    options = {"threads": settings.torch_threads, "batch_size": settings.embed_batch_size, "cache_size": cache_size}
    if choice.name == "openvino" and choice.export_dir is not None:
        # One stream on the machine's threads; a burst goes through in runs of similar length.
        return OpenVinoEmbeddings(
            settings.model_spec,
            choice.export_dir,
            precision="bf16" if choice.quantization == "bf16" else "fp32",
            **options,
        )
    if choice.name == "onnx" and choice.export_dir is not None:
        # A burst runs on two lanes (see QueryBatcher): ONNX Runtime takes concurrent calls on one
        # session, and the cores stay busy between small matrix products. Each call still uses the
        # session's threads, so more lanes would only multiply threads (one lane on a single thread).
        return OnnxEmbeddings(
            settings.model_spec,
            choice.export_dir,
            quantization="int8" if choice.quantization == "int8" else "fp32",
            lanes=min(settings.torch_threads, 2),
            **options,
        )
    return SentenceTransformerEmbeddings(settings.model_spec, **options)
