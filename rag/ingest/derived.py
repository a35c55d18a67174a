"""Data derived from one index generation, kept beside it so a restart skips recomputing it.

A generation never changes once it is switched in (see rag.ingest.storage), so whatever is computed
from it (the paper catalogue, the BM25 index) stays valid as long as the generation lives. The
generation's unique name is the key: there is nothing to invalidate and nothing can drift.
Files live under `<index folder>/derived/<generation>/`, in server mode too: the folder is
local to each machine and each machine fills its own. Everything is written under a temporary
name and renamed into place, so a killed or concurrent writer never leaves half a file, and
whatever cannot be read is simply computed again. After an ingest, the folders of generations
that no longer exist are removed.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Collection
from pathlib import Path

log = logging.getLogger(__name__)

DERIVED = "derived"


def folder(index_path: Path, generation: str) -> Path:
    return Path(index_path) / DERIVED / generation


def read_json(place: Path) -> object | None:
    """The JSON value at `place`, or None when it is missing or unreadable."""
    try:
        return json.loads(place.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json(place: Path, value: object) -> None:
    """Write `value` atomically; a failure (read-only folder, full disk) only costs speed."""
    partial = place.with_name(f".{place.name}.{uuid.uuid4().hex[:8]}")
    try:
        place.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(value), encoding="utf-8")
        os.replace(partial, place)
    except OSError as error:
        log.warning("could not keep %s: %s", place, error)
        partial.unlink(missing_ok=True)


def write_folder(place: Path, fill: Callable[[Path], None]) -> None:
    """Fill a temporary folder with `fill`, then rename it to `place` (replacing what is
    there: the caller found it unusable)."""
    partial = place.with_name(f".{place.name}.{uuid.uuid4().hex[:8]}")
    try:
        partial.mkdir(parents=True)
        fill(partial)
        shutil.rmtree(place, ignore_errors=True)
        os.rename(partial, place)
    except OSError as error:
        if not place.is_dir():
            log.warning("could not keep %s: %s", place, error)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def prune(index_path: Path, keep: Collection[str | None]) -> None:
    """Remove the derived data of every generation not in `keep`."""
    root = Path(index_path) / DERIVED
    if not root.is_dir():
        return
    for entry in root.iterdir():
        if entry.name not in keep:
            shutil.rmtree(entry, ignore_errors=True)
