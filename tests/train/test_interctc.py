"""Intermediate CTC: which layers are tapped, the combined loss, the model's tapped outputs and
the trainer's use of them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from reslstm.ctc import ctc_loss
from reslstm.errors import ReslstmError
from reslstm.models import build_model
from reslstm.train.build import build_training
from reslstm.train.interctc import interctc_loss, interctc_taps
from reslstm.train.trainer import Trainer
from tests.helpers import tiny_training

torch.set_num_threads(1)
SMALL = {"cell_dim": 16, "proj_dim": 8, "dropout": 0.0, "subsampling": 2}


@pytest.mark.parametrize(
    ("layers", "every", "taps"),
    [
        (10, 3, (3, 6, 9)),
        (10, 2, (2, 4, 6, 8)),
        (5, 3, (3,)),
        (3, 3, ()),
        (6, 3, (3,)),
        (3, 1, (1, 2)),
        (1, 1, ()),
        (10, 0, ()),
    ],
)
def test_tapped_layers_lie_below_the_top(layers: int, every: int, taps: tuple[int, ...]) -> None:
    assert interctc_taps(layers, every, 0.5) == taps


@pytest.mark.parametrize(
    ("every", "weight", "message"),
    [
        (-1, 0.5, "interctc_every must be >= 0"),
        (3, 1.0, "interctc_weight must be in"),
        (3, -0.1, "interctc_weight must be in"),
    ],
)
def test_bad_settings_are_refused(every: int, weight: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        interctc_taps(10, every, weight)


def test_loss_weights_top_against_mean_of_tapped() -> None:
    top, tapped = torch.tensor(2.0), [torch.tensor(4.0), torch.tensor(8.0)]
    assert float(interctc_loss(top, tapped, 0.5)) == pytest.approx(0.5 * 2 + 0.5 * 6)
    assert float(interctc_loss(top, tapped, 0.0)) == pytest.approx(2.0)
    assert interctc_loss(top, [], 0.5) is top


@pytest.mark.parametrize("cell", ["plain", "highway", "residual"])
def test_tapped_output_is_that_of_the_truncated_stack(cell: str, model_config) -> None:
    """Tap k through the shared output layer = the same weights cut to k layers."""
    deep = build_model(model_config(cell) | SMALL | {"num_layers": 4}, 6, 5).eval()
    cut = build_model(model_config(cell) | SMALL | {"num_layers": 2}, 6, 5).eval()
    cut.load_state_dict({k: v for k, v in deep.state_dict().items() if k in cut.state_dict()})
    feats, lens = torch.randn(3, 20, 6), torch.tensor([20, 13, 4])
    tapped, out_lens = deep(feats, lens, (2,))
    top, top_lens = deep(feats, lens)
    assert tapped.shape == (2, *top.shape) and torch.equal(out_lens, top_lens)
    torch.testing.assert_close(tapped[-1], top)
    torch.testing.assert_close(tapped[0], cut(feats, lens)[0])


@pytest.mark.slow
def test_bad_setting_is_one_line_before_anything_is_written(
    tiny_prepared: Path, tmp_path: Path, tiny_config
) -> None:
    cfg = tiny_config(*tiny_training(tiny_prepared, tmp_path)[1:], "train.interctc_weight=1")
    with pytest.raises(ReslstmError, match=r"^train.interctc_weight must be in \[0, 1\), got 1"):
        build_training(cfg, torch.device("cpu"))
    assert not (tmp_path / "mini_tiny_sdm").exists()


@pytest.mark.slow
def test_trainer_minimises_the_combined_loss(tiny_prepared: Path, tmp_path: Path, tiny_config):
    overrides = tiny_training(tiny_prepared, tmp_path)[1:]
    cfg = tiny_config(*overrides, "model.num_layers=3", "model.dropout=0", "train.interctc_every=1")
    trainer = Trainer(cfg)
    assert trainer.parts.interctc_taps == (1, 2)
    batch = next(iter(trainer._epoch_loader()))
    with torch.no_grad():
        log_probs, lens = trainer.model(batch["feats"], batch["feat_lens"], (1, 2))
        losses = [
            ctc_loss(lp, lens, batch["targets"], batch["target_lens"], trainer.tokenizer.blank_id)
            for lp in log_probs
        ]
    expected = float(interctc_loss(losses[-1], losses[:-1], cfg.train.interctc_weight))
    assert losses[0] != pytest.approx(losses[-1])  # the taps are not the top
    assert trainer._step(batch)[0] == pytest.approx(expected, rel=1e-5)


@pytest.mark.slow
def test_warmup_drops_the_taps_once_the_model_learns(
    tiny_prepared: Path, tmp_path: Path, tiny_config
) -> None:
    overrides = tiny_training(tiny_prepared, tmp_path)[1:]
    cfg = tiny_config(*overrides, "model.num_layers=3", "train.interctc_every=1")
    warm = Trainer(
        tiny_config(
            *overrides, "model.num_layers=3", "train.interctc_every=1", "train.interctc_warmup=true"
        )
    )
    assert warm.active_taps() == (1, 2) == Trainer(cfg).active_taps()
    warm.schedule.end_epoch(2.0, learning=True)  # greedy dev CER fell below learning_cer
    assert warm.active_taps() == ()
    warm.schedule.end_epoch(2.5, learning=False)  # learning is sticky: the taps stay off
    assert warm.active_taps() == ()
