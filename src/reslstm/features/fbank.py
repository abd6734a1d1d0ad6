"""80-dim log-mel fbank with kaldifeat (through lhotse's ``KaldifeatFbank``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lhotse import KaldifeatFbank, KaldifeatFbankConfig
from lhotse.features.kaldifeat import KaldifeatFrameOptions, KaldifeatMelOptions


def fbank_config(cfg: Mapping[str, Any], device: str = "cpu") -> KaldifeatFbankConfig:
    """The fbank options described by ``conf/features/*.yaml`` (offline and online extractors)."""
    frame = KaldifeatFrameOptions(
        sampling_rate=cfg["sampling_rate"],
        frame_shift=cfg["frame_shift"],
        frame_length=cfg["frame_length"],
        dither=cfg["dither"],
        snip_edges=cfg["snip_edges"],
    )
    mel = KaldifeatMelOptions(
        num_bins=cfg["num_mel_bins"], low_freq=cfg["low_freq"], high_freq=cfg["high_freq"]
    )
    return KaldifeatFbankConfig(frame_opts=frame, mel_opts=mel, device=device)


def make_extractor(cfg: Mapping[str, Any], device: str = "cpu") -> KaldifeatFbank:
    """The fbank extractor described by ``conf/features/*.yaml``."""
    return KaldifeatFbank(fbank_config(cfg, device))
