"""Large read-only tables read from ``.npy`` files by positional reads, not held in each worker.

A worker needs only a few rows of some large tables: the word embeddings of the question's tokens
(:class:`assistant.model.onnx_backend.WordEmbeddingTable`), the language identifier's rows for
the features a Latin-script question has (:mod:`assistant.answering.langid`). Loading such a table
puts all of it in every worker's memory. Memory-mapping it was measured and rejected: on every
touched row the kernel also maps up to 16 neighbouring pages (fault-around), so most of the table
ends up resident after a few hundred questions. ``os.pread`` goes through the page cache, which
the workers share and which is not part of any worker's resident memory; a read costs
microseconds.

Example::

    table = PreadArray(Path("word_embeddings.npy"))
    table.rows(np.array([5, 17]))        # the two rows, as an array
    PreadArray(Path("moves.npy"))[42]    # one element of a 1-D table, as a Python number
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path
from typing import Any

import numpy as np


class PreadArray:
    """A C-order little-endian ``.npy`` array, read a row at a time.

    Raises:
        ValueError: the file is not such an array, or is shorter than its header says.
        OSError: the file cannot be read.
    """

    def __init__(self, file: Path) -> None:
        from numpy.lib import format as npy

        with file.open("rb") as handle:
            version = npy.read_magic(handle)
            read_header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
            shape, fortran, dtype = read_header(handle)
            offset = handle.tell()
        if fortran or not shape or dtype.hasobject or dtype.byteorder == ">":
            order = " in Fortran order" if fortran else ""
            raise ValueError(f"{file} holds {dtype} {shape}{order}, not a C-order table")
        self.file = file
        self.shape: tuple[int, ...] = tuple(int(n) for n in shape)
        self.dtype: np.dtype[Any] = dtype
        self.row_shape = self.shape[1:]
        self.row_bytes = int(np.prod(self.row_shape, dtype=np.int64)) * dtype.itemsize
        size = file.stat().st_size
        if size != offset + self.shape[0] * self.row_bytes:
            raise ValueError(f"{file} is truncated ({size} bytes)")
        self._offset = offset
        self._integers = self.row_shape == () and dtype.kind in "iu"
        self._fd = os.open(file, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)

    def __len__(self) -> int:
        return self.shape[0]

    def read(self, row: int) -> bytes:
        """The bytes of one row (of one element, for a 1-D table)."""
        return os.pread(self._fd, self.row_bytes, self._offset + row * self.row_bytes)

    def rows(self, ids: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """The rows of the 1-D ``ids``, in that order, as one read-only array (``table[ids]``)."""
        if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= self.shape[0]):
            raise IndexError(f"rows {ids.min()}..{ids.max()} outside {self.file.name}'s {self.shape[0]}")
        fd, size, offset, pread = self._fd, self.row_bytes, self._offset, os.pread
        data = b"".join([pread(fd, size, offset + row * size) for row in ids.tolist()])
        return np.frombuffer(data, dtype=self.dtype).reshape(len(ids), *self.row_shape)

    def __getitem__(self, key: int | np.ndarray[Any, Any]) -> Any:
        """``table[i]`` (a Python number for a 1-D table, else a row) or ``table[ids]`` (rows)."""
        if isinstance(key, np.ndarray):
            return self.rows(key)
        if not isinstance(key, int | np.integer):
            raise TypeError(f"{self.file.name} is read by a row number or an array of them, not {key!r}")
        row = int(key)
        if not 0 <= row < self.shape[0]:
            raise IndexError(f"row {row} outside {self.file.name}'s {self.shape[0]}")
        if self._integers:  # a state table walked byte by byte: no numpy on the way
            return int.from_bytes(self.read(row), "little", signed=self.dtype.kind == "i")
        value = np.frombuffer(self.read(row), dtype=self.dtype)
        return value[0].item() if not self.row_shape else value.reshape(self.row_shape)
