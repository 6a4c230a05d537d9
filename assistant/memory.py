"""Give the C heap's free pages back to the system once the model is loaded.

Loading leaves freed memory in glibc's heap, which glibc keeps for later: the parsed
``tokenizer.json`` and ONNX Runtime's copy of the graph file. ``malloc_trim`` returns it: a
worker went from 613 to 565 MB right after the warm-up (``/proc/self/smaps``, 2026-11-30).

Tried and not kept (``assistant bench --no-naive``, same day): ONNX Runtime without its memory
arena and a fixed 256 kB ``mmap`` threshold (``mallopt``) left the worker at 582 MB after the
bench against 573 MB without them, and cost throughput at 16 clients (42.2 against 46.7
answers/s): the heap grows with what the requests keep, not with the model's buffers.
"""

from __future__ import annotations

import ctypes
import ctypes.util


def give_back_free_memory() -> None:
    """Return the heap's free pages to the system (glibc's ``malloc_trim``); elsewhere, nothing."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return
    trim = getattr(libc, "malloc_trim", None)
    if trim is not None:
        trim(0)
