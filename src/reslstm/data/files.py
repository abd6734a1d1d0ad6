"""Small filesystem helpers shared by the data stage."""

from __future__ import annotations

import shutil
from pathlib import Path


def remove_stale_tmp(path: Path) -> None:
    """Delete temporaries that a killed ``io.atomic_path(path)`` left next to ``path``."""
    for stale in path.parent.glob(f".{path.name.split('.')[0]}.tmp-*"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)
