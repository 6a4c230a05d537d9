"""py3langid's model with its two large tables read from files instead of held in every worker.

py3langid tells the Latin-script languages apart (and Chinese from long kanji-only Japanese). It
loads its whole model into memory: 79 MB in every worker as ``tracemalloc`` counts it, of which
two arrays are nearly all: the naive-Bayes table of 100,053 features × 142 languages in float16
(28 MB) and the transitions of its byte automaton (42 MB). One question reads a few hundred of
their entries.

:func:`write_tables` writes those two arrays once as ``.npy`` files in ``<cache>/langid/``
(``assistant model install`` does, ``--force`` again; otherwise the first question that needs
them), and
:func:`load_identifier` builds py3langid's own ``LanguageIdentifier`` over them through
:class:`~assistant.pread.PreadArray`, which reads an entry by a positional read when the
classifier asks for it. The classifier's code and arithmetic stay py3langid's; only where its
numbers come from changes, so the scores are py3langid's bit for bit
(``tests/answering/test_langid.py``). A folder that cannot be written (a read-only cache) falls
back to py3langid's model in memory.

Example::

    identifier = load_identifier(get_settings().cache_dir / LANGID_DIR)
    identifier.classify("Is there a shared taxi for older people?")   # ('en', 0.99...)
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import zipfile
from array import array
from pathlib import Path
from typing import Any

import numpy as np

from assistant.locks import folder_lock
from assistant.pread import PreadArray

LOG = logging.getLogger(__name__)

LANGID_DIR = "langid"
"""The folder under the cache directory that holds the tables."""
FORMAT = 1
"""Bump when the files written here change: older folders are rewritten."""
TABLES = ("nb_ptc.npy", "tk_nextmove.npy")
"""The two large arrays, read by positional reads."""
SMALL = "small.npz"
"""The rest of the model (class priors, the automaton's rows and outputs): under 2 MB, loaded."""
INFO = "info.json"
"""Which py3langid model the folder was written from; written last, so a folder without it is unfinished."""


def _model_file() -> Path:
    from py3langid.langid import MODEL_DIR, MODEL_FILE

    return Path(str(MODEL_DIR)) / str(MODEL_FILE)


def source() -> dict[str, Any]:
    """What the tables must come from: this py3langid's model file, and this module's format."""
    model = _model_file()
    return {
        "format": FORMAT,
        "py3langid": importlib.metadata.version("py3langid"),
        "model_sha256": hashlib.sha256(model.read_bytes()).hexdigest(),
    }


def is_current(folder: Path) -> bool:
    """Whether ``folder`` holds complete tables written from the installed py3langid model."""
    try:
        written = json.loads((folder / INFO).read_text(encoding="utf-8"))
        if written != source() or not (folder / SMALL).is_file():
            return False
        for name in TABLES:
            PreadArray(folder / name)  # the header and the size agree
    except (OSError, ValueError):
        return False
    return True


def write_tables(folder: Path, *, force: bool = False) -> bool:
    """Write the model's tables to ``folder``; False when they are current (and ``force`` is not set).

    One process writes at a time (a lock on the parent folder), in a hidden sibling that is then
    renamed into place, so a reader never opens half a table and two workers starting together
    do not both write.

    Raises:
        OSError: the folder cannot be written.
    """
    if not force and is_current(folder):
        return False
    folder.parent.mkdir(parents=True, exist_ok=True)
    with folder_lock(folder.parent):
        if not force and is_current(folder):  # another process wrote them while this one waited
            return False
        building = folder.with_name(f".{folder.name}.building-{os.getpid()}")
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir()  # before the model is unpacked: an unwritable cache fails at once
        try:
            from py3langid.modelio import load_model

            nb_ptc, nb_pc, classes, nextmove, row, output = load_model(_model_file())
            np.save(building / TABLES[0], np.ascontiguousarray(nb_ptc))
            np.save(building / TABLES[1], np.asarray(nextmove))
            np.savez(
                building / SMALL,
                nb_pc=np.asarray(nb_pc),
                classes=np.array(classes),
                tk_row=np.asarray(row),
                tk_output=np.asarray(output, dtype=np.int32),
            )
            (building / INFO).write_text(json.dumps(source()), encoding="utf-8")
            if folder.exists():
                folder.rename(old)  # open files stay readable to the processes that opened them
            building.rename(folder)
        finally:
            shutil.rmtree(building, ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)
    return True


def load_identifier(folder: Path) -> Any:
    """py3langid's ``LanguageIdentifier`` (normalized probabilities) over the tables in ``folder``.

    Writes the tables first when they are missing or stale. If they cannot be written, logs why
    and returns py3langid's identifier with its model in memory: the same answers, more memory.
    """
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    try:
        write_tables(folder)
        nb_ptc, nextmove = (PreadArray(folder / name) for name in TABLES)
        with np.load(folder / SMALL) as small:
            nb_pc, classes = small["nb_pc"], small["classes"].tolist()
            tk_row = array(small["tk_row"].dtype.char, small["tk_row"].tobytes())  # as py3langid keeps it
            tk_output = small["tk_output"].tolist()
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        LOG.warning("language tables in %s unusable (%s); py3langid's model is loaded into memory", folder, exc)
        return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return LanguageIdentifier(nb_ptc, nb_pc, classes, nextmove, tk_output, norm_probs=True, tk_row=tk_row)
