"""What the trainer records besides losses: the TensorBoard chart layout of the per-layer
gradient norms and the run's peak memory (``train_summary.json``)."""

from __future__ import annotations

import math
import resource
import sys
from typing import Any

import torch
from torch.utils.tensorboard import SummaryWriter

# TensorBoard's "Custom Scalars" tab: every layer's gradient norm in one chart (tags are regular
# expressions), so the depths can be compared directly; the Scalars tab has one chart per tag.
GRAD_NORM_LAYOUT = {
    "gradient norms": {
        "per LSTM layer (layer1 = bottom)": ["Multiline", [r"grad_norm/layer\d+"]],
        "total and output layer": ["Multiline", [r"grad_norm/(total|output)"]],
    }
}


def add_grad_norm_layout(writer: SummaryWriter) -> None:
    """Write the custom-scalars layout of the gradient norms into ``writer``'s event file."""
    writer.add_custom_scalars(GRAD_NORM_LAYOUT)


def peak_memory_mb(
    device: torch.device, before: dict[str, float] | None = None
) -> dict[str, float]:
    """This process's peak resident memory (``peak_rss_mb``) and, on CUDA, the peak of memory
    allocated by tensors on ``device`` (``peak_cuda_mb``), in MiB; each at least its value in
    ``before`` (the peaks of the processes a resumed run was trained by before)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    peak = {"peak_rss_mb": round(rss / (2**20 if sys.platform == "darwin" else 2**10), 1)}
    if device.type == "cuda":
        peak["peak_cuda_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    for key, value in (before or {}).items():
        peak[key] = max(value, peak.get(key, value))
    return peak


def layer_grad_norms(model: Any) -> dict[str, float]:
    """The gradient norm of each of ``model.layer_groups()`` (layer1..N, output)."""
    norms = {}
    for name, params in model.layer_groups():
        sq = sum(float(p.grad.detach().float().norm() ** 2) for p in params if p.grad is not None)
        norms[name] = math.sqrt(sq)
    return norms
