"""The depth sweep's table and figure (results/depth_sweep.py) and Table 1's rows at depths
beyond the paper's, on made-up runs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from reslstm.results import write_results
from reslstm.results.depth_sweep import write_depth_sweep
from tests.helpers import ROOT
from tests.results.test_grad_flow import PNG, write_events
from tests.results.test_table import make_run

RECIPE = ROOT / "recipes" / "depth_sweep.sh"


def test_depth_sweep_table_figure_and_table1_rows(tmp_path: Path) -> None:
    for layers, dev in ((3, 50.0), (15, 60.0), (20, 70.0)):
        make_run(tmp_path, "plain_lstm", layers, 1_000_000 * layers, dev, dev + 1)
    make_run(tmp_path, "residual_lstm", 20, 18_000_000, 40.0, 41.0)
    make_run(tmp_path, "residual_lstm", 20, 1, 99.0, 99.0, tag="_lr1e-3")  # not in the sweep
    summary_path = tmp_path / "residual_lstm_L20" / "train_summary.json"
    summary = json.loads(summary_path.read_text())
    summary |= {"frames_per_s": 12345, "peak_rss_mb": 2048.4, "peak_cuda_mb": 512.0}
    summary |= {"stopped_by": "halvings"}
    summary_path.write_text(json.dumps(summary))
    write_events(tmp_path / "residual_lstm_L20", {s: [0.5] * 19 + [1.0] for s in (10, 20, 60)})

    text = write_depth_sweep(tmp_path, "beam_lm")

    assert (tmp_path / "DEPTH_SWEEP.md").read_text() == text
    assert (tmp_path / "depth_curve.png").read_bytes()[:8] == PNG
    rows = [line for line in text.splitlines() if line.startswith("| ") and "_lstm" in line]
    assert [row.split(" | ")[:2] for row in rows] == [
        ["| plain_lstm", "3"],
        ["| plain_lstm", "15"],
        ["| plain_lstm", "20"],
        ["| residual_lstm", "20"],
    ]
    assert rows[3] == (
        "| residual_lstm | 20 | 18.00 M | 2 | halvings | 40.0 | 20.0 | 1.5 h | 12,345 "
        "| 2,048 | 512 | 0.5 / 0.5 |"
    )
    assert rows[1].endswith("| 1.5 h | – | – | – | – |")  # not recorded: frames/s, memory, norms

    # Table 1 keeps the paper's grid and adds the sweep's depths only where a run has them
    results = write_results(tmp_path)
    table = results.split("### Decoding: `beam_lm`")[1].split("###")[0]
    assert "| plain_lstm | 15 |" in table and "| residual_lstm | 20 |" in table
    assert "| highway_lstm | 5 |" in table and "| highway_lstm | 20 |" not in table
    assert "| residual_lstm | 15 |" not in table


def test_recipe_help() -> None:
    out = subprocess.run(["bash", str(RECIPE), "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--layers" in out.stdout and "set -e" not in out.stdout


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--layers", "3 x"], "--layers takes positive integers, got 'x'"),
        (["--stage", "3"], "unknown option --stage"),
        (["model=plain_lstm"], "model=plain_lstm: use --models / --layers"),
    ],
)
def test_recipe_bad_arguments_fail_before_training(args: list[str], expected: str) -> None:
    out = subprocess.run(["bash", str(RECIPE), *args], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.startswith(f"error: {expected}") and out.stderr.count("\n") == 1
