"""Atomic file output and stage completion markers.

Every stage writes into temporary paths and renames them into place, then writes a ``.done``
marker last. A stage is complete only when its marker exists and records the same inputs, so a
killed stage is never mistaken for a finished one and re-running it redoes the work.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MARKER = ".done"


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; rename it onto ``path`` only if the block succeeds.

    Works for files and directories (the block creates whichever it needs at the yielded path).
    The temporary name keeps the suffixes of ``path`` so libraries that pick a format from the
    extension (``.jsonl.gz``) still do the right thing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.name.split('.')[0]}.tmp-", suffix="".join(path.suffixes), dir=path.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        yield tmp
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def remove_stale_tmp(path: str | Path) -> None:
    """Delete temporaries that a killed ``atomic_path(path)`` left next to ``path``.

    ``path`` may be ``<dir>/*`` to clean the temporaries of every file in ``<dir>``.
    """
    path = Path(path)
    for stale in path.parent.glob(f".{path.name.split('.')[0]}.tmp-*"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (fsync'd temp file + rename); a directory at
    ``path`` is refused, never replaced."""
    if Path(path).is_dir():
        raise IsADirectoryError(f"{path} is a directory: a file cannot replace it")
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, UTF-8 encoded."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as pretty JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def fingerprint(obj: Any) -> str:
    """A short stable hash of a JSON-serialisable object (e.g. the config a stage ran with)."""
    blob = json.dumps(obj, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def is_done(directory: str | Path, key: Any = None) -> bool:
    """True if ``directory`` holds a completion marker written with the same ``key``."""
    marker = Path(directory) / MARKER
    if not marker.is_file():
        return False
    if key is None:
        return True
    try:
        return json.loads(marker.read_text()).get("key") == fingerprint(key)
    except (json.JSONDecodeError, OSError):
        return False


def mark_done(directory: str | Path, key: Any = None, **info: Any) -> None:
    """Write the completion marker of ``directory`` (last step of a stage)."""
    atomic_write_json(Path(directory) / MARKER, {"key": fingerprint(key), **info})


def clear_done(directory: str | Path) -> None:
    """Remove the completion marker so the stage runs again (first step of a stage)."""
    (Path(directory) / MARKER).unlink(missing_ok=True)


def done_marker(directory: str | Path) -> str | None:
    """The marker of a finished stage directory as text, None if unfinished: a later stage puts
    it in its own key, so that redoing this stage redoes that one too."""
    marker = Path(directory) / MARKER
    return marker.read_text() if marker.is_file() else None
