"""``scripts/gpu_check.sh``, dry-run on the CPU with tiny sizes: every step runs and the report
holds each section with its numbers (the GPU run itself needs a lent GPU: docs/models.md)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gpu_check.sh"


def _run(*args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHON": sys.executable}
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=600
    )


def test_dry_run_writes_every_section_of_the_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = _run("--device", "cpu", "--tiny", "--out", str(out), "--data-dir", str(tmp_path / "d"))
    assert done.returncode == 0, done.stderr[-3000:]
    report = (out / "report.md").read_text()
    for heading in ("Wall time per step", "Stacks against nn.LSTM", "One training epoch",
                    "bf16 autocast against fp32"):  # fmt: skip
        assert re.search(rf"^## (\d\. )?{heading}", report, re.M), heading
    # bench_lstm's table: nn.LSTM and the three stacks, each with a ratio
    assert (
        len(re.findall(r"^\| recipe \| 3 \| \S+ \| \S+ \| [\d,]+ \| [\d.]+ \|$", report, re.M)) == 4
    )
    # the epoch trained and its summary is quoted
    assert re.search(r"^\| train_time_s \| [\d.]+ \|$", report, re.M)
    assert re.search(r"^\| num_layers \| 2 \|$", report, re.M)
    # bf16 against fp32: rounded (not equal), and within bf16's rounding (a few percent)
    diffs = re.findall(r"^\| (plain|highway|residual) \| (\S+) \| (\S+) \|$", report, re.M)
    assert [cell for cell, *_ in diffs] == ["plain", "highway", "residual"]
    for _, out_diff, grad_diff in diffs:
        assert 0 < float(out_diff) < 0.05 and 0 < float(grad_diff) < 0.05


def test_unknown_argument_is_refused_in_one_line(tmp_path: Path) -> None:
    done = _run("--gpus", "2")
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: unknown argument --gpus (see {SCRIPT} --help)"
