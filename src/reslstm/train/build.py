"""What a training run is made of, built from the config: tokens, data, model, optimiser and
learning-rate schedule (:func:`build_training`); :class:`reslstm.train.trainer.Trainer` runs it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from lhotse import CutSet
from omegaconf import DictConfig, OmegaConf

from reslstm.batches import CTCBatches, count_batches, filter_trainable, load_cuts
from reslstm.data.mics import conditions
from reslstm.errors import ReslstmError
from reslstm.features.cmvn import load_cmvn
from reslstm.features.fbank import make_extractor
from reslstm.layout import Layout, require, require_done
from reslstm.models import CTCModel, build_model
from reslstm.runtime import seed_everything
from reslstm.tokens import Tokenizer, load_tokenizer
from reslstm.train.interctc import interctc_taps
from reslstm.train.schedule import LRSchedule


@dataclass
class TrainingParts:
    """Everything the training loop needs besides the device and the process group."""

    layout: Layout
    tokenizer: Tokenizer
    model_cfg: dict[str, Any]  # the resolved ``model`` config, stored in every checkpoint
    input_dim: int
    model: CTCModel  # on the device, CMVN set
    interctc_taps: tuple[int, ...]  # layers with an intermediate CTC loss (train/interctc.py)
    train_cuts: CutSet  # filtered to what CTC can learn from
    dev_cuts: CutSet  # the per-epoch monitoring subset (train.dev_monitor_every)
    dataset: CTCBatches
    optimizer: torch.optim.Optimizer
    schedule: LRSchedule


def monitor_subset(cuts: CutSet, every: int) -> CutSet:
    """Every ``every``-th cut in id order: the dev cuts the stopping rule reads after each epoch
    (``train.dev_monitor_every``; decoding and scoring use all of dev)."""
    if every < 1:
        raise ReslstmError(f"train.dev_monitor_every must be >= 1, got {every}")
    return CutSet.from_cuts(sorted(cuts, key=lambda c: c.id)[::every])


def build_training(cfg: DictConfig, device: torch.device, world_size: int = 1) -> TrainingParts:
    """Build the run ``cfg`` describes; the model's initial weights come from ``cfg.seed``
    (identical on every rank of a DDP run).

    Training pools the cuts of every microphone in ``data.train_mics`` (each condition's own
    stage 0-1 outputs); dev is ``data.mic``'s, and so are the tokens and LM of stage 2 (every
    condition transcribes the same meetings).
    """
    layout, train_cfg = Layout.of(cfg), cfg.train
    sources = {c.data.mic: Layout.of(c) for c in conditions(cfg)}  # data.mic's first
    for source in sources.values():
        require_done(source.manifests.path, 0)
    tokenizer = load_tokenizer(cfg.lang.tokens, layout.lang)
    seed_everything(cfg.seed)
    # on-the-fly: audio cuts of stage 0, features computed per batch (CMVN still from stage 1)
    stage = 0 if train_cfg.on_the_fly_features else 1

    def cuts_path(source: Layout, split: str) -> Path:
        return require((source.manifests if stage == 0 else source.fbank).cuts(split), stage)

    train_paths = {mic: cuts_path(source, "train") for mic, source in sources.items()}
    # Global CMVN normalises what the model trains on: the frames of every pooled condition
    # together. It is a buffer of the model, so decoding uses the same statistics.
    cmvn = load_cmvn([require(source.fbank.cmvn, 1) for source in sources.values()])
    input_dim = cfg.features.num_mel_bins
    model_cfg = OmegaConf.to_container(cfg.model, resolve=True)
    try:
        model = build_model(model_cfg, input_dim, tokenizer.vocab_size)
        taps = interctc_taps(
            model_cfg["num_layers"], train_cfg.interctc_every, train_cfg.interctc_weight
        )
    except ValueError as e:
        raise ReslstmError(str(e)) from e
    model.set_cmvn(*cmvn)
    model.to(device)

    def out_frames(n: int) -> int:
        return int(model.output_lengths(torch.tensor([n]))[0])

    shift = cfg.features.frame_shift
    train_cuts = pool_cuts(
        {
            mic: filter_trainable(load_training_cuts(path), tokenizer, out_frames, path, shift)
            for mic, path in train_paths.items()
        }
    )
    dev_path = cuts_path(layout, "dev")
    dev_cuts = filter_trainable(load_cuts(dev_path), tokenizer, out_frames, dev_path, shift)
    dev_cuts = monitor_subset(dev_cuts, train_cfg.dev_monitor_every)
    total_steps = (
        training_steps(train_cuts, train_cfg, cfg.seed, world_size)
        if train_cfg.scheduler == "cosine"
        else 0
    )
    return TrainingParts(
        layout=layout,
        tokenizer=tokenizer,
        model_cfg=model_cfg,
        input_dim=input_dim,
        model=model,
        interctc_taps=taps,
        train_cuts=train_cuts,
        dev_cuts=dev_cuts,
        dataset=CTCBatches(
            tokenizer,
            spec_augment=train_cfg.spec_augment,
            extractor=make_extractor(cfg.features) if train_cfg.on_the_fly_features else None,
            keep_features_mb=kept_features_mb(train_cfg),
        ),
        optimizer=make_optimizer(model, train_cfg),
        schedule=make_schedule(train_cfg, total_steps=total_steps),
    )


def kept_features_mb(train_cfg: DictConfig) -> float:
    """``train.keep_features_mb``, checked (at least 0; its type is the schema's); 0 with
    DataLoader workers, which are new processes each epoch, so what they would keep is lost."""
    value = train_cfg.keep_features_mb
    if value < 0:
        raise ReslstmError(
            f"train.keep_features_mb must be a number of MB, at least 0 (0: off), got {value:g}"
        )
    return value if train_cfg.num_workers == 0 else 0.0


def load_training_cuts(path: Path) -> CutSet:
    """The cuts of a training manifest; a one-line error when it has none."""
    cuts = load_cuts(path)
    if len(cuts) == 0:
        raise ReslstmError(f"the training set is empty: {path} has no cuts")
    return cuts


def pool_cuts(by_mic: dict[str, CutSet]) -> CutSet:
    """The training cuts of every microphone condition in one set. Pooled, each cut id gets its
    microphone as a suffix (``ES2002a-0_sdm``): the same segment from two microphones stays two
    cuts."""
    if len(by_mic) == 1:
        return next(iter(by_mic.values()))
    renamed = (cuts.modify_ids(lambda i, mic=mic: f"{i}_{mic}") for mic, cuts in by_mic.items())
    return CutSet.from_cuts(itertools.chain.from_iterable(renamed))


def training_steps(cuts: CutSet, train_cfg: DictConfig, seed: int, world_size: int) -> int:
    """Updates of a whole training of ``train.max_epochs`` epochs (the cosine's length): each
    sortagrad epoch's batches, then the first bucketing epoch's for every later epoch (their
    counts differ by a batch or two)."""
    sorted_epochs = min(train_cfg.sortagrad_epochs, train_cfg.max_epochs)
    first = [
        count_batches(cuts, train_cfg, e, seed, world_size) for e in range(1, sorted_epochs + 1)
    ]
    later = train_cfg.max_epochs - sorted_epochs
    bucketing = count_batches(cuts, train_cfg, sorted_epochs + 1, seed, world_size) if later else 0
    return sum(first) + later * bucketing


def make_optimizer(model: torch.nn.Module, train_cfg: DictConfig) -> torch.optim.Optimizer:
    """``train.optimizer`` over the model's parameters."""
    params = model.parameters()
    if train_cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=train_cfg.lr, weight_decay=train_cfg.weight_decay)
    if train_cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=train_cfg.lr, weight_decay=train_cfg.weight_decay)
    if train_cfg.optimizer == "sgd":
        return torch.optim.SGD(
            params,
            lr=train_cfg.lr,
            momentum=train_cfg.momentum,
            weight_decay=train_cfg.weight_decay,
        )
    raise ReslstmError(f"train.optimizer={train_cfg.optimizer!r}: use adam, adamw or sgd")


def make_schedule(train_cfg: DictConfig, total_steps: int) -> LRSchedule:
    """The learning-rate schedule and stopping rule of ``train``."""
    return LRSchedule(
        kind=train_cfg.scheduler,
        base_lr=train_cfg.lr,
        warmup_steps=train_cfg.warmup_steps,
        min_lr=train_cfg.min_lr,
        factor=train_cfg.newbob_factor,
        threshold=train_cfg.newbob_threshold,
        patience=train_cfg.newbob_patience,
        total_steps=total_steps,
        max_halvings=train_cfg.max_halvings,
        plateau_patience=train_cfg.plateau_patience,
    )
