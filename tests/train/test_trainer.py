"""Stage 3 on the tiny generated corpus: learning, TensorBoard, training sets (kill + resume:
tests/reliability/test_interrupted_training.py; DDP: tests/train/test_distributed.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from reslstm.train.trainer import Trainer
from tests.helpers import tiny_training

pytestmark = pytest.mark.slow


def scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    acc = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0})
    acc.Reload()
    return {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}


def test_loss_goes_down_and_tensorboard_has_per_layer_grad_norms(
    tiny_prepared: Path, tmp_path: Path, tiny_config
) -> None:
    cfg = tiny_config(
        *tiny_training(tiny_prepared, tmp_path)[1:], "train.max_epochs=6", "train.lr=3e-3"
    )
    summary = Trainer(cfg).run()
    run_dir = Path(cfg.paths.run_dir)
    history = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert len(history) == 6 and summary["steps"] == history[-1]["step"]
    assert history[-1]["dev_loss"] < history[0]["dev_loss"]
    tb = scalars(run_dir)
    losses = [v for _, v in tb["train/loss"]]
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3
    for tag in (
        "grad_norm/total",
        "grad_norm/layer1",
        "grad_norm/layer2",
        "grad_norm/output",
        "train/lr",
        "train/frames_per_s",
        "dev/loss",
        "dev/wer",
    ):
        assert tb[tag], tag
    assert {"best.pt", "last.pt"} <= {p.name for p in (run_dir / "checkpoints").iterdir()}


def test_empty_or_unusable_training_set_fails_with_the_manifest_name(
    tiny_prepared: Path, tmp_path: Path
) -> None:
    from lhotse import CutSet, load_manifest

    from reslstm.batches import filter_trainable, load_cuts
    from reslstm.errors import ReslstmError
    from reslstm.tokens import CharTokenizer

    fbank = tiny_prepared / "fbank" / "mini_tiny_sdm"
    cuts = load_manifest(fbank / "cuts_train.jsonl.gz")
    tokenizer = CharTokenizer.from_file(tiny_prepared / "lang" / "mini_tiny_sdm" / "tokens.txt")
    manifest = tmp_path / "cuts_train.jsonl.gz"
    with pytest.raises(ReslstmError, match="cuts_train.jsonl.gz"):  # every cut too short
        filter_trainable(cuts, tokenizer, lambda frames: 1, manifest)
    CutSet.from_cuts([]).to_file(manifest)
    with pytest.raises(ReslstmError, match="cuts_train.jsonl.gz"):
        filter_trainable(load_cuts(manifest), tokenizer, lambda frames: frames, manifest)


def test_on_the_fly_features_match_stored_ones_and_train(
    tiny_prepared: Path, tmp_path: Path, tiny_config
) -> None:
    from reslstm.batches import CTCBatches, load_cuts
    from reslstm.features.fbank import make_extractor
    from reslstm.tokens import CharTokenizer

    cfg = tiny_config()
    tokenizer = CharTokenizer.from_file(Path(cfg.paths.lang_dir) / "tokens.txt")
    stored = load_cuts(Path(cfg.paths.fbank_dir) / "cuts_train.jsonl.gz").subset(first=3)
    audio = load_cuts(Path(cfg.paths.manifest_dir) / "cuts_train.jsonl.gz").subset(first=3)
    a = CTCBatches(tokenizer)[stored]
    b = CTCBatches(tokenizer, extractor=make_extractor(cfg.features))[audio]
    assert a["ids"] == b["ids"] and torch.equal(a["feat_lens"], b["feat_lens"])
    assert (a["feats"] - b["feats"]).abs().max() < 0.05  # lilcom's quantisation of the stored
    otf = tiny_config(
        *tiny_training(tiny_prepared, tmp_path)[1:],
        "train.max_epochs=1",
        "train.on_the_fly_features=true",
    )
    summary = Trainer(otf).run()
    assert summary["steps"] > 0 and summary["bad_batches"] == 0
