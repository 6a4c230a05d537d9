"""The OpenVINO engine: the same fused export, run in bfloat16 on CPUs that compute it natively.

``assistant model install`` converts the fused fp32 ONNX graph (:mod:`assistant.model.onnx_export`)
to OpenVINO's own format, its weights stored in fp16 (:data:`OPENVINO_FILES`), and
``ASSISTANT_EMBEDDING_BACKEND=openvino`` has OpenVINO's CPU plugin compile that with
``INFERENCE_PRECISION_HINT=bf16``. On a CPU with AMX or AVX-512 BF16 (this machine: Sapphire
Rapids) the matrix products then run in bfloat16 with float32 accumulation. Tokenizing, the
word-embedding rows, padding and the prompts are :class:`~assistant.model.onnx_backend.OnnxEmbeddings`'
own, so the inputs are identical token for token; ``assistant model verify`` gates the vectors
like fp32 ONNX's (cosine ≥ 0.999 to sentence-transformers; 0.99998 here).

On a CPU without native bfloat16, OpenVINO computes in float32 (from the same fp16-stored
weights); :func:`cpu_precision` says which before anything loads, and the backend is then
labelled ``openvino`` instead of ``openvino-bf16``, so an index built on one kind of CPU is stale
on the other.

OpenVINO batches where ONNX Runtime's fp32 kernels do not: through one lane in runs of up to
:data:`RUN_SIZE` texts of similar length, a text cost 3.6 ms in a burst, against 5.3 ms one at a
time (``scripts/batching.py``), so a burst goes through one lane in such runs. Each new input shape
costs time and memory the first time, hence :data:`WIDTH_MULTIPLE` and :data:`MAX_TOKENS`.

Example::

    embedder = OpenVinoEmbeddings(spec, export_dir_for(Path(spec)), precision=cpu_precision())
    embedder.encode_query("子どもが熱を出して保育園に行けない")   # 384 floats, unit norm
"""

from __future__ import annotations

import functools
import queue
from pathlib import Path
from typing import Any, Literal

import numpy as np

from assistant.errors import ModelError
from assistant.model.embeddings import Vectors
from assistant.model.onnx_backend import OnnxEmbeddings

Precision = Literal["bf16", "fp32"]
RUN_SIZE = 8
"""Texts of similar length per model call in a burst: OpenVINO's cost per text falls up to here."""
WIDTH_MULTIPLE = 16
"""Token widths are rounded up to a multiple of this. OpenVINO prepares its kernels for each new
input shape: a question of a length not seen before took 14.5 ms against 4.8 ms for a seen one
(``scripts/openvino_shapes.py``), and every shape kept costs memory."""
MAX_TOKENS = 512
"""Padded tokens (texts × width) per model call: one text of the model's full length. OpenVINO
keeps about 1.3 MB for every input shape it has run (``scripts/openvino_shapes.py``); within this
budget a server meets at most 85 shapes (32 widths, and runs of several texts only when they are
short), where runs of up to 8 texts at every width would make 256."""
WARM_WIDTH = 128
"""``warm_up`` runs one text of every width up to this: what a lone resident's question needs."""
OPENVINO_FILES = {"openvino": "openvino.xml", "openvino_weights": "openvino.bin"}
"""The fused fp32 graph in OpenVINO's format, written by ``assistant model install``. Its weights
are stored in fp16: they are computed in bfloat16 anyway, and the compiled model then holds about
half the memory it holds when read from the fp32 ONNX file (125 against 246 MB in a scratch run;
docs/speed.md)."""


def save_openvino_model(onnx_file: Path, folder: Path) -> None:
    """Convert the exported ONNX graph to OpenVINO's format in ``folder`` (weights stored in fp16).

    Raises:
        ModelError: OpenVINO cannot read or convert the graph.
    """
    try:
        import openvino as ov

        model = ov.Core().read_model(str(onnx_file))
        ov.save_model(model, str(folder / OPENVINO_FILES["openvino"]), compress_to_fp16=True)
    except Exception as exc:  # OpenVINO raises RuntimeError for a graph it cannot take
        raise ModelError(f"OpenVINO cannot convert {onnx_file}: {exc}") from exc


@functools.cache
def cpu_precision() -> Precision:
    """``bf16`` when this CPU computes bfloat16 natively (OpenVINO's own capability list), else ``fp32``."""
    try:
        import openvino as ov

        capabilities = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    except Exception as exc:  # a broken install, or no CPU plugin
        raise ModelError(f"OpenVINO cannot run here: {exc} (set ASSISTANT_EMBEDDING_BACKEND=onnx)") from exc
    return "bf16" if "BF16" in capabilities else "fp32"


class OpenVinoEmbeddings(OnnxEmbeddings):
    """OpenVINO over the fp32 ONNX export, computing in ``precision``."""

    def __init__(self, model_spec: str, export_dir: Path, *, precision: Precision = "bf16", **options: Any) -> None:
        options.setdefault("lanes", 1)
        options.setdefault("run_size", RUN_SIZE)
        super().__init__(model_spec, export_dir, quantization="fp32", **options)
        self.engine = "openvino"
        self.precision: Precision = precision
        self.quantization = precision  # type: ignore[assignment]  # the label's precision, not the graph's
        self._requests: queue.SimpleQueue[Any] = queue.SimpleQueue()

    width_multiple = WIDTH_MULTIPLE
    max_tokens = MAX_TOKENS

    @property
    def graph(self) -> str:
        """OpenVINO's copy of the fused fp32 graph; it lowers the precision itself."""
        return "openvino"

    def warm_up(self) -> None:
        """Load, then run one text of each common width, so a lone resident never waits while
        OpenVINO prepares a shape (runs of several texts are prepared as bursts first bring them)."""
        self._ensure_loaded()
        dimension = self.dimension
        for width in range(self.width_multiple, WARM_WIDTH + 1, self.width_multiple):
            self._infer(np.zeros((1, width, dimension), dtype=np.float32), np.ones((1, width), dtype=np.int64))

    def _open(self, file: Path) -> Any:
        """The graph compiled for this CPU: one stream on ``threads`` threads, in ``precision``."""
        try:
            import openvino as ov

            core = ov.Core()
            compiled = core.compile_model(
                core.read_model(str(file)),
                "CPU",
                {
                    "INFERENCE_PRECISION_HINT": self.precision,
                    "PERFORMANCE_HINT": "LATENCY",
                    "NUM_STREAMS": 1,
                    "INFERENCE_NUM_THREADS": self.threads,
                },
            )
        except Exception as exc:  # OpenVINO raises RuntimeError for a graph or a setting it cannot take
            raise ModelError(
                f"OpenVINO cannot compile {file}: {exc}; run `assistant model install --force` "
                "(or set ASSISTANT_EMBEDDING_BACKEND=onnx)"
            ) from exc
        actual = str(compiled.get_property("INFERENCE_PRECISION_HINT"))
        if self.precision == "bf16" and "bfloat16" not in actual and actual != "bf16":
            raise ModelError(
                f"OpenVINO compiled {file} in {actual}, not bfloat16: set ASSISTANT_EMBEDDING_BACKEND=onnx"
            )
        return compiled

    def _infer(self, embeds: np.ndarray[Any, Any], mask: np.ndarray[Any, Any]) -> Vectors:
        # An infer request runs one call at a time; concurrent callers (the batcher's lanes, an
        # index build beside the server) each take one from the pool, or make one.
        try:
            request = self._requests.get_nowait()
        except queue.Empty:
            request = self._session.create_infer_request()
        try:
            outputs = request.infer({"inputs_embeds": embeds, "attention_mask": mask})  # copied out of the request
            return np.asarray(outputs[0], dtype=np.float32)
        finally:
            self._requests.put(request)
