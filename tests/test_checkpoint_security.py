"""Loading a checkpoint never runs code from it: every loader (decode, averaging, resume,
transcribe, the converter, export, a model directory) refuses a pickle that would."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import DictConfig, OmegaConf

from reslstm.checkpoint import load_checkpoint, load_trained_model, save_checkpoint
from reslstm.cli.compose import compose_config
from reslstm.cli.convert_checkpoint import main as convert_main
from reslstm.errors import ReslstmError
from reslstm.export import FORMAT, export_model, load_model_dir, token_files
from reslstm.io import mark_done
from reslstm.models import build_model
from reslstm.runtime import rng_state, set_rng_state
from reslstm.train.trainer import Trainer

MODEL_CFG = OmegaConf.to_container(
    compose_config(["model.num_layers=2", "model.cell_dim=16", "model.proj_dim=8"]).model
)


class CreatesFile:
    """Unpickled by a full pickle loader, this opens (creates) ``path``: a stand-in for code."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple:
        return (open, (str(self.path), "w"))


def good_checkpoint(model_cfg: dict = MODEL_CFG) -> dict:
    model = build_model(model_cfg, 80, 10)
    return {
        "model": model.state_dict(),
        "model_cfg": model_cfg,
        "input_dim": 80,
        "vocab_size": 10,
        "rng": [rng_state()],
    }


def malicious_run(root: Path) -> tuple[Path, Path]:
    """A run directory whose every checkpoint would create ``marker`` when fully unpickled."""
    run, marker = root / "residual_lstm_L2", root / "pwned"
    ckpt = good_checkpoint() | {"payload": CreatesFile(marker)}
    for name in ("best.pt", "last.pt", "epoch-1.pt"):
        save_checkpoint(ckpt, run / "checkpoints" / name)
    return run, marker


def one_line(e: pytest.ExceptionInfo) -> str:
    text = str(e.value)
    assert "\n" not in text
    return text


@pytest.mark.parametrize("which", ["best", "last", "avg"])
def test_decode_and_averaging_refuse_a_malicious_checkpoint(tmp_path: Path, which: str) -> None:
    run, marker = malicious_run(tmp_path)
    with pytest.raises(ReslstmError) as e:
        load_trained_model(run, which, avg_last=1)
    assert "reslstm-convert-checkpoint" in one_line(e) and "safe loader refuses" in str(e.value)
    assert not marker.exists()


def test_resume_refuses_a_malicious_checkpoint(
    tiny_prepared: Path, tiny_config: Callable[..., DictConfig], tmp_path: Path
) -> None:
    cfg = tiny_config(f"paths.exp_dir={tmp_path}", "model.cell_dim=16", "model.proj_dim=8")
    run = Path(cfg.paths.run_dir)
    marker = tmp_path / "pwned"
    save_checkpoint(good_checkpoint() | {"x": CreatesFile(marker)}, run / "checkpoints" / "last.pt")
    with pytest.raises(ReslstmError) as e:
        Trainer(cfg).run()
    assert "safe loader refuses" in one_line(e) and not marker.exists()
    assert not (run / "train_summary.json").exists()


def test_transcribe_refuses_a_malicious_checkpoint(tmp_path: Path) -> None:
    run, marker = malicious_run(tmp_path)
    decode = {"checkpoint": "best", "avg_last": 1, "methods": ["greedy"]}
    cfg = {"decode": decode, "paths": {"lang_dir": str(tmp_path)}}
    (run / "config.yaml").write_text(OmegaConf.to_yaml(cfg))
    wav = tmp_path / "a.wav"
    wav.write_bytes(b"")
    out = subprocess.run(
        [sys.executable, "-m", "reslstm.cli.transcribe", str(run), str(wav), "--method", "greedy"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1, out.stderr
    assert "safe loader refuses" in out.stderr and not marker.exists()


def test_truncated_and_mismatched_checkpoints_fail_with_one_line(tmp_path: Path) -> None:
    run = tmp_path / "run"
    best = run / "checkpoints" / "best.pt"
    save_checkpoint(good_checkpoint(), best)
    best.write_bytes(best.read_bytes()[:200])
    with pytest.raises(ReslstmError, match="is unreadable") as e:
        load_trained_model(run)
    one_line(e)
    other = good_checkpoint() | {"model_cfg": MODEL_CFG | {"num_layers": 3}}
    save_checkpoint(other, best)
    with pytest.raises(ReslstmError, match="does not match its own model config") as e:
        load_trained_model(run)
    one_line(e)
    assert sorted(p.name for p in run.rglob("*")) == ["best.pt", "checkpoints"]


def test_old_format_is_refused_then_converted_and_resumes_the_same_rng(tmp_path: Path) -> None:
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    old = good_checkpoint()
    old["rng"] = [
        {
            "python": random.getstate(),
            "numpy": np.random.get_state(),  # the old format: a numpy array inside
            "torch": torch.get_rng_state(),
            "cuda": [],
        }
    ]
    expected = (random.random(), np.random.rand(), torch.rand(1))
    path = tmp_path / "last.pt"
    save_checkpoint(old, path)
    with pytest.raises(ReslstmError, match=f"reslstm-convert-checkpoint {path}"):
        load_checkpoint(path)
    convert_main([str(path)])
    random.seed(9)
    np.random.seed(9)
    set_rng_state(load_checkpoint(path)["rng"][0])
    assert (random.random(), np.random.rand(), torch.rand(1)) == expected
    convert_main([str(path)])  # already safe: left alone
    with pytest.raises(SystemExit) as e:
        convert_main([str(tmp_path / "missing.pt")])
    assert e.value.code == 2


def test_export_and_a_model_directory_refuse_a_pickle(tmp_path: Path) -> None:
    """reslstm-export of a malicious run, and a model directory whose ``model.safetensors`` is
    a pickle (safetensors reads tensors only): one line each, nothing runs, nothing written."""
    run, marker = malicious_run(tmp_path)
    lang = tmp_path / "lang"
    mark_done(lang)
    decode = {"checkpoint": "best", "avg_last": 1}
    (run / "config.yaml").write_text(
        OmegaConf.to_yaml({"decode": decode, "paths": {"lang_dir": str(lang)}})
    )
    with pytest.raises(ReslstmError) as e:
        export_model(run, tmp_path / "model")
    assert "safe loader refuses" in one_line(e) and not (tmp_path / "model").exists()

    model = tmp_path / "shared_model"
    model.mkdir()
    meta = {"format": FORMAT, "model": MODEL_CFG, "input_dim": 80, "vocab_size": 10}
    (model / "model.json").write_text(json.dumps(meta | {"tokens": "char"}))
    for name in token_files("char"):
        (model / name).write_text("")
    torch.save(good_checkpoint() | {"payload": CreatesFile(marker)}, model / "model.safetensors")
    mark_done(model, FORMAT)
    with pytest.raises(ReslstmError, match="model.safetensors: not loadable") as e:
        load_model_dir(model)
    one_line(e)
    assert not marker.exists()


def test_the_converter_refuses_a_malicious_checkpoint_too(tmp_path: Path) -> None:
    run, marker = malicious_run(tmp_path)
    with pytest.raises(SystemExit) as e:
        convert_main([str(run / "checkpoints" / "best.pt")])
    assert e.value.code == 2 and not marker.exists()
