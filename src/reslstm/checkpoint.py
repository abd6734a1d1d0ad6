"""Checkpoints, shared by training (stage 3) and decoding (4): what a training checkpoint
holds, saving and restoring it, safe loading, averaging, and loading a trained model.

The files of a run's ``checkpoints/`` are named by :class:`reslstm.layout.CheckpointDir`.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import torch
from torch import nn

from reslstm.errors import ReslstmError
from reslstm.io import atomic_path
from reslstm.layout import CheckpointDir, RunDir, require, run_first
from reslstm.models import CTCModel, build_model
from reslstm.runtime import set_rng_state

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


def training_checkpoint(
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    schedule: Any,
    state: dict[str, Any],
    rng_by_rank: list[dict[str, Any]],
    model_cfg: dict[str, Any],
    input_dim: int,
    vocab_size: int,
    world_size: int,
) -> dict[str, Any]:
    """What a training checkpoint holds: weights, optimiser and schedule states, the trainer's
    ``state`` (epoch, batch, history, ...), every rank's RNG states (a resumed DDP run draws the
    same masks), and what :func:`load_trained_model` needs to rebuild the model."""
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "schedule": schedule.state_dict(),
        "state": state,
        "rng": rng_by_rank,
        "model_cfg": model_cfg,
        "input_dim": input_dim,
        "vocab_size": vocab_size,
        "world_size": world_size,
    }


def save_training(
    ckpt: dict[str, Any], ckpts: CheckpointDir, epoch: int | None, best: bool, keep_last: int
) -> None:
    """Mid-epoch (``epoch`` None): ``last.pt``. After epoch ``epoch``: ``epoch-<n>.pt``,
    hard-linked as ``last.pt`` (and ``best.pt``), older epochs beyond ``keep_last`` pruned."""
    if epoch is None:
        save_checkpoint(ckpt, ckpts.named("last"))
        return
    epoch_path = ckpts.epoch(epoch)
    save_checkpoint(ckpt, epoch_path)
    for name in ["last"] + (["best"] if best else []):
        with atomic_path(ckpts.named(name)) as tmp:
            os.link(epoch_path, tmp)
    for path in ckpts.epochs()[:-keep_last] if keep_last > 0 else []:
        path.unlink(missing_ok=True)


def resume_path(ckpts: CheckpointDir, resume: str) -> Path | None:
    """The checkpoint ``train.resume`` names: ``auto`` (``last.pt`` if any), ``none`` or a path."""
    if resume == "none":
        return None
    path = ckpts.named("last") if resume == "auto" else Path(resume)
    if not path.is_file():
        if resume != "auto":
            raise ReslstmError(f"train.resume={resume}: no such checkpoint")
        return None
    return path


def restore_training(
    path: Path,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    schedule: Any,
    model_cfg: dict[str, Any],
    world_size: int,
    rank: int,
) -> dict[str, Any]:
    """Load a :func:`training_checkpoint` into the model, optimiser, schedule and this rank's
    RNGs; return the trainer ``state`` it holds. A checkpoint of another model config or world
    size is refused with one line."""
    ckpt = load_checkpoint(path)
    if ckpt["model_cfg"] != model_cfg:
        raise ReslstmError(
            f"{path} was trained with a different model config; use another tag= or "
            "train.resume=none with a fresh run directory"
        )
    if ckpt.get("world_size", 1) != world_size:
        raise ReslstmError(
            f"{path} was written with {ckpt.get('world_size', 1)} processes; resume with "
            f"the same number (now {world_size})"
        )
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    schedule.load_state_dict(ckpt["schedule"])
    set_rng_state(ckpt["rng"][rank])
    return ckpt["state"]


def average_state_dicts(paths: list[Path]) -> dict[str, torch.Tensor]:
    """Element-wise mean of the models stored in ``paths`` (buffers such as CMVN included)."""
    avg: dict[str, torch.Tensor] = {}
    for path in paths:
        for k, v in load_checkpoint(path)["model"].items():
            avg[k] = avg.get(k, 0) + v.double() if v.is_floating_point() else v
    return {k: (v / len(paths)).float() if v.is_floating_point() else v for k, v in avg.items()}


def checkpoint_paths(run_dir: Path, which: str, avg_last: int = 3) -> list[Path]:
    """The checkpoint files that make up a run's ``best``, ``last`` or ``avg`` model."""
    ckpts = RunDir(Path(run_dir)).checkpoints
    if which == "avg":
        paths = ckpts.epochs()[-avg_last:]
        if not paths:
            raise ReslstmError(f"missing {ckpts.path / 'epoch-*.pt'}: {run_first(3)}")
        return paths
    if which not in ("best", "last"):
        raise ReslstmError(f"decode.checkpoint={which!r}: use best, last or avg")
    return [require(ckpts.named(which), 3)]


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
