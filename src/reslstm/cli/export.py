"""Export a trained run as a self-contained model directory.

    reslstm-export exp/mini_sdm/residual_lstm_L10 models/residual10 [--checkpoint avg]

Then ``reslstm-transcribe models/residual10 a.wav`` (or ``reslstm.Transcriber.from_dir``) works
from any directory; what the directory holds: :mod:`reslstm.export`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reslstm.errors import ReslstmError
from reslstm.export import export_model


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "run_dir", type=Path, help="a trained run, e.g. exp/mini_sdm/residual_lstm_L3"
    )
    parser.add_argument("out_dir", type=Path, help="the model directory to write")
    parser.add_argument(
        "--checkpoint",
        choices=["best", "last", "avg"],
        help="default: the run's decode.checkpoint (the model its stage 4 scored)",
    )
    parser.add_argument(
        "--avg-last", type=int, help="epochs averaged (avg); default: the run's decode.avg_last"
    )
    args = parser.parse_args(argv)
    try:
        out = export_model(args.run_dir, args.out_dir, args.checkpoint, args.avg_last)
    except ReslstmError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    print(f"exported {args.run_dir} to {out}")


if __name__ == "__main__":
    main()
