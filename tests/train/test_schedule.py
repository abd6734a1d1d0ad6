"""The learning-rate schedule and the shared stopping rule (newbob halvings, blank plateau)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from omegaconf import DictConfig

from reslstm.checkpoint import load_checkpoint
from reslstm.cli.compose import compose_config
from reslstm.layout import RunDir
from reslstm.train.build import make_schedule
from reslstm.train.schedule import LRSchedule
from reslstm.train.trainer import Trainer
from tests.helpers import tiny_training


def newbob(**kw: object) -> LRSchedule:
    args = {"kind": "newbob", "base_lr": 1e-3, "warmup_steps": 10, "min_lr": 1e-6}
    return LRSchedule(**(args | kw))


def test_warmup_then_base_rate() -> None:
    s = newbob()
    assert s.lr(0) == pytest.approx(1e-4) and s.lr(9) == pytest.approx(1e-3)
    assert s.lr(500) == pytest.approx(1e-3)


def test_newbob_halves_on_a_stall_and_stops_after_k_halvings() -> None:
    s = newbob(max_halvings=2)
    for loss in (3.0, 2.0, 1.5):  # improving: no halving
        s.end_epoch(loss, learning=True)
    assert (s.halvings, s.finished()) == (0, False)
    s.end_epoch(1.6, learning=True)  # worse: halve
    assert s.halvings == 1 and s.lr(100) == pytest.approx(5e-4) and not s.finished()
    s.end_epoch(1.4, learning=True)  # better than the best: keep
    assert s.halvings == 1
    s.end_epoch(1.45, learning=True)  # worse than the best: halve again
    assert s.halvings == 2 and s.finished() and s.lr(100) == pytest.approx(2.5e-4)


def test_a_model_on_the_blank_plateau_is_never_annealed() -> None:
    s = newbob(max_halvings=1)
    for loss in (2.90, 2.91, 2.92, 2.95):  # flat or worse, but not learning yet
        s.end_epoch(loss, learning=False)
    assert s.halvings == 0 and not s.finished() and s.lr(100) == pytest.approx(1e-3)
    s.end_epoch(2.5, learning=True)  # leaves the plateau
    s.end_epoch(2.6, learning=False)  # learning is sticky: a worse epoch now anneals
    assert s.halvings == 1 and s.finished()


def test_threshold_counts_small_improvements_as_stalls() -> None:
    s = newbob(threshold=0.01)
    s.end_epoch(2.0, learning=True)
    s.end_epoch(1.99, learning=True)  # 0.5 % better < 1 %
    assert s.halvings == 1


def test_no_early_stop_when_max_halvings_is_zero_or_not_newbob() -> None:
    s = newbob(max_halvings=0)
    for loss in (1.0, 2.0, 3.0, 4.0):
        s.end_epoch(loss, learning=True)
    assert s.halvings == 3 and not s.finished()
    c = LRSchedule("cosine", 1e-3, 0, 1e-5, total_steps=100, max_halvings=1)
    c.end_epoch(1.0)
    c.end_epoch(2.0)
    assert not c.finished() and c.lr(100) == pytest.approx(1e-5)


def test_state_round_trip() -> None:
    s = newbob(max_halvings=3)
    s.end_epoch(2.0, learning=True)
    s.end_epoch(2.5, learning=True)
    t = newbob(max_halvings=3)
    t.load_state_dict(s.state_dict())
    assert t == s


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="use newbob, cosine or constant"):
        newbob(kind="step")


def test_a_model_stuck_on_the_plateau_stops_after_the_patience() -> None:
    s = newbob(max_halvings=3, plateau_patience=3)
    for _ in range(2):
        s.end_epoch(2.9, learning=False)
    assert not s.finished()
    s.end_epoch(2.9, learning=False)
    assert s.finished() and s.halvings == 0
    t = newbob(max_halvings=3, plateau_patience=3)
    for learning in (False, False, True, True):  # learned in time: patience no longer applies
        t.end_epoch(2.0, learning=learning)
    assert not t.finished()


def test_patience_halves_only_after_that_many_stalled_epochs_in_a_row() -> None:
    s = newbob(patience=2)
    for loss in (2.0, 2.1):  # one stall: not yet
        s.end_epoch(loss, learning=True)
    assert s.halvings == 0
    s.end_epoch(1.9, learning=True)  # an improvement resets the count
    s.end_epoch(1.95, learning=True)
    assert s.halvings == 0
    s.end_epoch(1.96, learning=True)  # second stall in a row: halve
    assert s.halvings == 1 and s.lr(100) == pytest.approx(5e-4)
    s.end_epoch(1.97, learning=True)  # the count starts again after a halving
    assert s.halvings == 1


def test_cosine_decays_from_the_base_rate_to_min_lr_after_warmup() -> None:
    c = LRSchedule("cosine", 1e-3, 10, 1e-5, total_steps=100)
    assert c.lr(4) == pytest.approx(0.5e-3)  # warm-up, then half-way down the cosine
    assert c.lr(10) == pytest.approx(1e-3) and c.lr(60) == pytest.approx((1e-3 + 1e-5) / 2)
    assert c.lr(110) == pytest.approx(1e-5) and c.lr(10_000) == pytest.approx(1e-5)
    k = LRSchedule("constant", 1e-3, 10, 1e-5)
    k.end_epoch(1.0, learning=True)
    k.end_epoch(2.0, learning=True)  # no halving: only newbob anneals
    assert k.lr(5) == pytest.approx(0.6e-3) and k.lr(500) == pytest.approx(1e-3)


def test_the_trainer_builds_its_schedule_from_conf_train() -> None:
    t = compose_config(["train.newbob_patience=3"]).train
    s = make_schedule(t, total_steps=500)
    assert (s.kind, s.base_lr, s.warmup_steps, s.min_lr) == (
        "newbob",
        t.lr,
        t.warmup_steps,
        t.min_lr,
    )
    assert (s.factor, s.threshold, s.patience) == (t.newbob_factor, t.newbob_threshold, 3)
    assert (s.max_halvings, s.plateau_patience, s.total_steps) == (
        t.max_halvings,
        t.plateau_patience,
        500,
    )


@pytest.mark.slow
def test_the_cosine_lasts_as_many_updates_as_a_real_training_makes(
    tiny_prepared: Path, tmp_path: Path, tiny_config: Callable[..., DictConfig]
) -> None:
    """The cosine's length is counted from the training's own samplers (the sortagrad epoch's
    batches, then the bucketing epochs'), not estimated from the audio's duration, which fell
    short by the batches' unused room (~17 % at 3.5 h: the rate reached ``min_lr`` after 17
    of 20 epochs)."""
    cfg = tiny_config(
        *tiny_training(tiny_prepared, tmp_path)[1:], "train.scheduler=cosine", "train.max_epochs=3"
    )
    summary = Trainer(cfg).run()
    last = load_checkpoint(RunDir(Path(cfg.paths.run_dir)).checkpoints.named("last"))
    assert last["schedule"]["total_steps"] == summary["steps"] > 0
