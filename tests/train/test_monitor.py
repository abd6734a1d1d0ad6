"""What the trainer records besides losses (train/monitor.py): the TensorBoard layout of the
per-layer gradient norms and the peak memory of train_summary.json."""

from __future__ import annotations

from pathlib import Path

import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.utils.tensorboard import SummaryWriter

from reslstm.train.monitor import GRAD_NORM_LAYOUT, add_grad_norm_layout, peak_memory_mb


def test_trainer_layout_and_peak_memory(tmp_path: Path) -> None:
    writer = SummaryWriter(tmp_path)
    add_grad_norm_layout(writer)
    writer.close()
    acc = EventAccumulator(str(tmp_path))
    acc.Reload()
    (config,) = [t for t in acc.Tags()["tensors"] if "custom_scalars" in t]
    layout = acc.Tensors(config)[0].tensor_proto.string_val[0].decode(errors="replace")
    assert r"grad_norm/layer\d+" in layout
    assert "Multiline" in str(GRAD_NORM_LAYOUT)

    peak = peak_memory_mb(torch.device("cpu"))
    assert set(peak) == {"peak_rss_mb"} and 10 < peak["peak_rss_mb"] < 1_000_000
    # a resumed run keeps the peaks of the processes that trained it before
    before = {"peak_rss_mb": 1e9, "peak_cuda_mb": 7.0}
    assert peak_memory_mb(torch.device("cpu"), before) == before
    assert peak_memory_mb(torch.device("cpu"), {"peak_rss_mb": 1.0}) == peak
