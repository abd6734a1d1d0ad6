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


@dataclass
class TrainConfig:
    """The keys of ``train``; conf/train/default.yaml explains each."""

    max_epochs: int
    dev_monitor_every: int
    max_halvings: int
    learning_cer: float
    plateau_patience: int
    max_duration: float
    num_buckets: int
    sortagrad_epochs: int
    num_workers: int
    keep_features_mb: float
    spec_augment: bool
    on_the_fly_features: bool
    optimizer: str
    lr: float
    momentum: float
    weight_decay: float
    scheduler: str
    warmup_steps: int
    newbob_factor: float
    newbob_threshold: float
    newbob_patience: int
    min_lr: float
    grad_clip: float
    amp: bool
    keep_last: int
    checkpoint_every_steps: int
    log_every_steps: int
    resume: str
    max_bad_batches: int
    interctc_every: int
    interctc_weight: float
    interctc_warmup: bool


@dataclass
class DecodeConfig:
    """The keys of ``decode``; conf/decode/default.yaml explains each."""

    methods: list[str]
    splits: list[str]
    checkpoint: str
    avg_last: int
    max_duration: float
    features: str
    beam_size: int
    beam_threshold: float
    lm_weight: float
    word_score: float
    nbest: int


@dataclass
class ScoreConfig:
    """The keys of ``score``; conf/score/default.yaml explains each."""

    methods: list[str]
    normalization: str
    primary: str
    asclite_overlap_limit: int
    meeteval_collar: float
    bootstrap_samples: int
    bootstrap_seed: int
    confidence: float


# the schema of each group, by the group's name in conf/
SCHEMAS: dict[str, type] = {"train": TrainConfig, "decode": DecodeConfig, "score": ScoreConfig}
