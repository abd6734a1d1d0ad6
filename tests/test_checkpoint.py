"""Checkpoint files: atomic save, epoch pruning, parameter averaging."""

from __future__ import annotations

import torch

from reslstm.checkpoint import average_state_dicts, save_checkpoint, save_training
from reslstm.layout import CheckpointDir


def test_average_and_prune(tmp_path) -> None:
    ckpts = CheckpointDir(tmp_path)
    for epoch, value in [(1, 1.0), (2, 2.0), (10, 6.0)]:
        model = {"w": torch.full((2,), value), "steps": torch.tensor(epoch)}
        save_checkpoint({"model": model}, ckpts.epoch(epoch))
    paths = ckpts.epochs()
    assert [p.name for p in paths] == ["epoch-1.pt", "epoch-2.pt", "epoch-10.pt"]  # numeric order
    avg = average_state_dicts(paths[-2:])
    assert torch.equal(avg["w"], torch.full((2,), 4.0))
    assert avg["steps"].dtype == torch.int64  # non-float buffers are not averaged
    save_training({"model": {"w": torch.zeros(2)}}, ckpts, 11, best=True, keep_last=1)
    assert [p.name for p in ckpts.epochs()] == ["epoch-11.pt"]
    assert ckpts.named("last").samefile(ckpts.epoch(11))  # hard links, not copies
    assert ckpts.named("best").samefile(ckpts.epoch(11))
    save_training({"model": {"w": torch.ones(2)}}, ckpts, None, best=False, keep_last=1)
    assert not ckpts.named("last").samefile(ckpts.epoch(11))  # mid-epoch: last.pt alone
    assert not list(tmp_path.glob(".*tmp-*"))
