"""Checkpoint files: atomic save, epoch pruning, parameter averaging."""

from __future__ import annotations

import torch

from reslstm.checkpoint import (
    average_state_dicts,
    epoch_checkpoints,
    prune_epochs,
    save_checkpoint,
)


def test_average_and_prune(tmp_path) -> None:
    for epoch, value in [(1, 1.0), (2, 2.0), (10, 6.0)]:
        model = {"w": torch.full((2,), value), "steps": torch.tensor(epoch)}
        save_checkpoint({"model": model}, tmp_path / f"epoch-{epoch}.pt")
    paths = epoch_checkpoints(tmp_path)
    assert [p.name for p in paths] == ["epoch-1.pt", "epoch-2.pt", "epoch-10.pt"]  # numeric order
    avg = average_state_dicts(paths[-2:])
    assert torch.equal(avg["w"], torch.full((2,), 4.0))
    assert avg["steps"].dtype == torch.int64  # non-float buffers are not averaged
    prune_epochs(tmp_path, keep_last=1)
    assert [p.name for p in epoch_checkpoints(tmp_path)] == ["epoch-10.pt"]
    assert not list(tmp_path.glob(".*tmp-*"))
