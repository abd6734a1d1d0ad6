"""What the trainer records besides losses (train/monitor.py): the TensorBoard layout of the
per-layer gradient norms and the peak memory of train_summary.json."""

from __future__ import annotations

import re
from pathlib import Path

import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.custom_scalar import layout_pb2
from torch.utils.tensorboard import SummaryWriter

from reslstm.train.monitor import add_grad_norm_layout, peak_memory_mb


def test_trainer_layout_and_peak_memory(tmp_path: Path) -> None:
    writer = SummaryWriter(tmp_path)
    add_grad_norm_layout(writer)
    writer.close()
    acc = EventAccumulator(str(tmp_path))
    acc.Reload()
    (config,) = [t for t in acc.Tags()["tensors"] if "custom_scalars" in t]
    layout = layout_pb2.Layout.FromString(acc.Tensors(config)[0].tensor_proto.string_val[0])
    (category,) = layout.category
    charts = {c.title: list(c.multiline.tag) for c in category.chart}  # one chart, many tags
    assert category.title == "gradient norms" and charts == {
        "per LSTM layer (layer1 = bottom)": [r"grad_norm/layer\d+"],
        "total and output layer": [r"grad_norm/(total|output)"],
    }
    layers = charts["per LSTM layer (layer1 = bottom)"][0]
    assert all(re.fullmatch(layers, f"grad_norm/layer{i}") for i in (1, 10))  # the trainer's tags

    peak = peak_memory_mb(torch.device("cpu"))
    assert set(peak) == {"peak_rss_mb"} and 10 < peak["peak_rss_mb"] < 1_000_000
    # a resumed run keeps the peaks of the processes that trained it before
    before = {"peak_rss_mb": 1e9, "peak_cuda_mb": 7.0}
    assert peak_memory_mb(torch.device("cpu"), before) == before
    assert peak_memory_mb(torch.device("cpu"), {"peak_rss_mb": 1.0}) == peak
