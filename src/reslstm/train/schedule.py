"""Learning-rate schedule and stopping rule: warm-up, then newbob halving on the dev loss."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


@dataclass
class LRSchedule:
    """Learning rate as a function of the step and of the dev-loss history.

    - ``newbob``: after warm-up, multiply the rate by ``factor`` once ``patience`` epochs in a
      row improved the dev loss by less than ``threshold`` (relative), as in Kaldi/CNTK
      recipes (patience 1: every such epoch), but only once
      the model *learns* (its greedy dev CER has fallen below the caller's bar): a model still
      on the CTC blank plateau is never annealed. Training stops after ``max_halvings``
      halvings (0: never), or when the model has not started learning after
      ``plateau_patience`` epochs (0: never), see :meth:`finished`;
    - ``cosine``: after warm-up, cosine decay to ``min_lr`` over ``total_steps``;
    - ``constant``: warm-up only.
    """

    kind: str
    base_lr: float
    warmup_steps: int
    min_lr: float
    factor: float = 0.5
    threshold: float = 0.0
    total_steps: int = 0
    max_halvings: int = 0
    plateau_patience: int = 0
    patience: int = 1
    stalls: int = 0  # epochs in a row without enough improvement
    scale: float = 1.0  # newbob's accumulated halvings
    halvings: int = 0
    epochs: int = 0
    learning: bool = False  # has the model left the blank plateau (sticky)
    best_dev_loss: float = math.inf

    def __post_init__(self) -> None:
        if self.kind not in ("newbob", "cosine", "constant"):
            raise ValueError(f"train.scheduler={self.kind!r}: use newbob, cosine or constant")

    def lr(self, step: int) -> float:
        warm = min(1.0, (step + 1) / self.warmup_steps) if self.warmup_steps else 1.0
        if self.kind == "cosine" and self.total_steps:
            progress = min(1.0, max(0, step - self.warmup_steps) / max(1, self.total_steps))
            cos = self.min_lr + 0.5 * (self.base_lr - self.min_lr) * (
                1 + math.cos(math.pi * progress)
            )
            return warm * cos
        return max(self.min_lr, warm * self.base_lr * self.scale)

    def end_epoch(self, dev_loss: float, learning: bool = True) -> None:
        """Record an epoch's dev loss; newbob halves the rate when a learning model stalls."""
        self.learning = self.learning or learning
        self.epochs += 1
        stalled = dev_loss > self.best_dev_loss * (1 - self.threshold)
        if self.kind == "newbob" and self.learning and math.isfinite(self.best_dev_loss):
            self.stalls = self.stalls + 1 if stalled else 0
            if self.stalls >= self.patience:
                self.scale *= self.factor
                self.halvings += 1
                self.stalls = 0
        self.best_dev_loss = min(self.best_dev_loss, dev_loss)

    def finished(self) -> bool:
        """The stopping rule: newbob has halved the rate ``max_halvings`` times, or the model
        is still on the blank plateau after ``plateau_patience`` epochs."""
        stuck = not self.learning and 0 < self.plateau_patience <= self.epochs
        return stuck or (self.kind == "newbob" and 0 < self.max_halvings <= self.halvings)

    def state_dict(self) -> dict:
        return asdict(self)

    def load_state_dict(self, state: dict) -> None:
        for k, v in state.items():
            setattr(self, k, v)
