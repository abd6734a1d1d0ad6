"""Global mean/variance statistics of the training features (applied inside the model)."""

from __future__ import annotations

import json
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


def save_cmvn(stats: dict, path: Path) -> None:
    atomic_write_json(path, stats)


def load_cmvn(path: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mean, std)`` as float32 tensors."""
    stats = json.loads(Path(path).read_text())
    return torch.tensor(stats["mean"]), torch.tensor(stats["std"])
