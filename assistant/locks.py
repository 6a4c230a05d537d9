"""An exclusive lock on a folder, for processes that write into it one at a time.

Example::

    with folder_lock(inbox_dir):
        ...  # no other process holds it until the block ends
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold ``flock`` on ``folder`` itself, waiting for whoever holds it; released on exit, or when the process dies."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
