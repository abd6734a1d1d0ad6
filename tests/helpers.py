"""Shared test tools: the stages and run.sh as subprocesses (plain or under torchrun), and small
real lhotse cuts with features made on the fly."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import numpy as np
from lhotse import CutSet, Features, MonoCut, NumpyFilesWriter, SupervisionSegment

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def load_script(name: str) -> ModuleType:
    """``scripts/<name>.py`` imported as a module (the scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def tiny_training(data_dir: Path, exp_dir: Path, *extra: str) -> list[str]:
    """Overrides for a seconds-long training on the tiny corpus (2 layers of 32 / 16 cells)."""
    return [
        "data=mini_tiny",
        f"paths.data_dir={data_dir}",
        f"paths.exp_dir={exp_dir}",
        "train.max_duration=10",
        "train.warmup_steps=1",
        "train.log_every_steps=1",
        "model.cell_dim=32",
        "model.proj_dim=16",
        "model.num_layers=2",
        *extra,
    ]


def ddp_training(data_dir: Path, exp_dir: Path, *extra: str) -> list[str]:
    """:func:`tiny_training` of the DDP tests: per-rank dropout streams (the RNG handling must
    match too), an intermediate CTC loss on layer 1 (the tapped forward goes through DDP),
    a checkpoint every 2 steps."""
    return tiny_training(
        data_dir,
        exp_dir,
        "model=residual_lstm",
        "model.dropout=0.2",
        "train.interctc_every=1",
        "train.checkpoint_every_steps=2",
        *extra,
    )


def start_stage(module: str, *overrides: str, nproc: int = 1) -> subprocess.Popen:
    """``python -m reslstm.cli.<module> progress_bar=false overrides…`` from the repo root, one
    torch thread, output captured; under ``torchrun`` with ``nproc`` processes when > 1."""
    launcher = [sys.executable]
    if nproc > 1:
        torchrun = str(Path(sys.executable).parent / "torchrun")
        launcher = [torchrun, "--standalone", f"--nproc-per-node={nproc}"]
    return subprocess.Popen(
        [*launcher, "-m", f"reslstm.cli.{module}", "progress_bar=false", *overrides],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


def run_stage(
    module: str, *overrides: str, nproc: int = 1, timeout: int = 600
) -> subprocess.CompletedProcess:
    """:func:`start_stage` to the end; its output is ``stdout`` (stderr merged into it)."""
    proc = start_stage(module, *overrides, nproc=nproc)
    out, _ = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "")


def run_sh(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """``./run.sh args…``, output captured."""
    return subprocess.run(
        ["bash", str(ROOT / "run.sh"), *args], capture_output=True, text=True, timeout=timeout
    )


def start_run_sh(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``./run.sh args…`` in the background, one torch thread, stderr merged into stdout; in a
    process group of its own (``os.killpg(proc.pid, …)`` stops it with everything it started)."""
    return subprocess.Popen(
        ["bash", str(ROOT / "run.sh"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})},
        start_new_session=True,
    )


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now (for a rendezvous)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def feature_cuts(
    storage: Path,
    texts: Sequence[str],
    frames: Sequence[int],
    recording: str = "ES2011a",
    dim: int = 80,
    seed: int = 0,
) -> CutSet:
    """Cuts ``<recording>-<i>`` of one meeting with random features stored in ``storage`` (no
    audio): cut ``i`` starts at ``i`` seconds in the recording, has ``frames[i]`` 10 ms frames
    and one supervision (speaker A or B in turn) with ``texts[i]``, so cuts longer than a
    second overlap the next one."""
    rng = np.random.default_rng(seed)
    cuts = []
    with NumpyFilesWriter(storage) as writer:
        for i, (text, n) in enumerate(zip(texts, frames, strict=True)):
            cut_id, start, duration = f"{recording}-{i}", float(i), n / 100
            feats = rng.standard_normal((n, dim)).astype(np.float32)
            features = Features(
                type="fbank",
                num_frames=n,
                num_features=dim,
                frame_shift=0.01,
                sampling_rate=16000,
                start=start,
                duration=duration,
                storage_type=writer.name,
                storage_path=str(storage),
                storage_key=writer.write(cut_id, feats),
                recording_id=recording,
                channels=0,
            )
            speaker = "AB"[i % 2]
            sup = SupervisionSegment(
                cut_id, recording, 0.0, duration, channel=0, text=text, speaker=speaker
            )  # times within the cut, as stage 0 trims them
            cuts.append(MonoCut(cut_id, start, duration, 0, features=features, supervisions=[sup]))
    return CutSet.from_cuts(cuts)
