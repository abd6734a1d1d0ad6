"""``scripts/checkpoint_choice.py``: the sibling runs it decodes share the run's checkpoints as
hard links, carry none of its decodes, and the ``cer`` sibling's ``best.pt`` is the epoch with
the lowest monitored dev CER."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reslstm.layout import RunDir
from reslstm.results.runs import read_run
from tests.helpers import load_script

choice = load_script("checkpoint_choice")


@pytest.fixture
def run(ddp_reference: Path, tmp_path: Path) -> Path:
    """A copy of a real two-epoch run, with a decode directory of its own."""
    path = tmp_path / ddp_reference.name
    shutil.copytree(ddp_reference, path)
    (path / "decode" / "dev_greedy").mkdir(parents=True)
    return path


@pytest.mark.parametrize("suffix", ["last", "avg", "cer"])
def test_a_sibling_links_the_runs_checkpoints_and_leaves_its_decodes(run: Path, suffix) -> None:
    dest = choice.sibling(run, suffix)
    assert dest == run.with_name(f"{run.name}_{suffix}")
    assert not (dest / "decode").exists()
    assert not dest.with_name(dest.name + ".tmp").exists()
    epochs = RunDir(run).checkpoints.epochs()
    assert [p.name for p in epochs] == ["epoch-1.pt", "epoch-2.pt"]
    for ckpt in epochs:
        assert (dest / "checkpoints" / ckpt.name).samefile(ckpt)
    monitored = [m for m in read_run(run).metrics if m.get("dev_cer") is not None]
    assert len(monitored) == 2
    best, ckpts = RunDir(dest).checkpoints.named("best"), RunDir(run).checkpoints
    if suffix == "cer":
        lowest = min(monitored, key=lambda m: m["dev_cer"])["epoch"]
        assert best.samefile(ckpts.epoch(lowest))
    else:
        assert best.samefile(ckpts.named("best"))
    assert choice.sibling(run, suffix) == dest  # made once: a second call keeps it
