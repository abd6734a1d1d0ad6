"""Gradient flow (results/grad_flow.py) on made-up runs with real TensorBoard event files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from torch.utils.tensorboard import SummaryWriter

from reslstm.results import collect_runs, write_results
from reslstm.results.grad_flow import (
    collect_grad_flow,
    deepest_per_model,
    grad_flow,
    grad_flow_markdown,
    last_epoch_bounds,
    read_grad_norms,
    relative_norms,
)
from reslstm.results.runs import read_run
from tests.results.test_table import RUNS, make_run

PNG = b"\x89PNG\r\n\x1a\n"


def write_events(
    run: Path, norms: dict[int, list[float]], purge_step: int | None = None, order: int = 1
) -> None:
    """``grad_norm/layer1..L`` (and ``grad_norm/output``, ``train/loss``) as the trainer logs
    them; ``order`` names the event file so that files load in the order they were written."""
    tb = run / "tensorboard"
    before = set(tb.glob("events.*"))
    writer = SummaryWriter(tb, purge_step=purge_step)
    for step, values in sorted(norms.items()):
        writer.add_scalar("train/loss", 1.0, step)
        for layer, value in enumerate(values, 1):
            writer.add_scalar(f"grad_norm/layer{layer}", value, step)
        writer.add_scalar("grad_norm/output", 9.0, step)
    writer.close()
    (new,) = set(tb.glob("events.*")) - before
    new.rename(tb / f"events.out.tfevents.{order:010d}.test")


def write_metrics(run: Path, epoch_end_steps: list[int]) -> None:
    rows = [{"epoch": e, "step": s, "dev_loss": 1.0} for e, s in enumerate(epoch_end_steps, 1)]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def flow_run(root: Path, model: str = "residual_lstm", layers: int = 3) -> Path:
    """A run with 200 steps logged every 10 in three epochs (ending at steps 80, 160, 200).

    Steps 10-100: layer i has 2**(i - L) times the top layer's norm (the scale changes from
    step to step). Steps 110-200: layer 1 alternates between 0.1 and 10 times the top's, the
    other layers equal it (arithmetic mean of layer 1: 5.05, geometric: 1).
    """
    run = root / f"{model}_L{layers}"
    run.mkdir(parents=True)
    norms = {}
    for step in range(10, 201, 10):
        scale = step / 10
        if step <= 100:
            norms[step] = [scale * 2.0 ** (i - layers) for i in range(1, layers + 1)]
        else:
            first = 0.1 if step % 20 else 10.0
            norms[step] = [scale * first] + [scale] * (layers - 1)
    write_events(run, norms)
    write_metrics(run, [80, 160, 200])
    (run / "train_summary.json").write_text(json.dumps({"model": model, "num_layers": layers}))
    return run


def test_relative_norms_early_and_last_epoch_windows(tmp_path: Path) -> None:
    run = read_run(flow_run(tmp_path))
    norms = read_grad_norms(run.path / "tensorboard")
    assert sorted(norms) == list(range(10, 201, 10)) and set(norms[10]) == {1, 2, 3}
    assert last_epoch_bounds(run) == (160, 200)

    flow = grad_flow(run, early_steps=100)
    assert flow.num_layers == 3
    assert flow.early.steps == 10 and (flow.early.after, flow.early.until) == (0, 100)
    assert flow.early.relative == pytest.approx((0.25, 0.5, 1.0))
    # steps 170-200: two with 0.1, two with 10 -> geometric mean 1
    assert flow.last_epoch.steps == 4 and flow.last_epoch.relative == pytest.approx((1, 1, 1))
    # a shorter early window, and an explicit one over steps 110-200 (ten steps)
    assert grad_flow(run, early_steps=35).early.steps == 3
    late = relative_norms(norms, 3, after=100)
    assert late.steps == 10 and late.relative == pytest.approx((1.0, 1.0, 1.0))
    assert relative_norms(norms, 3, after=200) is None


def test_one_epoch_or_none_finished_and_unusable_steps(tmp_path: Path) -> None:
    run_dir = flow_run(tmp_path)
    write_metrics(run_dir, [200])  # a single epoch: its window is every step
    flow = grad_flow(read_run(run_dir))
    assert (flow.last_epoch.after, flow.last_epoch.until, flow.last_epoch.steps) == (0, 200, 20)
    write_metrics(run_dir, [])  # still in epoch 1: no last epoch yet
    assert grad_flow(read_run(run_dir)).last_epoch is None
    # a step with a zero, NaN or missing layer norm is left out of the average
    norms = {10: [1.0, 2.0], 20: [0.0, 1.0], 30: [math.nan, 1.0], 40: [1.0]}
    assert relative_norms({s: dict(enumerate(v, 1)) for s, v in norms.items()}, 2).steps == 1


def test_a_resumed_run_counts_the_retrained_steps_once(tmp_path: Path) -> None:
    run_dir = flow_run(tmp_path, layers=2)
    # killed after step 120 with a checkpoint at 55 (an epoch end): steps 60-120 were logged,
    # then lost...
    (run_dir / "tensorboard" / "events.out.tfevents.0000000001.test").unlink()
    write_events(run_dir, {s: [100.0, 1.0] for s in range(10, 121, 10)}, order=1)
    # ... and trained again by the resumed run (SummaryWriter(purge_step=55)), up to step 200
    write_events(run_dir, {s: [0.5, 1.0] for s in range(60, 201, 10)}, purge_step=55, order=2)
    norms = read_grad_norms(run_dir / "tensorboard")
    assert sorted(norms) == list(range(10, 201, 10))
    assert norms[50][1] == 100.0 and norms[60][1] == 0.5 and norms[120][1] == 0.5
    flow = grad_flow(read_run(run_dir))
    # early window: 5 steps at 100, 5 at 0.5 -> sqrt(50)
    assert flow.early.relative[0] == pytest.approx(math.sqrt(50.0))


def test_runs_without_norms_are_skipped_and_results_get_the_section(tmp_path: Path) -> None:
    for (model, layers), values in RUNS.items():
        make_run(tmp_path, model, layers, *values)  # no event files at all
    for model, layers in (("plain_lstm", 3), ("plain_lstm", 10), ("residual_lstm", 10)):
        (tmp_path / f"{model}_L{layers}" / "tensorboard").mkdir()
    write_events(tmp_path / "plain_lstm_L3", {10: [1.0, 2.0, 4.0]})
    shallow = {s: [0.01 * 2.0**i for i in range(10)] for s in range(10, 101, 10)}
    write_events(tmp_path / "plain_lstm_L10", shallow)
    # a tensorboard directory with events but no gradient norms (and one with no events)
    writer = SummaryWriter(tmp_path / "residual_lstm_L10" / "tensorboard")
    writer.add_scalar("train/loss", 1.0, 10)
    writer.close()

    flows = collect_grad_flow(collect_runs(tmp_path))
    assert [f.run.name for f in flows] == ["plain_lstm_L3", "plain_lstm_L10"]
    assert [f.run.name for f in deepest_per_model(flows)] == ["plain_lstm_L10"]
    # make_run's metrics end epochs at steps 50 and 100: the last epoch is steps 60-100
    assert flows[0].last_epoch is None and flows[1].last_epoch.steps == 5

    text = write_results(tmp_path)
    assert (tmp_path / "grad_flow.png").read_bytes()[:8] == PNG
    section = text.split("## Gradient flow through depth")[1].split("## The paper's claims")[0]
    rows = [line for line in section.splitlines() if line.startswith("| plain_lstm")]
    # layer 1 / top = 2**-9, layer 5 / top = 2**-5; plain L3 has one early step, no last epoch
    assert rows == [
        "| plain_lstm | 3 | 0.25 | 0.5 | – | – | 1 / – |",
        "| plain_lstm | 10 | 0.00195 | 0.0312 | 0.00195 | 0.0312 | 10 / 5 |",
    ]
    assert "![Gradient flow](grad_flow.png)" in section


def test_no_norms_anywhere_no_section_but_a_figure(tmp_path: Path) -> None:
    make_run(tmp_path, "residual_lstm", 3, 1, 45.0, 47.0)
    text = write_results(tmp_path)
    assert "Gradient flow" not in text and grad_flow_markdown([]) == []
    assert (tmp_path / "grad_flow.png").read_bytes()[:8] == PNG
