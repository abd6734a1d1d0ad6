"""Checkpoint files: atomic save, epoch pruning, parameter averaging, the decoded average."""

from __future__ import annotations

import torch

from reslstm.checkpoint import (
    average_state_dicts,
    load_checkpoint,
    load_trained_model,
    save_checkpoint,
    save_training,
)
from reslstm.layout import CheckpointDir, RunDir


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


def test_the_decoded_avg_model_is_the_mean_of_a_real_runs_last_epochs(ddp_reference) -> None:
    """``decode.checkpoint=avg`` (the model stage 4 loads): each parameter is the mean of the
    last ``avg_last`` epochs' parameters of a real two-epoch run, not either epoch's."""
    epochs = RunDir(ddp_reference).checkpoints.epochs()
    assert [p.name for p in epochs] == ["epoch-1.pt", "epoch-2.pt"]
    first, last = (load_checkpoint(p)["model"] for p in epochs)
    avg = load_trained_model(ddp_reference, "avg", avg_last=2).state_dict()
    moved = 0
    for name, value in avg.items():
        if value.is_floating_point():
            mean = ((first[name].double() + last[name].double()) / 2).float()
            torch.testing.assert_close(value, mean, rtol=0, atol=1e-7)
            moved += int(not torch.equal(first[name], last[name]))
    assert moved > 0  # training changed the weights between the two epochs
    only_last = load_trained_model(ddp_reference, "avg", avg_last=1).state_dict()
    assert all(torch.equal(only_last[k], last[k]) for k in last)
