"""Checkpoints, shared by training (stage 3) and decoding (4): atomic writes, safe loading,
averaging, and loading a trained model.

Layout of a run directory's ``checkpoints/``: ``last.pt`` (newest state, also mid-epoch),
``epoch-<n>.pt`` (the last ``keep_last`` epochs), ``best.pt`` (lowest dev loss).
"""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path
from typing import Any

import torch

from reslstm.errors import ReslstmError
from reslstm.io import atomic_path
from reslstm.models import CTCModel, build_model

EPOCH_RE = re.compile(r"epoch-(\d+)\.pt$")
CHECKPOINT_KEYS = frozenset({"model"})


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    """``torch.save`` to a temp file, fsync, rename: a reader never sees a partial file."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint with the safe loader only (``weights_only=True``): tensors, numbers,
    strings and containers of them. A pickle that would build any other object, and so could
    run code, is refused with one line; nothing in it is executed."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise ReslstmError(
            f"checkpoint {path} holds objects that the safe loader refuses "
            f"({_first_line(e)}): it was not written by this version of reslstm, or it was "
            "crafted to run code. Only if you trust where it came from, convert it: "
            f"reslstm-convert-checkpoint {path}"
        ) from e
    except Exception as e:  # noqa: BLE001 - truncated, not a zip, not a torch file: one line
        raise ReslstmError(f"checkpoint {path} is unreadable ({_first_line(e)})") from e
    if not isinstance(state, dict) or not CHECKPOINT_KEYS <= set(state):
        raise ReslstmError(f"{path} is not a reslstm checkpoint (no {sorted(CHECKPOINT_KEYS)})")
    return state


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{e.__class__.__name__}: {text[0] if text else ''}"[:300]


def epoch_checkpoints(ckpt_dir: Path) -> list[Path]:
    """``epoch-<n>.pt`` files, oldest first."""
    found = [
        (int(m.group(1)), p) for p in ckpt_dir.glob("epoch-*.pt") if (m := EPOCH_RE.search(p.name))
    ]
    return [p for _, p in sorted(found)]


def prune_epochs(ckpt_dir: Path, keep_last: int) -> None:
    for path in epoch_checkpoints(ckpt_dir)[:-keep_last] if keep_last > 0 else []:
        path.unlink(missing_ok=True)


def average_state_dicts(paths: list[Path]) -> dict[str, torch.Tensor]:
    """Element-wise mean of the models stored in ``paths`` (buffers such as CMVN included)."""
    avg: dict[str, torch.Tensor] = {}
    for path in paths:
        for k, v in load_checkpoint(path)["model"].items():
            avg[k] = avg.get(k, 0) + v.double() if v.is_floating_point() else v
    return {k: (v / len(paths)).float() if v.is_floating_point() else v for k, v in avg.items()}


def checkpoint_paths(run_dir: Path, which: str, avg_last: int = 3) -> list[Path]:
    """The checkpoint files that make up a run's ``best``, ``last`` or ``avg`` model."""
    ckpt_dir = Path(run_dir) / "checkpoints"
    if which == "avg":
        paths = epoch_checkpoints(ckpt_dir)[-avg_last:]
        if not paths:
            raise ReslstmError(f"no epoch checkpoints to average in {ckpt_dir}: train first")
        return paths
    if which not in ("best", "last"):
        raise ReslstmError(f"decode.checkpoint={which!r}: use best, last or avg")
    path = ckpt_dir / f"{which}.pt"
    if not path.is_file():
        raise ReslstmError(f"missing checkpoint {path}: run stage 3 (train) for this model")
    return [path]


def load_trained_model(run_dir: Path, which: str = "best", avg_last: int = 3) -> CTCModel:
    """The model of a finished run: ``best``, ``last``, or ``avg`` of the last epochs."""
    paths = checkpoint_paths(run_dir, which, avg_last)
    meta = load_checkpoint(paths[-1])
    weights = average_state_dicts(paths) if which == "avg" else meta["model"]
    try:
        model = build_model(meta["model_cfg"], meta["input_dim"], meta["vocab_size"])
        model.load_state_dict(weights)
    except (ValueError, RuntimeError, TypeError, KeyError) as e:
        raise ReslstmError(
            f"checkpoint {paths[-1]} does not match its own model config ({_first_line(e)})"
        ) from e
    return model.eval()


def checkpoint_identity(run_dir: Path, which: str, avg_last: int = 3) -> list[list]:
    """Names, sizes and mtimes of the checkpoint files ``load_trained_model`` would read."""
    paths = checkpoint_paths(run_dir, which, avg_last)
    return [[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in paths]
