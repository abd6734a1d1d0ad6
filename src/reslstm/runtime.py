"""Process-wide runtime settings shared by every stage: threads, seeds, device."""

from __future__ import annotations

import ctypes
import os
import platform
import random
import signal
import sys
from typing import Any

import numpy as np
import torch

from reslstm.errors import ReslstmError


def set_threads(num_threads: int) -> None:
    """Pin torch (and OpenMP libraries started after this) to ``num_threads`` threads."""
    os.environ.setdefault("OMP_NUM_THREADS", str(num_threads))
    torch.set_num_threads(num_threads)


def set_tf32(enabled: bool) -> None:
    """The config's ``tf32``: TF32 (10-bit mantissa products) in CUDA's fp32 matrix products
    and cuDNN's LSTM when ``enabled``, else IEEE fp32 there. The CPU's products are untouched."""
    if not isinstance(enabled, bool):
        raise ReslstmError(f"tf32 must be true or false, got {enabled!r}")
    precision = "tf32" if enabled else "ieee"
    torch.backends.cuda.matmul.fp32_precision = precision
    torch.backends.cudnn.rnn.fp32_precision = precision


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (CPU and CUDA) RNGs."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    """Every RNG's state in types that ``torch.load(weights_only=True)`` accepts: tensors,
    tuples, lists and numbers (numpy's key array becomes a list of ints)."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": [name, keys.tolist(), pos, has_gauss, cached],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured."""
    random.setstate(state["python"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


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


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else the platform's guess: what benchmark
    figures are quoted with."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
