"""Convert older checkpoints to the safe format (``reslstm-convert-checkpoint``).

Older checkpoints stored numpy's RNG state as a numpy array, which the safe loader
(``weights_only=True``) refuses. This command loads each given file with the safe loader plus
exactly numpy's array types allow-listed (``torch.serialization.safe_globals``; still no
arbitrary code), rewrites the RNG states in plain types, checks that the result loads with the
plain safe loader and replaces the file atomically.

    reslstm-convert-checkpoint exp/mini_sdm/residual_lstm_L10/checkpoints/*.pt
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from reslstm.checkpoint import load_checkpoint, save_checkpoint
from reslstm.errors import ReslstmError

_np_core = getattr(np, "_core", None) or np.core
# What a pickled numpy array needs, and nothing more.
NUMPY_ARRAY_TYPES = [_np_core.multiarray._reconstruct, np.ndarray, np.dtype, np.dtypes.UInt32DType]


def safe_rng(rng: dict[str, Any]) -> dict[str, Any]:
    """One rank's RNG states with numpy's ``(name, ndarray, ...)`` tuple turned into a list."""
    name, keys, pos, has_gauss, cached = rng["numpy"]
    return rng | {"numpy": [name, np.asarray(keys).tolist(), pos, has_gauss, cached]}


def convert(path: Path) -> None:
    """Rewrite ``path`` in the safe format (a no-op for a file that is already safe)."""
    try:
        load_checkpoint(path)
        print(f"{path}: already in the safe format")
        return
    except ReslstmError:
        pass
    try:
        with torch.serialization.safe_globals(NUMPY_ARRAY_TYPES):
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - crafted, truncated or not a torch file: one line
        raise ReslstmError(f"{path} cannot be converted ({e.__class__.__name__})") from e
    if not isinstance(state, dict):
        raise ReslstmError(f"{path} is not a reslstm checkpoint")
    state["rng"] = [safe_rng(r) for r in state.get("rng", [])]
    tmp = path.with_name(f".{path.name}.converted")
    save_checkpoint(state, tmp)
    try:
        load_checkpoint(tmp)
    except ReslstmError as e:
        tmp.unlink(missing_ok=True)
        raise ReslstmError(f"{path}: cannot be converted: {e}") from e
    tmp.replace(path)
    print(f"{path}: converted")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+", type=Path, help="checkpoint files you trust")
    args = parser.parse_args(argv)
    try:
        for path in args.paths:
            if not path.is_file():
                raise ReslstmError(f"no such checkpoint: {path}")
            convert(path)
    except ReslstmError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
