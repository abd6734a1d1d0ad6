"""NaN batches are skipped and counted (and abort training past the limit); a full disk during
feature extraction fails cleanly and a re-run after freeing space succeeds."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from lhotse import CutSet, NumpyFilesWriter, load_manifest
from lhotse.utils import fastcopy

from reslstm.errors import ReslstmError
from reslstm.features.extract import compute_features
from reslstm.io import is_done
from tests.helpers import run_stage

from .helpers import error_lines

pytestmark = pytest.mark.slow


@pytest.fixture
def nan_data(tiny_prepared: Path, tmp_path: Path) -> Path:
    """A copy of the tiny data dir whose first three training cuts have NaN features."""
    data = tmp_path / "data"
    shutil.copytree(tiny_prepared / "manifests", data / "manifests")
    shutil.copytree(tiny_prepared / "lang", data / "lang")
    fbank = data / "fbank" / "mini_tiny_sdm"
    shutil.copytree(tiny_prepared / "fbank" / "mini_tiny_sdm", fbank)
    cuts = list(load_manifest(fbank / "cuts_train.jsonl.gz"))
    with NumpyFilesWriter(fbank / "nan") as writer:
        for i, cut in enumerate(cuts[:3]):
            nan = np.full((cut.num_frames, cut.num_features), np.nan, dtype=np.float32)
            features = fastcopy(
                cut.features,
                storage_type=writer.name,
                storage_path=str(fbank / "nan"),
                storage_key=writer.write(cut.id, nan),
            )
            cuts[i] = fastcopy(cut, features=features)
    CutSet.from_cuts(cuts).to_file(fbank / "cuts_train.jsonl.gz")
    return data


def nan_train(data: Path, exp: Path, limit: int) -> subprocess.CompletedProcess:
    return run_stage(
        "train",
        "data=mini_tiny",
        f"paths.data_dir={data}",
        f"paths.exp_dir={exp}",
        "model.num_layers=1",
        "train.max_epochs=2",
        "train.max_duration=4",
        f"train.max_bad_batches={limit}",
    )


def test_nan_batches_are_skipped_and_counted(nan_data: Path, tmp_path: Path) -> None:
    out = nan_train(nan_data, tmp_path / "exp", limit=100)
    assert out.returncode == 0, out.stdout[-2000:]
    (run,) = (tmp_path / "exp" / "mini_tiny_sdm").iterdir()
    summary = json.loads((run / "train_summary.json").read_text())
    assert summary["bad_batches"] >= 2  # the NaN cuts, in each of the two epochs
    assert np.isfinite(summary["best_dev_loss"])
    assert "non-finite loss/gradient" in out.stdout


def test_too_many_nan_batches_abort_with_one_line(nan_data: Path, tmp_path: Path) -> None:
    out = nan_train(nan_data, tmp_path / "exp", limit=0)
    assert out.returncode == 2
    (line,) = error_lines(out)
    assert "training aborted" in line and "train.max_bad_batches=0" in line


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 2 MiB tmpfs; where none can be mounted, the test is skipped with mount's own reason,
    which pytest's summary (``-ra``, pyproject.toml) prints: the full-disk case went untested."""
    mount = tmp_path / "disk"
    mount.mkdir()
    why = "no mount command" if shutil.which("mount") is None else None
    if why is None:
        cmd = ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)]
        made = subprocess.run(cmd, capture_output=True, text=True)
        if made.returncode != 0:
            why = " ".join(made.stderr.split()) or f"mount: exit {made.returncode}"
    if why is not None:
        pytest.skip(f"full disk untested: no 2 MiB tmpfs ({why}); mounting needs CAP_SYS_ADMIN")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_full_disk_fails_cleanly_and_rerun_succeeds(
    small_disk: Path, tiny_manifests: Path, tiny_config
) -> None:
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * (2 * 1024 * 1024 - 64 * 1024))  # leave 64 KiB
    fbank = small_disk / "fbank"
    cfg = tiny_config()
    with pytest.raises(ReslstmError, match="No space left on device"):
        compute_features(cfg.features, tiny_manifests, fbank, progress=False)
    assert not is_done(fbank)
    assert not list(fbank.glob("cuts_*")) and not list(fbank.glob("feats_*/*"))

    filler.unlink()
    compute_features(cfg.features, tiny_manifests, fbank, progress=False)
    assert is_done(fbank)
    assert len(load_manifest(fbank / "cuts_train.jsonl.gz")) == len(
        load_manifest(tiny_manifests / "cuts_train.jsonl.gz")
    )
