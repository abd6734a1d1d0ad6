"""Stage 3 on pooled training data (``data.train_mics=[sdm,ihm]``) of the tiny corpus: the
training cuts of both microphones, dev and CMVN as documented, and speed perturbation plus
SpecAugment on the pooled cuts."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import torch
from lhotse import CutSet
from lhotse.testing.dummies import dummy_cut

from reslstm.batches import CTCBatches, filter_trainable, load_cuts
from reslstm.errors import ReslstmError
from reslstm.features.cmvn import load_cmvn
from reslstm.layout import Layout
from reslstm.train.build import build_training, monitor_subset
from reslstm.train.trainer import Trainer
from reslstm.train.validate import dev_metrics
from tests.helpers import run_stage, tiny_training

pytestmark = pytest.mark.slow
POOLED = "data.train_mics=[sdm,ihm]"
CPU = torch.device("cpu")


def test_pooled_training_cuts_and_cmvn(tiny_pooled: Path, tmp_path: Path, tiny_config) -> None:
    """Train cuts: SDM's and IHM's (each id suffixed with its microphone); dev, test, tokens:
    SDM's (data.mic) alone; CMVN over the frames of both."""
    overrides = tiny_training(tiny_pooled, tmp_path)[1:]
    pooled_cfg, sdm_cfg = tiny_config(*overrides, POOLED), tiny_config(*overrides)
    pooled, sdm = build_training(pooled_cfg, CPU), build_training(sdm_cfg, CPU)
    ihm_path = tiny_pooled / "fbank" / "mini_tiny_ihm" / "cuts_train.jsonl.gz"

    def out_frames(n: int) -> int:
        return int(pooled.model.output_lengths(torch.tensor([n]))[0])

    ihm = filter_trainable(load_cuts(ihm_path), pooled.tokenizer, out_frames, ihm_path)
    expected = [f"{c.id}_sdm" for c in sdm.train_cuts] + [f"{c.id}_ihm" for c in ihm]
    assert [c.id for c in pooled.train_cuts] == expected
    assert len(sdm.train_cuts) > 0 and len(ihm) > 0
    assert [c.id for c in pooled.dev_cuts] == [c.id for c in sdm.dev_cuts]

    layout = Layout.of(pooled_cfg)
    assert layout.results.path.name == "mini_tiny_sdm+ihm"
    assert layout.fbank == Layout.of(sdm_cfg).fbank  # stage 4 decodes SDM's dev and test
    assert layout.lang == Layout.of(sdm_cfg).lang
    sdm_cmvn = tiny_pooled / "fbank" / "mini_tiny_sdm" / "cmvn.json"
    both = load_cmvn([sdm_cmvn, ihm_path.parent / "cmvn.json"])
    frontend = pooled.model.frontend
    assert torch.equal(frontend.cmvn_mean, both[0]) and torch.equal(frontend.cmvn_std, both[1])
    assert not torch.equal(frontend.cmvn_mean, sdm.model.frontend.cmvn_mean)


def test_speed_perturbation_and_spec_augment_on_pooled_cuts(
    tiny_pooled: Path, tmp_path: Path, tiny_config
) -> None:
    """Stage 1 perturbs both microphones' cuts at two more speeds; SpecAugment changes the
    training features only: the dev loss reads them unmasked."""
    data = tmp_path / "data"
    for part in ("manifests/mini_tiny_sdm", "manifests/mini_tiny_ihm", "lang/mini_tiny_sdm"):
        shutil.copytree(tiny_pooled / part, data / part)
    overrides = [
        *tiny_training(data, tmp_path / "exp")[1:],
        POOLED,
        "features.speed_perturb=true",
        "train.spec_augment=true",
        "train.max_epochs=1",
    ]
    out = run_stage("features", "data=mini_tiny", *overrides)  # both microphones, 3 speeds each
    assert out.returncode == 0, out.stdout[-3000:]
    trainer = Trainer(tiny_config(*overrides))
    ids = [c.id for c in trainer.parts.train_cuts]
    kinds = {re.fullmatch(r".*?(_sp0\.9|_sp1\.1)?_(sdm|ihm)", i).groups() for i in ids}
    assert kinds == {(speed, mic) for speed in (None, "_sp0.9", "_sp1.1") for mic in ("sdm", "ihm")}
    # SpecAugment masks bands and stretches of the training batches' features, a new draw each
    # time; the dev loss of the stopping rule reads them unmasked (decoding builds batches of
    # its own, without SpecAugment)
    cuts = trainer.parts.train_cuts.subset(first=4)
    plain = CTCBatches(trainer.tokenizer)[cuts]["feats"]
    masked = [trainer.parts.dataset[cuts]["feats"] for _ in range(2)]
    assert plain.shape[0] == 4 and all(m.shape == plain.shape for m in masked)
    assert not torch.equal(masked[0], plain) and not torch.equal(masked[0], masked[1])
    assert 0.5 < (masked[0] == plain).float().mean() < 1  # masks, not new features
    assert torch.equal(trainer.parts.dataset.evaluating()[cuts]["feats"], plain)
    summary = trainer.run()
    assert summary["steps"] > 0 and summary["bad_batches"] == 0
    run = tmp_path / "exp" / "mini_tiny_sdm+ihm" / "residual_lstm_L2"
    assert (run / "checkpoints" / "best.pt").is_file()
    dev = trainer.parts.dev_cuts
    unmasked = dev_metrics(trainer.model, dev, CTCBatches(trainer.tokenizer), trainer.train_cfg,
                           trainer.tokenizer, amp=False)  # fmt: skip
    assert trainer.validate() == unmasked


def test_the_stopping_rule_reads_every_nth_dev_cut_in_id_order() -> None:
    """train.dev_monitor_every: the per-epoch dev subset spans every meeting of dev."""
    cuts = CutSet.from_cuts(dummy_cut(i) for i in (5, 3, 0, 4, 1, 2, 6))
    assert [c.id for c in monitor_subset(cuts, 3)] == [dummy_cut(i).id for i in (0, 3, 6)]
    assert len(monitor_subset(cuts, 1)) == 7
    with pytest.raises(ReslstmError, match="train.dev_monitor_every must be >= 1, got 0"):
        monitor_subset(cuts, 0)
