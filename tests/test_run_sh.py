"""run.sh: help, stage and multi-node option validation, Hydra errors surface as one clear
line, and the torchrun command lines it builds."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reslstm.layout import STAGES
from tests.helpers import ROOT, run_sh

# What scripts/setup_env.sh hashes into its stamp (a venv with that stamp counts as set up).
SETUP_INPUTS = ("requirements.txt", "pyproject.toml", "scripts/setup_env.sh")


def test_help_and_layout_list_the_same_stages_from_one_definition() -> None:
    """src/reslstm/stages.tsv: run.sh's --help, its banners and reslstm.layout.STAGES, and
    each stage's module reslstm.cli.<name>."""
    out = run_sh("--help")
    assert out.returncode == 0
    assert STAGES == ("data", "features", "tokens", "train", "decode", "score", "table")
    listed = re.findall(r"^  (\d)  (\w+): ", out.stdout, flags=re.MULTILINE)
    assert listed == [(str(i), name) for i, name in enumerate(STAGES)]
    for name in STAGES:
        assert (ROOT / "src" / "reslstm" / "cli" / f"{name}.py").is_file()


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--stage", "99"], "unknown stage 99"),
        (["--stop-stage", "x"], "--stop-stage needs a number"),
        (["--bogus"], "unknown option --bogus"),
        (["--stage", "3", "--stop-stage", "1"], "is after --stop-stage"),
    ],
)
def test_bad_options_fail_with_one_line(args: list[str], expected: str) -> None:
    out = run_sh(*args)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and expected in out.stderr


def test_override_typo_fails_before_any_stage() -> None:
    out = run_sh("model.no_such_key=1")
    assert out.returncode == 2
    errors = [ln for ln in out.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "no_such_key" in errors[0]
    assert "=== stage" not in out.stdout


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--nnodes", "2"], "--nnodes 2 needs --rdzv-endpoint HOST:PORT"),
        (["--nnodes", "0"], "--nnodes must be at least 1"),
        (["--nnodes", "2", "--node-rank", "2", "--rdzv-endpoint", "h:1"], "must be below"),
        (["--rdzv-endpoint", "head"], "--rdzv-endpoint needs HOST:PORT"),
        (["--rdzv-id", "a/b"], "--rdzv-id needs a name"),
        (["--rdzv-id", "job7"], "--rdzv-id needs --rdzv-endpoint"),
        (["--nnodes", "2", "--rdzv-endpoint", "h:1", "--stage", "0"], "runs stage 3 only"),
        (["--nnodes", "2", "--rdzv-endpoint", "h:1", "--stop-stage", "4"], "runs stage 3 only"),
        (["--nnodes", "2", "--rdzv-endpoint", "h:1", "--jobs", "2"], "one run at a time"),
    ],
)
def test_bad_multinode_options_fail_with_one_line(args: list[str], expected: str) -> None:
    out = run_sh(*args)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and expected in out.stderr


@pytest.fixture
def logging_venv(tmp_path: Path) -> tuple[Path, Path]:
    """A venv whose ``python`` and ``torchrun`` only log their arguments (one line per call),
    stamped as set up, so that run.sh's command lines can be read without running anything."""
    inputs = b"".join((ROOT / f).read_bytes() for f in SETUP_INPUTS)
    stamp = hashlib.sha256(inputs).hexdigest()[:16]
    real = Path(sys.executable).parent.parent / ".reslstm-setup-stamp"
    if not real.is_file() or real.read_text().strip() != stamp:
        pytest.skip("the test venv is not stamped by scripts/setup_env.sh as up to date")
    venv, log = tmp_path / "venv", tmp_path / "calls.log"
    (venv / "bin").mkdir(parents=True)
    (venv / ".reslstm-setup-stamp").write_text(stamp + "\n")
    for tool in ("python", "torchrun"):
        script = venv / "bin" / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\n')
        script.chmod(0o755)
    return venv, log


def logged_calls(venv: Path, log: Path, *args: str) -> tuple[list[str], str]:
    out = subprocess.run(
        ["bash", str(ROOT / "run.sh"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "RESLSTM_VENV": str(venv)},
    )
    assert out.returncode == 0, out.stderr
    calls = log.read_text().splitlines()
    return [c for c in calls if not c.startswith("python -u -m reslstm.cli.check")], out.stdout


def test_nnodes_runs_torchrun_with_a_c10d_rendezvous(logging_venv: tuple[Path, Path]) -> None:
    calls, stdout = logged_calls(
        *logging_venv,
        *("--nnodes", "2", "--node-rank", "1", "--rdzv-endpoint", "head:29400"),
        "model=plain_lstm",
    )
    assert calls == [
        "torchrun --nnodes=2 --node-rank=1 --nproc-per-node=1 --rdzv-backend=c10d "
        "--rdzv-endpoint=head:29400 --rdzv-id=reslstm -m reslstm.cli.train model=plain_lstm"
    ]
    assert re.findall(r"=== stage (\d)", stdout) == ["3"]


def test_a_multinode_grid_runs_one_rendezvous_per_run(logging_venv: tuple[Path, Path]) -> None:
    calls, _ = logged_calls(
        *logging_venv,
        *("--nnodes", "3", "--rdzv-endpoint", "10.0.0.1:29400", "--rdzv-id", "job7"),
        *("--nproc-per-node", "4", "--models", "plain_lstm", "--layers", "3 5"),
    )
    assert [re.sub(r" --nnodes.*c10d", "", c) for c in calls] == [
        "torchrun --rdzv-endpoint=10.0.0.1:29400 --rdzv-id=job7-1 -m reslstm.cli.train "
        "model=plain_lstm model.num_layers=5",
        "torchrun --rdzv-endpoint=10.0.0.1:29400 --rdzv-id=job7-2 -m reslstm.cli.train "
        "model=plain_lstm model.num_layers=3",
    ]  # one after the other (--jobs 1), deepest first
    assert all("--nnodes=3 --node-rank=0 --nproc-per-node=4 " in c for c in calls)


def test_one_node_still_uses_standalone(logging_venv: tuple[Path, Path]) -> None:
    calls, _ = logged_calls(
        *logging_venv,
        "--stage",
        "3",
        "--stop-stage",
        "3",
        "--nproc-per-node",
        "2",
        "model.num_layers=3",
    )
    assert calls == [
        "torchrun --standalone --nproc-per-node=2 -m reslstm.cli.train model.num_layers=3"
    ]


def test_slurm_recipe_starts_one_agent_per_node(
    logging_venv: tuple[Path, Path], tmp_path: Path
) -> None:
    """recipes/slurm_train.sh under a stand-in ``srun`` (runs the task once per node, with that
    node's SLURM_NODEID) and ``scontrol`` (the job's host names)."""
    venv, log = logging_venv
    bin_dir = tmp_path / "slurm"
    bin_dir.mkdir()
    fakes = {
        "scontrol": 'printf "gpu-a\\ngpu-b\\n"',
        "srun": "while [[ $1 == --* ]]; do shift; done\n"
        'for ((n = 0; n < SLURM_NNODES; n++)); do SLURM_NODEID=$n "$@" || exit; done',
    }
    for name, body in fakes.items():
        (bin_dir / name).write_text(f"#!/usr/bin/env bash\n{body}\n")
        (bin_dir / name).chmod(0o755)
    slurm = {"SLURM_SUBMIT_DIR": str(ROOT), "SLURM_JOB_NODELIST": "gpu-[a-b]", "SLURM_NNODES": "2",
             "SLURM_JOB_ID": "77", "SLURM_GPUS_ON_NODE": "4"}  # fmt: skip
    out = subprocess.run(
        ["bash", str(ROOT / "recipes" / "slurm_train.sh"), "model.num_layers=10"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={
            **os.environ,
            **slurm,
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "RESLSTM_VENV": str(venv),
        },  # fmt: skip
    )
    assert out.returncode == 0, out.stderr
    calls = [c for c in log.read_text().splitlines() if c.startswith("torchrun")]
    assert calls == [
        f"torchrun --nnodes=2 --node-rank={node} --nproc-per-node=4 --rdzv-backend=c10d "
        "--rdzv-endpoint=gpu-a:29400 --rdzv-id=slurm-77 -m reslstm.cli.train model.num_layers=10"
        for node in (0, 1)
    ]
