"""Typed schemas of the config groups ``train``, ``decode`` and ``score``: every key of
``conf/<group>/default.yaml`` with its type.

Each ``default.yaml`` holds the values and their comments and lists its schema first in its
defaults (``/schema/<group>@_here_``; :func:`reslstm.cli.compose.register_config` stores them);
Hydra then checks every value (the file's, an experiment's, a command line's) against these
types while it composes the config, so ``train.max_duration=abc`` stops every stage at once
with one line naming the key, instead of a traceback deep inside a stage. Ranges and choices
(``lr > 0``, ``optimizer: adam | adamw | sgd``) are checked where they are used, with their own
one-line errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import MISSING

# the schema of each group, by the group's name in conf/
SCHEMAS: dict[str, type] = {}


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


@dataclass
class DecodeConfig:
    """The keys of ``decode``; conf/decode/default.yaml explains each."""

    methods: list[str] = MISSING
    splits: list[str] = MISSING
    checkpoint: str = MISSING
    avg_last: int = MISSING
    max_duration: float = MISSING
    features: str = MISSING
    beam_size: int = MISSING
    beam_threshold: float = MISSING
    lm_weight: float = MISSING
    word_score: float = MISSING
    nbest: int = MISSING


@dataclass
class ScoreConfig:
    """The keys of ``score``; conf/score/default.yaml explains each."""

    methods: list[str] = MISSING
    normalization: str = MISSING
    primary: str = MISSING
    asclite_overlap_limit: int = MISSING
    meeteval_collar: float = MISSING
    bootstrap_samples: int = MISSING
    bootstrap_seed: int = MISSING
    confidence: float = MISSING


SCHEMAS.update(train=TrainConfig, decode=DecodeConfig, score=ScoreConfig)
