#!/usr/bin/env python
"""Streaming latency and real-time factor of a unidirectional model, by chunk size.

Feeds a recording to :meth:`reslstm.Transcriber.stream` chunk by chunk, as fast as the machine
allows, and reports per chunk size:

* RTF: compute time / audio time (the whole file transcribed in blocks is the reference,
  measured in the same run);
* the compute time per chunk (median);
* word latency: from the end of a word in the audio to the moment the stream returns it, that
  is the audio still to arrive before the word is final (the next word must start) plus the
  compute time of the chunk that returns it (median and 90th percentile).

    python scripts/bench_stream.py exp/mini_sdm/residual_lstm_L10 \\
        data/corpora/mini/ES2011a/audio/ES2011a.Array1-01.wav
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from reslstm.errors import ReslstmError
from reslstm.runtime import cpu_name
from reslstm.streaming import rechunk
from reslstm.transcriber import Transcriber


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", type=Path, help="a model directory or a trained run")
    parser.add_argument("audio", type=Path, help="a recording at the model's sample rate")
    parser.add_argument("--chunks-ms", default="10,100,500,2000", help="comma-separated")
    parser.add_argument("--seconds", type=float, default=120.0, help="audio used (from 0)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    try:
        args.chunks_ms = [int(c) for c in args.chunks_ms.split(",")]
    except ValueError:
        parser.error(f"--chunks-ms takes integers separated by commas, got {args.chunks_ms!r}")
    if min(args.chunks_ms) < 1:
        parser.error("--chunks-ms: each chunk must be at least 1 ms")
    return args


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def stream_once(asr: Transcriber, samples: np.ndarray, chunk_ms: int, ref: float) -> list[str]:
    """One pass; a markdown row (``ref``: the whole file's RTF)."""
    stream = asr.stream()
    compute, latency = [], []
    heard = 0  # samples fed so far
    for chunk in rechunk([samples], max(1, asr.rate * chunk_ms // 1000)):
        t0 = time.perf_counter()
        words = stream.accept(chunk)
        spent = time.perf_counter() - t0
        compute.append(spent)
        heard += len(chunk)
        latency += [heard / asr.rate - w.end + spent for w in words]
    t0 = time.perf_counter()
    stream.finish()
    compute.append(time.perf_counter() - t0)
    rtf = sum(compute) / (len(samples) / asr.rate)
    return [
        f"{chunk_ms}",
        f"{rtf:.3f}",
        f"{rtf / ref:.2f}",
        f"{1000 * statistics.median(compute):.2f}",
        f"{percentile(latency, 50):.2f}",
        f"{percentile(latency, 90):.2f}",
        str(len(latency)),
    ]


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    try:
        asr = Transcriber.load(args.model, method="greedy", device="cpu")
        _, samples = asr.samples(args.audio)
    except ReslstmError as e:
        sys.exit(f"error: {e}")
    samples = samples[: int(args.seconds * asr.rate)]
    seconds = len(samples) / asr.rate
    t0 = time.perf_counter()
    whole = asr.transcribe(samples, sample_rate=asr.rate)
    ref = (time.perf_counter() - t0) / seconds
    print(
        f"{args.model} on {seconds:.0f} s of {args.audio.name}, {cpu_name()}, "
        f"{args.threads} thread(s), torch {torch.__version__}; whole file in blocks: RTF "
        f"{ref:.3f}, {len(whole)} words\n"
    )
    print(
        "| chunk (ms) | RTF | RTF / whole file's | compute per chunk (ms) "
        "| word latency median (s) | p90 (s) | words returned before the end |"
    )
    print("|--:|--:|--:|--:|--:|--:|--:|")
    for chunk in args.chunks_ms:
        print("| " + " | ".join(stream_once(asr, samples, chunk, ref)) + " |", flush=True)


if __name__ == "__main__":
    main()
