"""Batches for training and decoding: the batch contract, the epoch samplers, and resuming an
epoch mid-way, on real lhotse cuts with features made on the fly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from lhotse import CutSet
from lhotse.utils import LOG_EPSILON

from reslstm.batches import CTCBatches, SkipFirst, make_sampler
from reslstm.cli.compose import compose_config
from reslstm.tokens import CharTokenizer
from tests.helpers import feature_cuts

TEXTS = ["THE CAT SAT", "ON THE MAT", "A CAT", "THE MAT SAT ON THE CAT", "ON", "SAT ON A MAT"]
TOKENIZER = CharTokenizer.from_texts(TEXTS)


@pytest.fixture(scope="module")
def cuts(tmp_path_factory: pytest.TempPathFactory) -> CutSet:
    """Twelve cuts of 0.2-1.3 s (distinct durations)."""
    frames = [20 + 10 * ((7 * i) % 12) for i in range(12)]
    texts = [TEXTS[i % len(TEXTS)] for i in range(12)]
    return feature_cuts(tmp_path_factory.mktemp("feats"), texts, frames, dim=4)


def ids(batches) -> list[list[str]]:
    return [[c.id for c in batch] for batch in batches]


def train_cfg(**overrides: object):
    cfg = compose_config([]).train
    for key, value in overrides.items():
        cfg[key] = value
    return cfg


def test_a_batch_follows_the_contract(cuts: CutSet) -> None:
    some = cuts.subset(first=3)
    batch = CTCBatches(TOKENIZER)[some]
    by_length = sorted(some, key=lambda c: -c.duration)
    assert batch["ids"] == [c.id for c in by_length]
    assert batch["texts"] == [c.supervisions[0].text for c in by_length]
    assert batch["feats"].shape == (3, by_length[0].num_frames, 4)
    assert batch["feat_lens"].tolist() == [c.num_frames for c in by_length]
    encoded = [TOKENIZER.encode(t) for t in batch["texts"]]
    assert batch["target_lens"].tolist() == [len(e) for e in encoded]
    assert batch["targets"].tolist() == [i for e in encoded for i in e]
    for b, cut in enumerate(by_length):  # real frames as stored, then lhotse's padding value
        n = cut.num_frames
        assert torch.equal(batch["feats"][b, :n], torch.from_numpy(cut.load_features()))
        assert (batch["feats"][b, n:] == LOG_EPSILON).all()


@pytest.mark.parametrize("budget_mb", [1.0, 0.002])  # every cut kept; only some of them
def test_kept_features_give_bitwise_the_batches_read_from_storage(
    cuts: CutSet, budget_mb: float
) -> None:
    """``keep_features_mb``: two epochs' batches equal those read from storage every time, and
    what is kept stays within the budget."""
    cfg = train_cfg(max_duration=1.5)
    read, keep = CTCBatches(TOKENIZER), CTCBatches(TOKENIZER, keep_features_mb=budget_mb)
    for epoch in (1, 2):
        for batch in make_sampler(cuts, cfg, epoch, seed=3):
            a, b = read[batch], keep[batch]
            assert a.keys() == b.keys()
            for key in a:
                assert a[key] == b[key] if isinstance(a[key], list) else torch.equal(a[key], b[key])
    kept = keep.inputs.kept
    size = sum(f.numel() * f.element_size() for f in kept.values())
    assert size <= budget_mb * 2**20 and 0 < len(kept) <= len(cuts)
    assert (len(kept) == len(cuts)) == (budget_mb == 1.0)


def test_the_first_epochs_go_shortest_first_then_buckets_shuffle(cuts: CutSet) -> None:
    cfg = train_cfg(max_duration=2.0, sortagrad_epochs=1, num_buckets=2)
    first = [c for batch in make_sampler(cuts, cfg, epoch=1, seed=42) for c in batch]
    assert [c.duration for c in first] == sorted(c.duration for c in cuts)
    for epoch in (1, 2, 3):
        batches = list(make_sampler(cuts, cfg, epoch=epoch, seed=42))
        assert sorted(i for b in ids(batches) for i in b) == sorted(cuts.ids)
        assert ids(batches) == ids(make_sampler(cuts, cfg, epoch=epoch, seed=42))  # determined
    shuffled = [ids(make_sampler(cuts, cfg, epoch=e, seed=42)) for e in (2, 3)]
    assert shuffled[0] != shuffled[1] and shuffled[0] != ids(make_sampler(cuts, cfg, 1, 42))


def test_ranks_get_disjoint_batches(cuts: CutSet) -> None:
    cfg = train_cfg(max_duration=1.5, sortagrad_epochs=0)
    ranks = [
        {i for b in ids(make_sampler(cuts, cfg, 2, 42, world_size=2, rank=r)) for i in b}
        for r in (0, 1)
    ]
    assert ranks[0] and ranks[1] and not ranks[0] & ranks[1]


@pytest.mark.parametrize("epoch", [1, 2])
@pytest.mark.parametrize("skip", [0, 3, 100])
def test_skip_first_resumes_the_same_epoch_exactly(cuts: CutSet, epoch: int, skip: int) -> None:
    cfg = train_cfg(max_duration=1.5)
    whole = ids(make_sampler(cuts, cfg, epoch, seed=7))
    resumed = SkipFirst(make_sampler(cuts, cfg, epoch, seed=7), skip)
    assert ids(resumed) == whole[skip:]
    assert ids(resumed) == whole[skip:]  # iterating again restarts the epoch


def test_feature_cuts_store_real_features(cuts: CutSet, tmp_path: Path) -> None:
    cuts.to_file(tmp_path / "cuts.jsonl.gz")
    cut = next(iter(CutSet.from_file(tmp_path / "cuts.jsonl.gz")))
    assert cut.load_features().shape == (cut.num_frames, 4) and cut.recording_id == "ES2011a"
