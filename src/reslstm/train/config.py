"""The ``train`` config group's schema: every key of ``conf/train/default.yaml`` with its type.

``conf/train/default.yaml`` holds the values and their comments, and lists this schema first in
its defaults; Hydra then checks every value (the file's, an experiment's, a command line's)
against these types while it composes the config, so ``train.max_duration=abc`` stops every
stage at once with one line naming the key, instead of a traceback deep inside training.
Ranges and choices (``lr > 0``, ``optimizer: adam | adamw | sgd``) are checked where they are
used, with their own one-line errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import MISSING


@dataclass
class TrainConfig:
    """The keys of ``train``; conf/train/default.yaml explains each."""

    max_epochs: int = MISSING
    dev_monitor_every: int = MISSING
    max_halvings: int = MISSING
    learning_cer: float = MISSING
    plateau_patience: int = MISSING
    max_duration: float = MISSING
    num_buckets: int = MISSING
    sortagrad_epochs: int = MISSING
    num_workers: int = MISSING
    keep_features_mb: float = MISSING
    spec_augment: bool = MISSING
    on_the_fly_features: bool = MISSING
    optimizer: str = MISSING
    lr: float = MISSING
    momentum: float = MISSING
    weight_decay: float = MISSING
    scheduler: str = MISSING
    warmup_steps: int = MISSING
    newbob_factor: float = MISSING
    newbob_threshold: float = MISSING
    newbob_patience: int = MISSING
    min_lr: float = MISSING
    grad_clip: float = MISSING
    amp: bool = MISSING
    keep_last: int = MISSING
    checkpoint_every_steps: int = MISSING
    log_every_steps: int = MISSING
    resume: str = MISSING
    max_bad_batches: int = MISSING
    interctc_every: int = MISSING
    interctc_weight: float = MISSING
    interctc_warmup: bool = MISSING
