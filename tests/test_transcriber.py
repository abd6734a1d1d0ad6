"""A model directory exported from a made-up run (seconds, no training): the checkpoint it is
made from, the modes of its files, and audio with NaN or infinite samples refused in one line by
``Transcriber``, its stream and ``reslstm-transcribe``."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from omegaconf import DictConfig, OmegaConf
from safetensors.torch import load_file

from reslstm.checkpoint import load_checkpoint, save_checkpoint
from reslstm.errors import ReslstmError
from reslstm.export import export_model
from reslstm.layout import Layout
from reslstm.transcriber import Transcriber
from tests.helpers import ROOT

RATE = 16000


def speech(seconds: float = 2.0) -> np.ndarray:
    """Noise with a slow envelope at the model's rate (an untrained model says something)."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.1 * np.sin(2 * np.pi * 2 * t) * rng.standard_normal(len(t))).astype(np.float32)


def export_with_umask(made_run: DictConfig, out: Path, umask: int) -> Path:
    """``export_model`` of the made-up run (its ``config.yaml`` written first) under ``umask``."""
    run = Layout.of(made_run).run
    OmegaConf.save(made_run, run.config, resolve=True)
    old = os.umask(umask)
    try:
        return export_model(run.path, out)
    finally:
        os.umask(old)


@pytest.fixture
def model_dir(made_run: DictConfig, tmp_path: Path) -> Path:
    return export_with_umask(made_run, tmp_path / "model", 0o022)


def test_exported_files_get_the_mode_the_umask_gives(made_run: DictConfig, tmp_path: Path) -> None:
    """Every file as a plain ``open`` makes it (666 less the umask), ``model.safetensors`` too,
    which safetensors' own writer makes 600: a directory copied to a shared place stays
    readable by the group the umask allows."""
    model = export_with_umask(made_run, tmp_path / "model", 0o027)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in model.iterdir()}
    assert "model.safetensors" in modes and len(modes) >= 5
    assert modes == dict.fromkeys(modes, 0o640)
    assert stat.S_IMODE(model.stat().st_mode) == 0o750


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_transcriber_refuses_samples_that_are_not_finite(model_dir: Path, bad: float) -> None:
    asr = Transcriber.from_dir(model_dir, method="greedy", device="cpu")
    samples = speech()
    assert asr.transcribe(samples, sample_rate=RATE)  # the model says something
    samples[24000] = bad
    kind = "NaN" if np.isnan(bad) else "infinite"
    message = f"the samples holds {kind} samples (the first at 1.50 s): audio must be finite"
    with pytest.raises(ReslstmError, match=message.replace("(", r"\(").replace(")", r"\)")):
        asr.transcribe(samples, sample_rate=RATE)


def test_a_stream_refuses_a_chunk_that_is_not_finite_and_goes_on(model_dir: Path) -> None:
    """The refused chunk changes nothing: the stream then gives the words of the clean audio."""
    asr = Transcriber.from_dir(model_dir, method="greedy", device="cpu")
    samples = speech()
    clean = asr.stream()
    expected = clean.accept(samples[:16000]) + clean.accept(samples[16000:]) + clean.finish()
    assert expected
    stream = asr.stream("live")
    words = stream.accept(samples[:16000])
    broken = samples[16000:].copy()
    broken[[800, 900]] = [np.inf, np.nan]
    with pytest.raises(
        ReslstmError, match=r"^live holds NaN and infinite samples \(the first at 1\.05 s\)"
    ):
        stream.accept(broken)
    assert words + stream.accept(samples[16000:]) + stream.finish() == expected


def test_transcribe_cli_refuses_a_nan_file_in_one_line(model_dir: Path, tmp_path: Path) -> None:
    samples = speech()
    samples[8000:8100] = np.nan
    wav = tmp_path / "nan.wav"
    soundfile.write(wav, samples, RATE, subtype="FLOAT")
    ctm = tmp_path / "out.ctm"
    cmd = [sys.executable, "-m", "reslstm.cli.transcribe", str(model_dir), str(wav)]
    out = subprocess.run(
        [*cmd, "--method", "greedy", "--ctm", str(ctm)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert out.returncode == 2 and out.stdout == "" and "Traceback" not in out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: {wav} holds NaN samples (the first at 0.50 s): audio must be finite numbers"
    ]
    assert not ctm.exists()


@pytest.mark.parametrize("decoded", ["best", "avg"])
def test_a_run_is_exported_and_transcribed_from_the_checkpoint_its_stage_4_scored(
    made_run: DictConfig, tmp_path: Path, decoded: str
) -> None:
    """Without ``checkpoint``, ``export_model`` and ``Transcriber.from_run`` load the run's own
    ``decode.checkpoint``: the best model (weights w) or the average of two epochs whose
    weights are w and w + 1 (w + 0.5); ``checkpoint=`` still picks the other one."""
    run = Layout.of(made_run).run
    best = load_checkpoint(run.checkpoints.named("best"))
    weights = {k: v for k, v in best["model"].items() if v.is_floating_point()}
    save_checkpoint(best, run.checkpoints.epoch(1))
    save_checkpoint(best | {"model": best["model"] | {k: v + 1 for k, v in weights.items()}},
                    run.checkpoints.epoch(2))  # fmt: skip
    made_run.decode.checkpoint, made_run.decode.avg_last = decoded, 2
    OmegaConf.save(made_run, run.config, resolve=True)
    other = {"best": "avg", "avg": "best"}[decoded]
    offset = {"best": 0.0, "avg": 0.5}
    exported = load_file(export_model(run.path, tmp_path / "model") / "model.safetensors")
    loaded = Transcriber.from_run(run.path, "greedy", device="cpu").model.state_dict()
    chosen = Transcriber.from_run(run.path, "greedy", other, "cpu").model.state_dict()
    for k, v in weights.items():
        torch.testing.assert_close(exported[k], v + offset[decoded], rtol=0, atol=1e-6)
        torch.testing.assert_close(loaded[k], v + offset[decoded], rtol=0, atol=1e-6)
        torch.testing.assert_close(chosen[k], v + offset[other], rtol=0, atol=1e-6)
