"""SIGKILL training at random points and during a checkpoint write; resume must be exact.
A second training of a run that is training refuses to start and changes nothing."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import time
from pathlib import Path

import pytest
import torch

from reslstm.checkpoint import load_checkpoint
from reslstm.runlock import lock_file
from tests.helpers import ddp_training, run_stage, start_stage

from .helpers import alive, error_lines, kill_when

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


@pytest.fixture(scope="module")
def alone(tiny_prepared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run directory of :func:`train_args`'s training, run alone and uninterrupted."""
    exp = tmp_path_factory.mktemp("alone")
    ref = run_stage("train", *train_args(tiny_prepared, exp))
    assert ref.returncode == 0, ref.stdout[-2000:]
    (run,) = (exp / "mini_tiny_sdm").iterdir()
    return run


def test_sigkill_anywhere_then_resume_is_exact(
    tiny_prepared: Path, alone: Path, tmp_path: Path
) -> None:
    ref_run = alone
    reference = load_checkpoint(ref_run / "checkpoints" / "last.pt")

    args = train_args(tiny_prepared, tmp_path / "killed")
    ckpt_dir = tmp_path / "killed" / "mini_tiny_sdm" / ref_run.name / "checkpoints"
    last = ckpt_dir / "last.pt"
    rng = random.Random(2017)
    kills, in_write, mid_epoch = 0, 0, 0
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
        state = load_checkpoint(last)["state"]  # whatever the moment, the newest one is whole
        mid_epoch += hit and state["batch_in_epoch"] > 0
        if i == 0 and hit:  # killed mid-write: its lock is left behind, the next one takes it
            assert lock_file(ckpt_dir.parent).is_file()

    final = run_stage("train", *args)
    assert final.returncode == 0, final.stdout[-2000:]
    resumed = load_checkpoint(ckpt_dir / "last.pt")
    assert in_write == 1 and kills >= 3  # a late random kill may find training finished
    assert mid_epoch >= 1 and "resumed from" in final.stdout
    assert resumed["state"]["step"] == reference["state"]["step"]
    assert len(resumed["state"]["history"]) == len(reference["state"]["history"]) == 3
    for name, tensor in reference["model"].items():  # CPU, one thread: bit-identical
        assert torch.equal(tensor, resumed["model"][name]), name
    assert (
        resumed["state"]["history"][-1]["dev_loss"] == reference["state"]["history"][-1]["dev_loss"]
    )
    assert not list(ckpt_dir.glob(".*tmp-*")), "stale temporary checkpoint left behind"


def timeless(history: list[dict]) -> list[dict]:
    """Epoch records without their wall-clock time."""
    return [{k: v for k, v in h.items() if k != "elapsed_s"} for h in history]


def checkpoint_files(run: Path) -> dict[str, dict]:
    """Every checkpoint of ``run`` without its wall-clock time and peak memory."""
    found = {}
    for path in sorted((run / "checkpoints").iterdir()):
        ckpt = load_checkpoint(path)
        state = ckpt["state"]
        del state["elapsed_s"], state["peak_memory"]
        state["history"] = timeless(state["history"])
        found[path.name] = ckpt
    return found


def difference(a: object, b: object, where: str = "") -> str | None:
    """Where ``a`` and ``b`` first differ (tensors bit for bit, at any depth of dicts, lists and
    tuples), or None."""
    if isinstance(a, torch.Tensor):
        equal = isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
        return None if equal else where
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        return next(filter(None, (difference(a[k], b[k], f"{where}/{k}") for k in a)), None)
    if isinstance(a, list | tuple) and type(a) is type(b) and len(a) == len(b):
        pairs = enumerate(zip(a, b, strict=True))
        return next(filter(None, (difference(x, y, f"{where}/{i}") for i, (x, y) in pairs)), None)
    return None if a == b else where


def metric_lines(run: Path) -> list[dict]:
    """``metrics.jsonl`` without the wall-clock time."""
    return timeless([json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()])


def test_a_second_training_of_a_run_in_training_refuses_and_changes_nothing(
    tiny_prepared: Path, alone: Path, tmp_path: Path
) -> None:
    """The same training started twice: the second, started while the first trains (held
    still after its first checkpoint, so that it is surely mid-run), exits 2 naming the first;
    the first's checkpoints, metrics and log are those of a run alone."""
    args = train_args(tiny_prepared, tmp_path)
    run = tmp_path / "mini_tiny_sdm" / alone.name
    first = start_stage("train", *args)
    deadline = time.monotonic() + 300
    while not (run / "checkpoints" / "last.pt").is_file() and first.poll() is None:
        assert time.monotonic() < deadline, "no checkpoint after 300 s"
        time.sleep(0.01)
    os.kill(first.pid, signal.SIGSTOP)
    try:
        second = run_stage("train", *args)
    finally:
        os.kill(first.pid, signal.SIGCONT)
    out = first.communicate(timeout=600)[0]
    assert first.returncode == 0, out[-2000:]
    assert second.returncode == 2, second.stdout[-2000:]
    (line,) = error_lines(second)
    assert re.fullmatch(
        rf"error: {run} is being written by process {first.pid} on {socket.gethostname()} "
        rf"\(reslstm-train, started [-0-9: ]+\): wait for it to end or stop it "
        rf"\(lock {lock_file(run)}\)",
        line,
    ), line
    assert not lock_file(run).exists()

    ours, theirs = checkpoint_files(run), checkpoint_files(alone)
    assert ours.keys() == theirs.keys() and "best.pt" in ours
    for name, ckpt in theirs.items():
        assert difference(ours[name], ckpt, name) is None
    assert metric_lines(run) == metric_lines(alone)
    assert (run / "train.log").read_text().count("training residual_lstm") == 1
    assert len(list((run / "tensorboard").glob("events.*"))) == 1


def test_sigkill_of_torchrun_kills_its_ranks_and_ddp_resumes_exactly(
    tiny_prepared: Path, ddp_reference: Path, tmp_path: Path
) -> None:
    def ddp():
        args = ddp_training(tiny_prepared, tmp_path, "train.max_epochs=2")
        return start_stage("train", *args, nproc=2)

    reference = load_checkpoint(ddp_reference / "checkpoints" / "last.pt")
    last = tmp_path / "mini_tiny_sdm" / ddp_reference.name / "checkpoints" / "last.pt"
    proc = ddp()
    ranks = kill_when(proc, lambda: last.is_file() and load_checkpoint(last)["state"]["step"] >= 2)
    assert ranks, "training finished before the kill"
    assert not alive(ranks), "DDP ranks outlived the killed torchrun agent"
    assert load_checkpoint(last)["state"]["step"] < reference["state"]["step"]

    resumed_proc = ddp()
    out = resumed_proc.communicate(timeout=600)[0]
    assert resumed_proc.returncode == 0 and "resumed from" in out, out[-2000:]
    resumed = load_checkpoint(last)
    assert resumed["state"]["step"] == reference["state"]["step"]
    for name, tensor in reference["model"].items():
        assert torch.equal(tensor, resumed["model"][name]), name
