"""Process-wide runtime settings shared by every stage: threads, seeds, device."""

from __future__ import annotations

import ctypes
import os
import random
import signal
import sys

import numpy as np
import torch

from reslstm.errors import ReslstmError


def set_threads(num_threads: int) -> None:
    """Pin torch (and OpenMP libraries started after this) to ``num_threads`` threads."""
    os.environ.setdefault("OMP_NUM_THREADS", str(num_threads))
    torch.set_num_threads(num_threads)


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (CPU and CUDA) RNGs."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present; ``cuda`` without a GPU is an error, not a silent CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ReslstmError(f"device={name} was requested but no CUDA device is visible")
    if name != "cpu" and not name.startswith("cuda"):
        raise ReslstmError(f"device={name!r}: use auto, cpu or cuda[:N]")
    return torch.device(name)


def die_with_parent() -> None:
    """Worker-process initializer: get SIGKILLed when the parent dies (Linux ``prctl``).

    Without it, killing a stage leaves its pool workers running as orphans.
    """
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
