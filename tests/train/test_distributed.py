"""Multi-node training through torchrun's c10d rendezvous: two torchrun agents on 127.0.0.1 act
as two "nodes" with one gloo process each, started by ``run.sh --nnodes 2``, and must train
exactly what one node with two processes trains, resume included."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from reslstm.checkpoint import load_checkpoint
from reslstm.train.trainer import resume_mismatch
from tests.helpers import ddp_training, free_port, start_run_sh

RUN = Path("mini_tiny_sdm") / "residual_lstm_L2"
# What only global rank 0 writes into the run directory (every rank creates the directory).
WRITTEN = {"checkpoints", "tensorboard", "config.yaml", "metrics.jsonl", "train_summary.json",
           "train.log"}  # fmt: skip
HISTORY_KEYS = ("epoch", "step", "lr", "bad_batches", "halvings", "dev_loss", "dev_wer", "dev_cer")


def two_nodes(data_dir: Path, exp_dirs: tuple[Path, Path], *extra: str) -> list[tuple[int, str]]:
    """``run.sh --nnodes 2`` as node 0 and node 1 at once (node ``i`` writes to ``exp_dirs[i]``);
    each node's status and output."""
    endpoint = f"127.0.0.1:{free_port()}"
    procs = [
        start_run_sh(
            *("--stage", "3", "--stop-stage", "3", "--nnodes", "2", "--node-rank", str(node)),
            *("--nproc-per-node", "1", "--rdzv-endpoint", endpoint, "--rdzv-id", "two-nodes"),
            *ddp_training(data_dir, exp_dirs[node], "progress_bar=false", *extra),
        )
        for node in (0, 1)
    ]
    try:
        outs = [p.communicate(timeout=600)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:  # a timeout: stop run.sh, torchrun and the ranks
                os.killpg(p.pid, signal.SIGKILL)
    return [(p.returncode, out) for p, out in zip(procs, outs, strict=True)]


def written(run_dir: Path) -> set[str]:
    return {p.name for p in run_dir.iterdir()} if run_dir.is_dir() else set()


def train_losses(run_dir: Path) -> list[tuple[int, float]]:
    acc = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0})
    acc.Reload()
    return [(e.step, e.value) for e in acc.Scalars("train/loss")]


@pytest.fixture(scope="module")
def runs(
    tiny_prepared: Path, ddp_reference: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict:
    """The training of ``ddp_reference`` (one node, two processes, 2 epochs) on two "nodes":
    the first epoch with a run directory per node (only the one that holds global rank 0 may
    write into its own), the second resumed by both nodes from that one's checkpoint."""
    tmp = tmp_path_factory.mktemp("multinode")
    first = two_nodes(tiny_prepared, (tmp / "node0", tmp / "node1"), "train.max_epochs=1")
    for rc, out in first:
        assert rc == 0, out[-3000:]
    nodes = (tmp / "node0", tmp / "node1")
    after_first = {d.name: written(d / RUN) for d in nodes}  # before the second run adds to it
    events = {d.name: len(list((d / RUN / "tensorboard").glob("events.*"))) for d in nodes}
    writers = [d for d in nodes if after_first[d.name]]
    shared = writers[0] if len(writers) == 1 else None
    second = two_nodes(tiny_prepared, (shared, shared), "train.max_epochs=2") if shared else []
    return {"ref": ddp_reference, "tmp": tmp, "writers": writers, "first": first,
            "after_first": after_first, "events": events, "second": second}  # fmt: skip


@pytest.mark.slow
def test_only_global_rank_0_writes_though_both_nodes_have_local_rank_0(runs: dict) -> None:
    assert len(runs["writers"]) == 1, f"run directories written: {runs['writers']}"
    (writer,) = runs["writers"]
    other = "node1" if writer.name == "node0" else "node0"
    assert WRITTEN <= runs["after_first"][writer.name]
    assert runs["after_first"][other] == set(), "the rank-1 node wrote into its run directory"
    assert runs["events"] == {writer.name: 1, other: 0}  # one TensorBoard writer
    outputs = "".join(out for _, out in runs["first"])
    assert outputs.count("epoch 1 done") == 1  # logged by rank 0 only
    assert outputs.count("=== stage 3") == 2 and "=== stage 2" not in outputs


@pytest.mark.slow
def test_two_nodes_resumed_equal_one_node_bit_for_bit(runs: dict) -> None:
    assert runs["second"], "no single writer: see the test above"
    for rc, out in runs["second"]:
        assert rc == 0, out[-3000:]
    assert "".join(out for _, out in runs["second"]).count("resumed from") == 1
    (writer,) = runs["writers"]
    ref = load_checkpoint(runs["ref"] / "checkpoints" / "last.pt")
    got = load_checkpoint(writer / RUN / "checkpoints" / "last.pt")
    assert got["world_size"] == ref["world_size"] == 2
    assert got["state"]["step"] == ref["state"]["step"] > 0
    for name, tensor in ref["model"].items():  # CPU, gloo, one thread: bit-identical
        assert torch.equal(tensor, got["model"][name]), name
    for key, state in ref["optimizer"]["state"].items():
        for name, value in state.items():
            assert torch.equal(
                torch.as_tensor(value), torch.as_tensor(got["optimizer"]["state"][key][name])
            )
    for rank in (0, 1):  # every rank's RNG state, gathered across the nodes
        assert torch.equal(ref["rng"][rank]["torch"], got["rng"][rank]["torch"])
        assert ref["rng"][rank]["numpy"] == got["rng"][rank]["numpy"]
    history = [[h[k] for k in HISTORY_KEYS] for h in got["state"]["history"]]
    assert history == [[h[k] for k in HISTORY_KEYS] for h in ref["state"]["history"]]
    assert len(history) == 2
    assert train_losses(writer / RUN) == train_losses(runs["ref"])


@pytest.mark.slow
def test_a_node_without_the_checkpoint_stops_every_rank(runs: dict, tiny_prepared: Path) -> None:
    """Run directories not on a shared filesystem: one node resumes, the other would start
    afresh; both stop with one line instead of training different batches."""
    (writer,) = runs["writers"]
    last = writer / RUN / "checkpoints" / "last.pt"
    step = load_checkpoint(last)["state"]["step"]
    lonely = runs["tmp"] / "lonely"
    for rc, out in two_nodes(tiny_prepared, (writer, lonely), "train.max_epochs=3"):
        assert rc != 0
        assert "would resume from different points" in out, out[-3000:]
        assert "no checkpoint" in out and "shared by all nodes" in out
    assert load_checkpoint(last)["state"]["step"] == step


def test_resume_mismatch_names_each_rank() -> None:
    fresh, resumed = (1, 0, 0, True), (2, 0, 6, False)
    assert resume_mismatch([fresh, fresh], Path("exp/r")) is None
    assert resume_mismatch([resumed, resumed], Path("exp/r")) is None
    msg = resume_mismatch([resumed, fresh], Path("exp/r"))
    assert msg is not None and "\n" not in msg
    assert "rank 0: step 6 (epoch 2, batch 0); rank 1: no checkpoint" in msg
    assert "exp/r" in msg and "shared by all nodes" in msg
    assert resume_mismatch([resumed, ("error", "bad.pt is unreadable")], Path("r")) == (
        "rank 1: bad.pt is unreadable"
    )
    assert resume_mismatch([("error", "bad")], Path("r")) == "bad"
