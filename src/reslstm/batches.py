"""Batches of cuts for training (stage 3) and decoding (stage 4): cut loading and filtering,
the batch dataset, and the resumable training samplers.

The batch contract: :class:`CTCBatches` turns a CutSet (one sampler step) into a dict whose
utterances are sorted longest first:

- ``ids``: ``list[str]`` of length B, the cut ids;
- ``feats``: float tensor ``[B, T, F]``, fbank features padded to the longest utterance (with
  lhotse's ``LOG_EPSILON``, the log of a tiny energy);
- ``feat_lens``: long tensor ``[B]``, the real frames of each utterance;
- ``targets``: long tensor ``[sum_b L_b]``, the token ids of every transcript, concatenated;
- ``target_lens``: long tensor ``[B]``, the tokens ``L_b`` of each transcript;
- ``texts``: ``list[str]`` of length B, the transcripts (references).
"""

from __future__ import annotations

import copy
import itertools
import logging
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from lhotse import CutSet, load_manifest_lazy
from lhotse.cut import Cut
from lhotse.dataset import (
    DynamicBucketingSampler,
    DynamicCutSampler,
    OnTheFlyFeatures,
    PrecomputedFeatures,
    SpecAugment,
)
from lhotse.dataset.collation import collate_matrices
from lhotse.features import FeatureExtractor
from lhotse.utils import LOG_EPSILON, compute_num_frames
from torch.utils.data import Dataset, Sampler

from reslstm.ctc import ctc_min_frames
from reslstm.errors import ReslstmError
from reslstm.tokens import Tokenizer

log = logging.getLogger(__name__)
# Our cut sets are small and held in memory on purpose (filtering needs a pass over them).
warnings.filterwarnings("ignore", message="You are using Dynamic.*eagerly read CutSet")


def load_cuts(path: Path) -> CutSet:
    """Read a cut manifest (eagerly: the mini corpus and AMI both fit in memory)."""
    lazy = load_manifest_lazy(path)  # None for an empty file
    return CutSet.from_cuts([]) if lazy is None else lazy.to_eager()


def num_frames(cut: Cut, frame_shift: float) -> int:
    """Feature frames of a cut: stored, or as the extractor will compute them from audio."""
    if cut.has_features:
        return cut.num_frames
    return compute_num_frames(cut.duration, frame_shift, cut.sampling_rate)


def filter_trainable(
    cuts: CutSet,
    tokenizer: Tokenizer,
    output_frames: Callable[[int], int],
    manifest: Path,
    frame_shift: float = 0.01,
) -> CutSet:
    """Drop cuts with an empty target or fewer output frames than CTC needs; log the counts."""
    kept, too_short, empty = [], 0, 0
    for cut in cuts:
        ids = tokenizer.encode(cut.supervisions[0].text)
        if not ids:
            empty += 1
        elif output_frames(num_frames(cut, frame_shift)) < ctc_min_frames(ids):
            too_short += 1
        else:
            kept.append(cut)
    if too_short or empty:
        log.info(
            "%s: dropped %d cuts shorter than their CTC target after subsampling and %d "
            "with an empty target; %d remain",
            manifest.name,
            too_short,
            empty,
            len(kept),
        )
    if not kept:
        raise ReslstmError(f"no usable training utterances in {manifest}")
    return CutSet.from_cuts(kept)


class KeptFeatures:
    """lhotse's :class:`PrecomputedFeatures` that keeps what it reads: each cut's features are
    read from storage (and decompressed) once and kept in memory, up to ``budget_mb`` in all,
    so that later epochs collate from memory. The batches are bitwise PrecomputedFeatures' (real
    frames as stored, padded with ``LOG_EPSILON`` to the longest cut). Cuts are told apart by
    id, unique within a CutSet (train and dev never share a meeting)."""

    def __init__(self, budget_mb: float) -> None:
        self.kept: dict[str, torch.Tensor] = {}
        self.room = int(budget_mb * 2**20)  # bytes left

    def _features(self, cut: Cut) -> torch.Tensor:
        feats = self.kept.get(cut.id)
        if feats is None:
            feats = torch.from_numpy(cut.load_features())
            size = feats.numel() * feats.element_size()
            if size <= self.room:
                self.kept[cut.id] = feats
                self.room -= size
        return feats

    def __call__(self, cuts: CutSet) -> tuple[torch.Tensor, torch.Tensor]:
        """``(features [B, T, F], num_frames [B])``, as PrecomputedFeatures returns them."""
        feats = [self._features(cut)[: cut.num_frames] for cut in cuts]
        lens = torch.tensor([cut.num_frames for cut in cuts], dtype=torch.int)
        return collate_matrices(feats, padding_value=LOG_EPSILON), lens


class CTCBatches(Dataset):
    """Turns a CutSet mini-batch into padded features, concatenated targets and texts.

    Features are read from storage (and kept in memory across epochs, up to ``keep_features_mb``
    MB), or computed from the audio with ``extractor`` when given (on-the-fly extraction).
    """

    def __init__(
        self,
        tokenizer: Tokenizer,
        spec_augment: bool = False,
        extractor: FeatureExtractor | None = None,
        keep_features_mb: float = 0.0,
    ) -> None:
        self.tokenizer = tokenizer
        self.spec_augment = SpecAugment(time_warp_factor=None) if spec_augment else None
        self.inputs: Callable[[CutSet], tuple[torch.Tensor, torch.Tensor]]
        if extractor is not None:
            self.inputs = OnTheFlyFeatures(extractor)
        elif keep_features_mb > 0:
            self.inputs = KeptFeatures(keep_features_mb)
        else:
            self.inputs = PrecomputedFeatures()

    def evaluating(self) -> CTCBatches:
        """The same batches without SpecAugment, for the dev loss (features kept in memory are
        shared)."""
        plain = copy.copy(self)
        plain.spec_augment = None
        return plain

    def __getitem__(self, cuts: CutSet) -> dict[str, Any]:
        cuts = cuts.sort_by_duration(ascending=False)
        feats, feat_lens = self.inputs(cuts)
        if self.spec_augment is not None:
            feats = self.spec_augment(feats)
        texts = [c.supervisions[0].text for c in cuts]
        targets = [torch.tensor(self.tokenizer.encode(t), dtype=torch.long) for t in texts]
        return {
            "ids": [c.id for c in cuts],
            "feats": feats,
            "feat_lens": feat_lens,
            "targets": torch.cat(targets),
            "target_lens": torch.tensor([len(t) for t in targets]),
            "texts": texts,
        }


def make_sampler(
    cuts: CutSet,
    cfg: Any,
    epoch: int,
    seed: int,
    world_size: int = 1,
    rank: int = 0,
) -> Sampler:
    """The epoch's sampler: shortest-first for the first ``sortagrad_epochs``, then bucketing."""
    common = dict(max_duration=cfg.max_duration, world_size=world_size, rank=rank, seed=seed)
    if epoch <= cfg.sortagrad_epochs:
        sampler = DynamicCutSampler(cuts.sort_by_duration(ascending=True), shuffle=False, **common)
    else:
        sampler = DynamicBucketingSampler(cuts, shuffle=True, num_buckets=cfg.num_buckets, **common)
    sampler.set_epoch(epoch)
    return sampler


def count_batches(cuts: CutSet, cfg: Any, epoch: int, seed: int, world_size: int = 1) -> int:
    """The batches :func:`make_sampler` gives one process in ``epoch``, counted (not estimated
    from the audio's duration: bucketing fills a batch to ~85 % of ``max_duration``)."""
    return sum(1 for _ in make_sampler(cuts, cfg, epoch, seed, world_size))


class SkipFirst(Sampler):
    """Yields the batches of ``sampler`` after the first ``skip`` (resume mid-epoch).

    lhotse samplers are deterministic given seed and epoch, so skipping the batches already
    trained on reproduces the exact remainder of the interrupted epoch.
    """

    def __init__(self, sampler: Sampler, skip: int) -> None:
        self.sampler = sampler
        self.skip = skip

    def __iter__(self) -> Iterator[CutSet]:
        # lhotse samplers restart when iter() is called on them again, so no ``yield from``.
        it = iter(self.sampler)
        for i in itertools.count():
            try:
                batch = next(it)
            except StopIteration:
                return
            if i >= self.skip:
                yield batch
