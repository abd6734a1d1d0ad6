#!/usr/bin/env python
"""Fbank speed: kaldifeat vs torchaudio vs lhotse's own Fbank on the same minute of audio.

    .venv/bin/python scripts/bench_features.py [--audio FILE] [--seconds 60] [--repeats 10]

All three compute the same 80-dim Kaldi-style log-mel fbank (25 ms / 10 ms, no dither) with one
torch thread. Prints a markdown table of the median time, the real-time factor and the speed
ratio to torchaudio measured in the same run, plus each extractor's max difference to kaldifeat.
Without --audio, a minute of the mini corpus' distant channel is used if present, else noise.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import torch
import torchaudio
from lhotse import Fbank, FbankConfig, Recording

from reslstm.features.fbank import make_extractor

CFG = {
    "sampling_rate": 16000,
    "num_mel_bins": 80,
    "frame_length": 0.025,
    "frame_shift": 0.01,
    "dither": 0.0,
    "low_freq": 20.0,
    "high_freq": -400.0,
    "snip_edges": False,
}


def load_audio(path: Path | None, seconds: float) -> np.ndarray:
    if path is None:
        found = sorted(Path("data/corpora/mini").glob("*/audio/*.Array1-01.wav"))
        path = found[0] if found else None
    if path is None:
        return np.random.default_rng(0).normal(0, 0.1, int(16000 * seconds)).astype(np.float32)
    audio = Recording.from_file(path).load_audio(duration=seconds)[0]
    return audio.astype(np.float32)


def extractors() -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    kaldifeat = make_extractor(CFG)
    lhotse_fbank = Fbank(FbankConfig(num_mel_bins=80, dither=0.0, snip_edges=False))

    def ta(audio: np.ndarray) -> np.ndarray:
        return torchaudio.compliance.kaldi.fbank(
            torch.from_numpy(audio)[None],
            num_mel_bins=80,
            frame_length=25.0,
            frame_shift=10.0,
            dither=0.0,
            low_freq=20.0,
            high_freq=-400.0,
            snip_edges=False,
            energy_floor=1e-10,
            sample_frequency=16000,
        ).numpy()

    return {
        "kaldifeat (ours)": lambda a: kaldifeat.extract(a, 16000),
        "torchaudio.compliance.kaldi": ta,
        "lhotse Fbank": lambda a: lhotse_fbank.extract(a, 16000),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--audio", type=Path)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    audio = load_audio(args.audio, args.seconds)
    seconds = len(audio) / 16000
    fns = extractors()
    outputs = {name: fn(audio) for name, fn in fns.items()}  # warm-up
    runs: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(args.repeats):  # round-robin, so load changes hit every extractor alike
        for name, fn in fns.items():
            start = time.perf_counter()
            fn(audio)
            runs[name].append(time.perf_counter() - start)
    times = {name: statistics.median(r) for name, r in runs.items()}
    ref = times["torchaudio.compliance.kaldi"]
    base = outputs["kaldifeat (ours)"]
    print(
        f"fbank on {seconds:.0f} s of audio, 1 thread, median of {args.repeats} round-robin "
        f"({date.today()}, {platform.machine()}, torch {torch.__version__})\n"
    )
    print("| extractor | median ms | RTF | speed vs torchaudio | max abs diff to kaldifeat |")
    print("|---|--:|--:|--:|--:|")
    for name, t in times.items():
        n = min(len(base), len(outputs[name]))
        diff = float(np.abs(outputs[name][:n] - base[:n]).max())
        print(f"| {name} | {1000 * t:.1f} | {t / seconds:.5f} | {ref / t:.2f}x | {diff:.1e} |")


if __name__ == "__main__":
    main()
