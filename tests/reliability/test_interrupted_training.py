"""SIGKILL training at random points and during a checkpoint write; resume must be exact."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
import torch

from reslstm.checkpoint import load_checkpoint
from tests.helpers import run_stage, start_stage

from .helpers import alive, kill_when

pytestmark = pytest.mark.slow
RANDOM_KILLS = 4


def train_args(data_dir: Path, exp_dir: Path) -> list[str]:
    return [
        "data=mini_tiny",
        f"paths.data_dir={data_dir}",
        f"paths.exp_dir={exp_dir}",
        "model.num_layers=2",
        "model.dropout=0.2",
        "train.max_epochs=3",
        "train.max_duration=10",
        "train.warmup_steps=1",
        "train.checkpoint_every_steps=1",
    ]


class After:
    """A condition that holds ``delay`` seconds after ``first`` first held."""

    def __init__(self, first, delay: float) -> None:
        self.first, self.delay, self.since = first, delay, None

    def __call__(self) -> bool:
        if self.since is None:
            self.since = time.monotonic() if self.first() else None
            return False
        return time.monotonic() - self.since >= self.delay


def test_sigkill_anywhere_then_resume_is_exact(tiny_prepared: Path, tmp_path: Path) -> None:
    ref = run_stage("train", *train_args(tiny_prepared, tmp_path / "ref"))
    assert ref.returncode == 0, ref.stdout[-2000:]
    (ref_run,) = (tmp_path / "ref" / "mini_tiny_sdm").iterdir()
    reference = load_checkpoint(ref_run / "checkpoints" / "last.pt")

    args = train_args(tiny_prepared, tmp_path / "killed")
    ckpt_dir = tmp_path / "killed" / "mini_tiny_sdm" / ref_run.name / "checkpoints"
    last = ckpt_dir / "last.pt"
    rng = random.Random(2017)
    kills, in_write = 0, 0
    for i in range(RANDOM_KILLS + 1):
        mtime = last.stat().st_mtime_ns if last.is_file() else 0
        proc = start_stage("train", *args)
        if i == 0:  # the moment a checkpoint replaces another (first: most steps are left)
            writing = lambda: last.is_file() and any(ckpt_dir.glob(".last.tmp-*"))  # noqa: E731
            hit = kill_when(proc, writing) is not None
            in_write += hit
        else:  # a random moment after this process wrote its first checkpoint
            wrote = lambda m=mtime: last.is_file() and last.stat().st_mtime_ns != m  # noqa: E731
            hit = kill_when(proc, After(wrote, rng.uniform(0.0, 0.5))) is not None
        kills += hit
        load_checkpoint(last)  # whatever the moment, the newest checkpoint is whole

    final = run_stage("train", *args)
    assert final.returncode == 0, final.stdout[-2000:]
    resumed = load_checkpoint(ckpt_dir / "last.pt")
    assert in_write == 1 and kills >= 3  # a late random kill may find training finished
    assert resumed["state"]["step"] == reference["state"]["step"]
    assert len(resumed["state"]["history"]) == len(reference["state"]["history"]) == 3
    for name, tensor in reference["model"].items():  # CPU, one thread: bit-identical
        assert torch.equal(tensor, resumed["model"][name]), name
    assert (
        resumed["state"]["history"][-1]["dev_loss"] == reference["state"]["history"][-1]["dev_loss"]
    )
    assert not list(ckpt_dir.glob(".*tmp-*")), "stale temporary checkpoint left behind"


def test_sigkill_of_torchrun_kills_its_ranks_and_ddp_resumes_exactly(
    tiny_prepared: Path, tmp_path: Path
) -> None:
    def ddp(exp: Path):
        args = [*train_args(tiny_prepared, exp), "train.max_epochs=2"]
        return start_stage("train", *args, nproc=2)

    ref = ddp(tmp_path / "ref")
    assert ref.wait(timeout=600) == 0, ref.communicate()[0][-2000:]
    (ref_run,) = (tmp_path / "ref" / "mini_tiny_sdm").iterdir()
    reference = load_checkpoint(ref_run / "checkpoints" / "last.pt")

    last = tmp_path / "killed" / "mini_tiny_sdm" / ref_run.name / "checkpoints" / "last.pt"
    proc = ddp(tmp_path / "killed")
    ranks = kill_when(proc, lambda: last.is_file() and load_checkpoint(last)["state"]["step"] >= 2)
    assert ranks, "training finished before the kill"
    assert not alive(ranks), "DDP ranks outlived the killed torchrun agent"
    assert load_checkpoint(last)["state"]["step"] < reference["state"]["step"]

    resumed_proc = ddp(tmp_path / "killed")
    out = resumed_proc.communicate(timeout=600)[0]
    assert resumed_proc.returncode == 0 and "resumed from" in out, out[-2000:]
    resumed = load_checkpoint(last)
    assert resumed["state"]["step"] == reference["state"]["step"]
    for name, tensor in reference["model"].items():
        assert torch.equal(tensor, resumed["model"][name]), name
