"""Stage 1 pieces: kaldifeat fbank vs torchaudio, lilcom round trip, CMVN, parallel extraction."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio
from lhotse import CutSet, Recording
from omegaconf import OmegaConf

from reslstm.cli.compose import compose_config
from reslstm.features.cmvn import compute_cmvn, load_cmvn, pool_cmvn, save_cmvn
from reslstm.features.extract import extract_split
from reslstm.features.fbank import make_extractor


def feat_cfg(**overrides) -> dict:
    cfg = compose_config([])
    return {**OmegaConf.to_container(cfg.features, resolve=True), **overrides}


@pytest.fixture(scope="module")
def cuts(tmp_path_factory) -> CutSet:
    """Three short recordings of noisy chirps (real wav files, real lhotse manifests)."""
    out = tmp_path_factory.mktemp("audio")
    rng = np.random.default_rng(0)
    recs = []
    for i, seconds in enumerate([1.0, 1.7, 2.3]):
        t = np.arange(int(16000 * seconds)) / 16000
        audio = 0.3 * np.sin(2 * np.pi * (200 + 300 * i) * t * (1 + t)) + 0.01 * rng.normal(
            size=t.size
        )
        sf.write(out / f"r{i}.wav", audio.astype(np.float32), 16000)
        recs.append(Recording.from_file(out / f"r{i}.wav"))
    return CutSet.from_manifests(recordings=recs)


def test_kaldifeat_matches_torchaudio(cuts: CutSet) -> None:
    cfg = feat_cfg()
    audio = torch.from_numpy(cuts[1].load_audio()[0])
    ours = make_extractor(cfg).extract(audio.numpy(), 16000)
    ref = torchaudio.compliance.kaldi.fbank(
        audio.unsqueeze(0) * 32768 / 32768,
        num_mel_bins=cfg["num_mel_bins"],
        frame_length=cfg["frame_length"] * 1000,
        frame_shift=cfg["frame_shift"] * 1000,
        dither=0.0,
        low_freq=cfg["low_freq"],
        high_freq=cfg["high_freq"],
        snip_edges=cfg["snip_edges"],
        energy_floor=1e-10,
        sample_frequency=16000,
    ).numpy()
    assert ours.shape == ref.shape
    # log-mel energies: 5e-3 in the log domain is 0.5 % in energy; float32 FFTs of different
    # builds (kaldifeat's own vs torch's) differ by up to ~2e-3 in low-energy bins
    assert np.abs(ours - ref).max() < 5e-3


def test_parallel_extraction_round_trips_through_lilcom(cuts: CutSet, tmp_path) -> None:
    cfg = feat_cfg(num_jobs=2, chunk_size=1)
    with_feats = extract_split(cuts, cfg, tmp_path / "feats_x", "x", progress=False)
    assert [c.id for c in with_feats] == [c.id for c in cuts]
    extractor = make_extractor(cfg)
    for cut in with_feats:
        stored = cut.load_features()
        direct = extractor.extract(cut.load_audio(), 16000)
        assert stored.shape == direct.shape
        # lilcom keeps ~3 significant digits: compare relative to the dynamic range
        assert np.abs(stored - direct).max() < 0.05


def test_cmvn_equals_numpy(cuts: CutSet, tmp_path) -> None:
    with_feats = extract_split(
        cuts, feat_cfg(num_jobs=1), tmp_path / "feats_y", "y", progress=False
    )
    frames = np.concatenate([c.load_features() for c in with_feats]).astype(np.float64)
    stats = compute_cmvn(with_feats)
    assert stats["frames"] == len(frames)
    np.testing.assert_allclose(stats["mean"], frames.mean(0), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(stats["std"], frames.std(0), rtol=1e-6)


def test_pooled_cmvn_equals_cmvn_over_all_frames(cuts: CutSet, tmp_path) -> None:
    """Pooled training (data.train_mics) normalises with the statistics of every condition's
    frames together, combined from each condition's cmvn.json."""
    first = extract_split(cuts, feat_cfg(num_jobs=1), tmp_path / "f", "x", progress=False)
    louder = cuts.subset(first=2).perturb_volume(4.0)  # another condition, fewer frames
    second = extract_split(louder, feat_cfg(num_jobs=1), tmp_path / "g", "y", progress=False)
    pooled = pool_cmvn([compute_cmvn(first), compute_cmvn(second)])
    together = compute_cmvn(CutSet.from_cuts([*first, *second]))
    assert pooled["frames"] == together["frames"]
    np.testing.assert_allclose(pooled["mean"], together["mean"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(pooled["std"], together["std"], rtol=1e-6)
    assert pool_cmvn([together]) == together
    files = [tmp_path / "a.json", tmp_path / "b.json"]
    for path, stats in zip(files, (compute_cmvn(first), compute_cmvn(second)), strict=True):
        save_cmvn(stats, path)
    mean, std = load_cmvn(files)
    assert mean.dtype == torch.float32
    np.testing.assert_allclose(std.numpy(), together["std"], rtol=1e-5)


@pytest.mark.slow
def test_speed_perturbation_triples_the_training_set(tiny_manifests, tmp_path) -> None:
    from lhotse import load_manifest

    from reslstm.features.extract import compute_features

    cfg = OmegaConf.create(feat_cfg(speed_perturb=True))
    compute_features(cfg, tiny_manifests, tmp_path, progress=False)
    train = load_manifest(tmp_path / "cuts_train.jsonl.gz")
    clean = load_manifest(tiny_manifests / "cuts_train.jsonl.gz")
    assert len(train) == 3 * len(clean)
    assert {c.id for c in clean} < {c.id for c in train}
    slow = next(c for c in train if c.id.endswith("_sp0.9"))
    by_id = {c.id: c for c in train}
    assert slow.num_frames > by_id[slow.id.removesuffix("_sp0.9")].num_frames
    assert len(load_manifest(tmp_path / "cuts_dev.jsonl.gz")) == len(
        load_manifest(tiny_manifests / "cuts_dev.jsonl.gz")
    )
