"""Transcribe audio files with a trained run.

    reslstm-transcribe exp/mini_sdm/residual_lstm_L10 a.wav b.flac [--method greedy]
    reslstm-transcribe models/residual10 a.wav       # a directory reslstm-export wrote

Prints ``<file>\\t<transcript>`` per file. Audio at another sample rate is resampled to the
rate the model was trained on (with a warning); multi-channel audio uses its first channel.
The same from Python: :class:`reslstm.Transcriber`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from reslstm.errors import ReslstmError
from reslstm.export import is_model_dir
from reslstm.runtime import set_threads
from reslstm.transcriber import Transcriber


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "model", type=Path, help="a model directory (reslstm-export) or a trained run"
    )
    parser.add_argument("audio", type=Path, nargs="+", help="audio files (wav, flac, ...)")
    parser.add_argument("--method", choices=["greedy", "beam_lm"], default="beam_lm")
    parser.add_argument("--checkpoint", choices=["best", "last", "avg"], default="best")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    set_threads(1)
    try:
        if is_model_dir(args.model):
            asr = Transcriber.from_dir(args.model, args.method, args.device)
        else:
            asr = Transcriber.from_run(args.model, args.method, args.checkpoint, args.device)
        for path in args.audio:
            words = asr.transcribe(path)
            print(f"{path}\t{' '.join(w.word for w in words)}", flush=True)
    except ReslstmError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
