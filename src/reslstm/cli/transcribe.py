"""Transcribe audio files with a trained run.

    reslstm-transcribe exp/mini_sdm/residual_lstm_L10 a.wav b.flac [--method greedy]
    reslstm-transcribe models/residual10 a.wav --ctm hyp.ctm  # a directory reslstm-export wrote
    reslstm-transcribe models/residual10 a.wav --method greedy --chunk-ms 100  # as a live stream

Prints ``<file>\\t<transcript>`` per file; ``--ctm`` also writes the words with their times
(NIST CTM, the file's name as the recording). Audio at another sample rate is resampled to the
rate the model was trained on (with a warning); multi-channel audio uses its first channel.
A unidirectional model reads each file in blocks; ``--chunk-ms`` feeds it as a live stream of
that chunk size instead, printing each word to stderr once it is final. The same from Python:
:class:`reslstm.Transcriber`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from reslstm.errors import ReslstmError
from reslstm.export import is_model_dir
from reslstm.io import atomic_write_text
from reslstm.runtime import set_threads
from reslstm.scoring.meeting import HypWord, ctm_text
from reslstm.streaming import rechunk
from reslstm.transcriber import Transcriber, Word


def stream_file(asr: Transcriber, path: Path, chunk_ms: int) -> list[Word]:
    """Feed a file (read in blocks) to a live stream ``chunk_ms`` at a time; print each word to
    stderr once final."""
    stream = asr.stream(str(path))
    words: list[Word] = []
    for chunk in rechunk(asr.blocks(path), max(1, asr.rate * chunk_ms // 1000)):
        words += live(path, stream.accept(chunk))
    return words + live(path, stream.finish())


def live(path: Path, words: list[Word]) -> list[Word]:
    """Print words as a stream returns them; return them."""
    for w in words:
        print(f"{path}\t{w.start:.2f}\t{w.end:.2f}\t{w.word}", file=sys.stderr, flush=True)
    return words


def check_ctm_target(ctm: Path, audio: list[Path]) -> str | None:
    """Why ``--ctm`` cannot be written for these files, or None: checked before any work."""
    if ctm.is_dir():
        return f"--ctm {ctm} is a directory; give a file name"
    names = [p.name for p in audio]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        return f"--ctm names each recording by its file name, and {twice[0]} is given twice"
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "model", type=Path, help="a model directory (reslstm-export) or a trained run"
    )
    parser.add_argument("audio", type=Path, nargs="+", help="audio files (wav, flac, ...)")
    parser.add_argument("--method", choices=["greedy", "beam_lm"], default="beam_lm")
    parser.add_argument(
        "--checkpoint",
        choices=["best", "last", "avg"],
        help="a run's checkpoint; default: the run's decode.checkpoint (the model stage 4 scored)",
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--ctm", type=Path, help="also write the words with times to this CTM")
    parser.add_argument(
        "--chunk-ms", type=int, help="stream each file in chunks of this many ms (greedy only)"
    )
    args = parser.parse_args(argv)
    if args.chunk_ms is not None and args.chunk_ms < 1:
        parser.error(f"--chunk-ms must be >= 1, got {args.chunk_ms}")
    if args.ctm is not None and (why := check_ctm_target(args.ctm, args.audio)):
        parser.error(why)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    set_threads(1)
    try:
        if is_model_dir(args.model):
            asr = Transcriber.from_dir(args.model, args.method, args.device)
        else:
            asr = Transcriber.from_run(args.model, args.method, args.checkpoint, args.device)
        timed: list[HypWord] = []
        for path in args.audio:
            if args.chunk_ms is None:
                words = asr.transcribe(path)
            else:
                words = stream_file(asr, path, args.chunk_ms)
            print(f"{path}\t{' '.join(w.word for w in words)}", flush=True)
            timed += [HypWord(path.name, w.start, w.end - w.start, w.word) for w in words]
        if args.ctm is not None:
            atomic_write_text(args.ctm, ctm_text(timed, lexical=False))
    except (ReslstmError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
