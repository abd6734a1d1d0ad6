"""Global mean/variance statistics of the training features (applied inside the model)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from lhotse import CutSet

from reslstm.io import atomic_write_json


def compute_cmvn(cuts: CutSet) -> dict[str, list[float] | int]:
    """Per-dimension mean and standard deviation over every frame of ``cuts`` (float64 sums)."""
    total = sq = None
    frames = 0
    for cut in cuts:
        feats = cut.load_features().astype(np.float64)
        total = feats.sum(0) if total is None else total + feats.sum(0)
        sq = (feats**2).sum(0) if sq is None else sq + (feats**2).sum(0)
        frames += feats.shape[0]
    if not frames:
        raise ValueError("no frames to compute CMVN statistics from")
    mean = total / frames
    std = np.sqrt(np.maximum(sq / frames - mean**2, 1e-10))
    return {"mean": mean.tolist(), "std": std.tolist(), "frames": frames}


def pool_cmvn(stats: Sequence[dict]) -> dict[str, list[float] | int]:
    """The statistics of several sets of frames together (each a :func:`compute_cmvn` result),
    as :func:`compute_cmvn` over all their frames would give them, up to rounding."""
    if len(stats) == 1:
        return stats[0]
    frames = np.array([[s["frames"]] for s in stats], dtype=np.float64)
    means = np.array([s["mean"] for s in stats], dtype=np.float64)
    stds = np.array([s["std"] for s in stats], dtype=np.float64)
    mean = (frames * means).sum(0) / frames.sum()
    sq = (frames * (stds**2 + means**2)).sum(0) / frames.sum()
    std = np.sqrt(np.maximum(sq - mean**2, 1e-10))
    return {"mean": mean.tolist(), "std": std.tolist(), "frames": int(frames.sum())}


def save_cmvn(stats: dict, path: Path) -> None:
    atomic_write_json(path, stats)


def load_cmvn(paths: Sequence[str | Path]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mean, std)`` as float32 tensors, of the statistics in ``paths`` pooled (one file per
    microphone condition a run trains on)."""
    stats = pool_cmvn([json.loads(Path(p).read_text()) for p in paths])
    return torch.tensor(stats["mean"]), torch.tensor(stats["std"])
