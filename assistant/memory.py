"""Give the C heap's free pages back to the system once the model is loaded.

Loading leaves freed memory in glibc's heap, which glibc keeps for later: the parsed
``tokenizer.json`` and ONNX Runtime's copy of the graph file. ``malloc_trim`` returns it:
``scripts/memory_parts.py`` measures an assistant at ready before and after (497–549 → 483–484 MB
over seven runs on 2026-11-30).

Tried and not kept: ONNX Runtime without its memory arena, and a fixed ``mmap`` threshold
(``mallopt``). With a temporary patch, one ``assistant bench --no-naive`` run each showed no
lower memory after the bench and fewer answers per second at 16 clients: what the heap keeps
is what the requests keep, not the model's buffers.
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
