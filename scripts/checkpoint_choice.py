#!/usr/bin/env python
"""Which checkpoint of a finished run to decode: best dev loss, last, average, best dev CER
(docs/recipe_selection.md, step 2).

    .venv/bin/python scripts/checkpoint_choice.py exp/learning_curve/240min/exp/mini_sdm/*_L*
    .venv/bin/python scripts/checkpoint_choice.py --choices avg RUN...   # only the average

Each run must have kept its epoch checkpoints (``train.keep_last=0``, or at least 3). For each
run ``<model>_L<layers><tag>`` it makes three sibling runs whose checkpoints are hard links of
the run's own (no copy, no retraining) and decodes and scores them with ``./run.sh`` stages 4-5,
two at a time:

- ``<tag>_last``: the last epoch (``decode.checkpoint=last``);
- ``<tag>_avg``: the parameter average of the last 3 epochs (``decode.checkpoint=avg``);
- ``<tag>_cer``: the epoch with the lowest monitored greedy dev CER (``metrics.jsonl``), linked
  as ``best.pt``.

The run itself is the ``best`` (lowest dev loss) row. Overrides after ``--`` go to every
``./run.sh`` call: give the ``paths.*`` and ``data.*`` overrides the runs were trained with.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from reslstm.layout import parse_run_name  # noqa: E402
from reslstm.results.runs import read_run  # noqa: E402

CHOICES = {"last": "last", "avg": "avg", "cer": "best"}  # suffix: decode.checkpoint


def sibling(run: Path, suffix: str) -> Path:
    """A copy of ``run`` named ``<run>_<suffix>``: checkpoints hard-linked, no decodes."""
    dest = run.with_name(f"{run.name}_{suffix}")
    if dest.exists():
        return dest
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(run, tmp, copy_function=os.link, ignore=shutil.ignore_patterns("decode"))
    if suffix == "cer":
        monitored = [m for m in read_run(run).metrics if m.get("dev_cer") is not None]
        best = min(monitored, key=lambda m: m["dev_cer"])
        ckpts = tmp / "checkpoints"
        (ckpts / "best.pt").unlink()
        os.link(ckpts / f"epoch-{best['epoch']}.pt", ckpts / "best.pt")
    tmp.rename(dest)
    return dest


def decode(run: Path, suffix: str, overrides: list[str]) -> str:
    model, layers, tag = parse_run_name(run.name)
    dest = sibling(run, suffix)
    log = dest / "decode_choice.log"
    args = ["--stage", "4", "--stop-stage", "5", f"model={model}", f"model.num_layers={layers}",
            f"tag={tag}_{suffix}", f"decode.checkpoint={CHOICES[suffix]}", "progress_bar=false",
            *overrides]  # fmt: skip
    with log.open("w") as out:
        rc = subprocess.call([str(ROOT / "run.sh"), *args], stdout=out, stderr=subprocess.STDOUT)
    if rc:
        raise SystemExit(f"error: decoding {dest} failed ({rc}); see {log}")
    return f"{dest.name}: decoded"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--choices", nargs="+", choices=list(CHOICES), default=list(CHOICES),
        help="the siblings to make and decode (default: all three)",
    )  # fmt: skip
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    args, overrides = parser.parse_args(argv[:cut]), argv[cut + 1 :]
    runs = [r for r in args.runs if parse_run_name(r.name) and not r.name.endswith(
        tuple(f"_{s}" for s in CHOICES))]  # fmt: skip
    with ThreadPoolExecutor(args.jobs) as pool:
        jobs = [pool.submit(decode, r, s, overrides) for r in runs for s in args.choices]
        for job in jobs:
            print(job.result(), flush=True)


if __name__ == "__main__":
    main()
