"""The ONNX Runtime engine: the exported model, tokenized by :mod:`assistant.model.unigram`, without torch.

``assistant model install`` exports the sentence-transformers folder to ONNX next to it
(``<folder>-onnx/``, see :mod:`assistant.model.onnx_export`): the BERT encoder with mean pooling
and L2 normalization inside the graph, so one session run gives the sentence vectors; the
word-embedding table as a raw ``.npy``; the folder's ``tokenizer.json``; and ``export.json``,
which records the model's prompts, its maximum sequence length and the fingerprint of the
folder it was exported from.

The graph takes ``inputs_embeds`` (the word-embedding rows of the token ids) rather than the
ids: the table is 250k × 384 floats (384 MB), of which a server ever reads a few thousand rows.
:class:`WordEmbeddingTable` reads just those rows from the file when a batch needs them, where
inside the session the whole table would be resident. Position and token-type embeddings and the
embedding LayerNorm are still applied inside the graph, exactly as ``BertEmbeddings`` does for ids.

:class:`OnnxEmbeddings` reproduces what sentence-transformers does: the prompt is prepended to
the text (``query: `` / ``passage: ``), the text is tokenized and truncated to the model's
maximum length with special tokens, a batch is padded to its longest text, and every token,
prompt included, is mean-pooled. ``assistant model verify`` checks the result against
sentence-transformers on the verify texts (identical token ids, cosine ≥ 0.999).

Example::

    embedder = OnnxEmbeddings(spec, export_dir_for(Path(spec)))
    embedder.encode_query("子どもが熱を出して保育園に行けない")   # 384 floats, unit norm
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from assistant.errors import ModelError
from assistant.model.embeddings import Embedder, Kind, Vectors
from assistant.model.fingerprint import model_fingerprint
from assistant.model.unigram import TokenIds, load_tokenizer
from assistant.pread import PreadArray

EXPORT_SUFFIX = "-onnx"
EXPORT_INFO = "export.json"
EXPORT_FORMAT = 4
"""Bump when the exported graph or the folder's layout changes: older exports are redone on install.

1: ids in, the word-embedding table inside the graph. 2: ``inputs_embeds`` in, the table in
:data:`WORD_EMBEDDINGS`, read row by row at run time. 3: each layer's attention, residual
LayerNorms and GELU fused into ONNX Runtime's own operators (``attention_fused`` records how many
attention layers were). 4: also OpenVINO's own format of the fused graph, weights stored in fp16
(``openvino.xml``/``.bin``, see :mod:`assistant.model.openvino_backend`).
"""
Quantization = Literal["fp32", "int8"]
TokenRows = list[list[int]]
MODEL_FILES: dict[Quantization, str] = {"fp32": "model.onnx", "int8": "model-int8.onnx"}
WORD_EMBEDDINGS = "word_embeddings.npy"
"""The word-embedding table (vocabulary × dimension, float32), shared by the fp32 and int8 graphs."""


def export_dir_for(model_dir: Path) -> Path:
    """Where the ONNX export of a model folder lives: a sibling named ``<folder>-onnx``."""
    return model_dir.with_name(model_dir.name + EXPORT_SUFFIX)


class WordEmbeddingTable:
    """The word-embedding table in a ``.npy`` file, read row by row (``os.pread``) as batches need them.

    Memory-mapping the file (``np.load(mmap_mode="r")``) was measured first and rejected: on every
    touched row the kernel also maps up to 16 neighbouring pages that are in the page cache
    (fault-around), so the 5 246 distinct rows of the held-out questions made 161 MB resident
    instead of 7.7 MB, and ``MADV_RANDOM`` did not change that. Positional reads
    (:class:`~assistant.pread.PreadArray`) go through the page cache, which is shared and not part
    of a worker's resident memory; a batch costs one read per distinct token (microseconds, against
    milliseconds for the session run).

    Raises:
        ModelError: the file is missing, unreadable, or not float32 rows of ``dimension``.
    """

    def __init__(self, file: Path, dimension: int) -> None:
        try:
            table = PreadArray(file)
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"cannot read the word embeddings {file}: {exc}; run `assistant model install --force`"
            ) from exc
        if table.dtype != np.dtype("<f4") or table.row_shape != (dimension,):
            raise ModelError(
                f"{file} holds {table.dtype} {table.shape}, not float32 rows of {dimension}: "
                "run `assistant model install --force`"
            )
        self.rows = len(table)
        self.dimension = dimension
        self._table = table

    def lookup(self, ids: np.ndarray[Any, np.dtype[np.int64]]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """The rows of ``ids`` (any shape), as an array of that shape plus the dimension."""
        unique, inverse = np.unique(ids, return_inverse=True)
        try:
            rows = self._table.rows(unique)  # checks the range before it reads
        except IndexError:
            raise ModelError(f"token ids outside the vocabulary of {self.rows}: {unique[0]}..{unique[-1]}") from None
        embeds: np.ndarray[Any, np.dtype[np.float32]] = rows[inverse.reshape(ids.shape)]
        return embeds


@dataclass(frozen=True)
class ExportInfo:
    """What ``export.json`` records about an export."""

    format: int
    source: str
    source_fingerprint: str
    prompts: dict[str, str]
    max_seq_length: int
    dimension: int
    pad_token_id: int
    pad_token: str
    files: dict[str, str]
    exported_at: str = ""
    versions: dict[str, str] | None = None
    attention_fused: int = 0
    """Attention layers fused into one ``Attention`` operator each (0: the graph as exported)."""

    @classmethod
    def read(cls, folder: Path) -> ExportInfo | None:
        """The export's record, or None when it is missing, unreadable or of another format."""
        try:
            data = json.loads((folder / EXPORT_INFO).read_text(encoding="utf-8"))
            info = cls(**data)
        except (OSError, ValueError, TypeError):
            return None
        return info if info.format == EXPORT_FORMAT else None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def current_export(model_dir: Path) -> tuple[Path, ExportInfo | None, str]:
    """The ONNX export of ``model_dir`` and its record, or None with the reason it cannot be used."""
    folder = export_dir_for(model_dir)
    info = ExportInfo.read(folder)
    if info is None:
        return folder, None, f"no ONNX export in {folder}"
    if info.source_fingerprint != model_fingerprint(str(model_dir)):
        return folder, None, f"the ONNX export in {folder} was made from another version of the model"
    missing = [name for name in info.files.values() if not (folder / name).is_file()]
    if missing:
        return folder, None, f"the ONNX export in {folder} is incomplete (missing {', '.join(missing)})"
    return folder, info, ""


def session_options(threads: int) -> Any:
    """ONNX Runtime options for this machine: ``threads`` intra-op threads that sleep when idle.

    Spinning worker threads (ONNX Runtime's default) keep a core busy between runs; on a small
    shared machine that core is the one the request threads need for fugashi, BM25 and JSON.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


class OnnxEmbeddings(Embedder):
    """The ONNX Runtime engine over an export made by ``assistant model install``."""

    width_multiple = 1
    """A batch is padded to its longest text, rounded up to a multiple of this."""
    max_tokens = 1 << 30
    """Padded tokens (texts × width) one model call may take; a text longer than this still goes alone."""

    def __init__(
        self, model_spec: str, export_dir: Path, *, quantization: Quantization = "fp32", **options: Any
    ) -> None:
        if quantization == "int8":
            options["run_size"] = 1  # each text alone: see encode()
        super().__init__(model_spec, **options)
        self.export_dir = export_dir
        self.engine = "onnx"
        self.quantization: Quantization = quantization
        self._session: Any = None
        self._tokenizer: TokenIds | None = None
        self._table: WordEmbeddingTable | None = None
        self._info: ExportInfo | None = None
        self._load_lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the session and the tokenizer now (otherwise on first use)."""
        self._ensure_loaded()

    @property
    def loaded(self) -> bool:
        """Whether the session has been created."""
        return self._session is not None

    def _ensure_loaded(self) -> ExportInfo:
        if self._info is None:
            with self._load_lock:
                if self._info is None:
                    self._load()
        assert self._info is not None
        return self._info

    def _load(self) -> None:
        info = ExportInfo.read(self.export_dir)
        if info is None:
            raise ModelError(
                f"no usable ONNX export in {self.export_dir}: run `assistant model install` "
                "(or set ASSISTANT_EMBEDDING_BACKEND=torch)"
            )
        file = self.export_dir / info.files.get(self.graph, "")
        if not file.is_file():
            raise ModelError(
                f"the ONNX export in {self.export_dir} has no {self.graph} model: run `assistant model install`"
            )
        table = WordEmbeddingTable(self.export_dir / info.files.get("word_embeddings", WORD_EMBEDDINGS), info.dimension)
        # As sentence-transformers tokenizes: truncated to the model's length, special tokens included.
        tokenizer = load_tokenizer(self.export_dir / "tokenizer.json", info.max_seq_length)
        session = self._open(file)
        self._tokenizer = tokenizer
        self._table = table
        self._session = session
        self._info = info

    @property
    def graph(self) -> str:
        """Which of the export's files the engine runs (its key in ``export.json``): ``fp32`` or ``int8``."""
        return self.quantization

    def _open(self, file: Path) -> Any:
        """An ONNX Runtime session over ``file`` (what :meth:`_infer` runs)."""
        import onnxruntime as ort

        try:
            return ort.InferenceSession(str(file), session_options(self.threads), providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise ModelError(
                f"cannot load the ONNX model {file}: {exc}; run `assistant model install --force`"
            ) from exc

    def _infer(self, embeds: np.ndarray[Any, Any], mask: np.ndarray[Any, Any]) -> Vectors:
        """One model call: the sentence vectors of a padded batch."""
        (vectors,) = self._session.run(None, {"inputs_embeds": embeds, "attention_mask": mask})
        return np.asarray(vectors, dtype=np.float32)

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        return self._ensure_loaded().dimension

    @property
    def prompts(self) -> dict[str, str]:
        """The model's own prompts, as the export recorded them."""
        return dict(self._ensure_loaded().prompts)

    def prompt(self, kind: Kind) -> str:
        """The text put before a query or a document (sentence-transformers: "document", else "passage")."""
        prompts = self._ensure_loaded().prompts
        if kind == "query":
            return prompts.get("query") or ""
        return prompts.get("document") or prompts.get("passage") or ""

    def token_ids(self, texts: list[str], kind: Kind) -> list[list[int]]:
        """The token ids the model sees for each text (prompt added, truncated, unpadded)."""
        self._ensure_loaded()
        prompt = self.prompt(kind)
        assert self._tokenizer is not None
        return self._tokenizer.encode_ids([prompt + t for t in texts])

    def encode(self, texts: list[str], kind: Kind, *, show_progress: bool = False) -> Vectors:
        """Vectors straight from the session, in batches of ``batch_size`` texts of similar length
        (and of at most :attr:`max_tokens` padded tokens, when the engine sets it).

        int8 embeds each text alone. Its dynamic quantization scales a call's activations by the
        range of the whole batch, padding included, so a text's vector would depend on the texts
        beside it: a resident's answer on who else was asking at that moment, the index on how its
        passages happened to be grouped.
        """
        self._ensure_loaded()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        prompt = self.prompt(kind)
        assert self._tokenizer is not None
        rows = self._tokenizer.encode_ids([prompt + text for text in texts])
        per_call = 1 if self.quantization == "int8" else self.batch_size
        if len(rows) <= per_call and self._padded_tokens(rows) <= self.max_tokens:
            return self._run_rows(rows)
        # Long lists (index builds): sort by length so each batch pads little, as sentence-transformers does.
        order = sorted(range(len(rows)), key=lambda i: -len(rows[i]))
        out = np.empty((len(rows), self.dimension), dtype=np.float32)
        chunk: list[int] = []
        for i in order:
            # The first of a chunk is its longest: adding a text adds one more row of that width.
            if chunk and (
                len(chunk) == per_call or self._width(len(rows[chunk[0]])) * (len(chunk) + 1) > self.max_tokens
            ):
                out[chunk] = self._run_rows([rows[k] for k in chunk])
                chunk = []
            chunk.append(i)
        out[chunk] = self._run_rows([rows[k] for k in chunk])
        return out

    def _width(self, longest: int) -> int:
        """The padded width of a batch whose longest text has ``longest`` tokens."""
        return -(-longest // self.width_multiple) * self.width_multiple

    def _padded_tokens(self, rows: TokenRows) -> int:
        return len(rows) * self._width(max(len(row) for row in rows))

    def _run(self, prompted: list[str]) -> Vectors:
        """One model call over already prompted texts, whatever their number and length."""
        assert self._tokenizer is not None
        return self._run_rows(self._tokenizer.encode_ids(prompted))

    def _run_rows(self, rows: TokenRows) -> Vectors:
        assert self._info is not None
        # Padded to the batch's longest text, as sentence-transformers pads (rounded up for OpenVINO).
        width = self._width(max(len(row) for row in rows))
        ids = np.full((len(rows), width), self._info.pad_token_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for k, row in enumerate(rows):
            ids[k, : len(row)] = row
            mask[k, : len(row)] = 1
        assert self._table is not None
        embeds = self._table.lookup(ids)  # padding positions get the pad row, as the graph's lookup gave them
        return self._infer(embeds, mask)
