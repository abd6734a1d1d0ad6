"""Stage 5 (``reslstm-score [hydra overrides]``), or the scoring of any tool's files:

    reslstm-score --ref REF.stm --hyp HYP.ctm [--methods jiwer,asclite,meeteval] [--json OUT]

With ``--ref`` it scores a NIST STM against a NIST CTM (:mod:`reslstm.scoring.files`) and
prints one line per method (jiwer's says why it is approximate where references overlap);
without, it is stage 5 of the recipe for one run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from omegaconf import DictConfig

from reslstm.cli.stage import stage_entry
from reslstm.errors import ReslstmError
from reslstm.io import atomic_write_json
from reslstm.layout import Layout
from reslstm.runlock import sole_writer
from reslstm.scoring.files import FILE_METHODS, score_files
from reslstm.scoring.stage import score_run


@stage_entry
def stage(cfg: DictConfig) -> None:
    with sole_writer([Layout.of(cfg).run.path], "reslstm-score"):
        score_run(cfg)


def score_files_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="reslstm-score", description=__doc__.split("\n")[0])
    parser.add_argument("--ref", type=Path, required=True, help="reference NIST STM")
    parser.add_argument("--hyp", type=Path, required=True, help="hypothesis NIST CTM")
    parser.add_argument("--methods", default=",".join(FILE_METHODS))
    parser.add_argument("--normalization", choices=["kaldi", "upper", "none"], default="kaldi")
    parser.add_argument("--overlap-limit", type=int, default=4, help="asclite speakers at once")
    parser.add_argument("--collar", type=float, default=5.0, help="tcORC-WER slack, seconds")
    parser.add_argument("--json", type=Path, help="also write every number here")
    args = parser.parse_args(argv)
    try:
        for path in (args.ref, args.hyp):
            if not path.is_file():
                raise ReslstmError(f"no such file: {path}")
        methods = [m for m in args.methods.split(",") if m]
        found = score_files(
            args.ref, args.hyp, methods, args.normalization, args.overlap_limit, args.collar
        )
    except ReslstmError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    for name, result in found.items():
        parts = (
            [(name, result)]
            if "wer" in result
            else [(f"{name}_{k}", v) for k, v in result.items() if isinstance(v, dict)]
        )
        for label, numbers in parts:
            wer = numbers["wer"]
            words = numbers.get("num_words", numbers.get("ref_len"))
            text = "nan" if wer is None else f"{wer:.2f}"
            why = f" ({numbers['approximate']})" if "approximate" in numbers else ""
            print(f"%WER[{label}] {text} [ {numbers['errors']} / {words} ]{why}")
    if args.json:
        atomic_write_json(args.json, found)


def main() -> None:
    if "--ref" in sys.argv[1:] or "--hyp" in sys.argv[1:]:
        score_files_main(sys.argv[1:])
    else:
        stage()


if __name__ == "__main__":
    main()
