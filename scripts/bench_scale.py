#!/usr/bin/env python
"""Cost curves: how stages 0-3 grow with the hours of training audio (docs/scaling.md).

    .venv/bin/python scripts/bench_scale.py --hours 0.5 1 2 4 8 --out /tmp/bench_scale
    .venv/bin/python scripts/bench_scale.py --hours 0.05 0.1 --nprocs 1 2      # a quick check

For each size it generates a mini corpus of that many hours of training audio (the default
corpus' seed and settings; dev and test grow with it, ``--eval-share`` of the training minutes;
``--minutes-per-meeting`` of audio per meeting, so sizes differ in their number of meetings),
then runs each stage as its own process (``python -m reslstm.cli.<stage>``, one torch thread)
and measures:

- stages 0-2 (and the corpus generation, which real AMI does not need): wall time, peak memory
  of the process tree (the sum of every process' PSS, sampled every 0.2 s) and of its largest
  process (exact: ``ru_maxrss`` from ``wait4``), and the disk of what the stage wrote;
- stage 3, for each ``--nprocs`` (1: plain, more: ``torchrun --standalone``, gloo on CPU, NCCL
  with ``--device cuda``): one epoch of ``--model`` with ``--layers`` layers; training frames/s
  as the trainer measures it (all ranks' frames over the time spent in training steps), frames/s
  over the whole stage's wall time (start-up, validation and checkpoints included), and peak
  memory as above.

It prints a markdown table per measurement and the growth exponent of each (the slope of a
least-squares line through log(cost) against log(hours): 1 is linear, 2 quadratic), the costs
the fits predict at ``--target-hours`` (AMI's training set: about 80 hours per microphone), and
writes ``results.json`` and ``scaling.png`` (log-log curves) into ``--out``. Everything it writes
stays in ``--out`` (about 0.6 GB of audio and 30 MB of features per hour).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TRAIN_MEETINGS = 44  # ES meetings that lhotse puts in train in every AMI partition
EVAL_MEETINGS = 4  # ... in dev, and in test
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
GENERATE = (
    "import sys; from reslstm.cli.compose import compose_config; "
    "from reslstm.data.mini import generate_corpus; "
    "cfg = compose_config(sys.argv[1:]); generate_corpus(cfg.data.corpus_dir, cfg.data.mini)"
)


# --------------------------------------------------------------------------------------------
# measuring one process tree


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = defaultdict(list)
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            kids[int(stat.rsplit(")", 1)[1].split()[1])].append(int(entry.name))
    return kids


def _memory_kib(pid: int) -> int:
    """PSS (shared pages split between the processes that share them), else RSS, in KiB."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KIB
    except OSError:
        return 0


def tree_memory_kib(root: int) -> int:
    """The memory of ``root`` and all its descendants now."""
    kids, total, stack = _children(), 0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(kids.get(pid, []))
        total += _memory_kib(pid)
    return total


@dataclass
class Measured:
    wall_s: float
    peak_tree_mb: float  # sum over the process tree, sampled
    peak_process_mb: float  # the largest single process, exact
    returncode: int


def measure(cmd: list[str], log: Path, interval: float = 0.2) -> Measured:
    """Run ``cmd`` (output to ``log``), sampling its process tree's memory until it ends."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    peak, done = [0], threading.Event()
    with open(log, "w") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], tree_memory_kib(proc.pid))
                done.wait(interval)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)  # ru_maxrss: the largest process of the tree
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    return Measured(round(wall, 2), round(peak[0] / 1024, 1), round(usage.ru_maxrss / 1024, 1),
                    proc.returncode)  # fmt: skip


def disk_mb(*paths: Path) -> float:
    total = sum(f.stat().st_size for p in paths if p.exists() for f in p.rglob("*") if f.is_file())
    return round(total / 2**20, 3)


# --------------------------------------------------------------------------------------------
# one corpus size


def corpus_overrides(hours: float, minutes_per_meeting: float, eval_share: float) -> list[str]:
    """``data.mini`` settings for ``hours`` of training audio (dev and test ``eval_share`` of
    it each), everything else as in conf/data/mini.yaml."""
    train_min = 60 * hours
    eval_min = max(0.25, eval_share * train_min)

    def meetings(minutes: float, most: int) -> int:
        return max(1, min(most, math.ceil(minutes / minutes_per_meeting - 1e-9)))

    if train_min / TRAIN_MEETINGS > 3 * minutes_per_meeting:
        print(f"note: {hours} h spread over {TRAIN_MEETINGS} meetings (longer meetings)")
    counts = {
        "train": meetings(train_min, TRAIN_MEETINGS),
        "dev": meetings(eval_min, EVAL_MEETINGS),
    }
    counts["test"] = counts["dev"]
    minutes = {"train": train_min, "dev": eval_min, "test": eval_min}
    return [
        "data=mini",
        *(f"data.mini.minutes.{split}={m:g}" for split, m in minutes.items()),
        *(f"data.mini.meetings.{split}={n}" for split, n in counts.items()),
    ]


@dataclass
class SizeResult:
    hours: float  # requested hours of training audio
    train_hours: float = 0.0  # hours of training segments that stage 0 kept (the x axis)
    train_utterances: int = 0
    stages: dict[str, dict] = field(default_factory=dict)
    disk_mb: dict[str, float] = field(default_factory=dict)


def bench_size(args: argparse.Namespace, hours: float) -> SizeResult:
    py = [sys.executable, "-u"]
    base = args.out / f"{hours:g}h"
    shutil.rmtree(base, ignore_errors=True)  # from scratch: a finished stage would be skipped
    data, exp, logs = base / "data", base / "exp", base / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    common = [
        *corpus_overrides(hours, args.minutes_per_meeting, args.eval_share),
        f"paths.data_dir={data}",
        f"paths.exp_dir={exp}",
        "progress_bar=false",
    ]
    result = SizeResult(hours)
    steps = [
        ("generate", [*py, "-c", GENERATE, *common]),
        ("0 data", [*py, "-m", "reslstm.cli.data", *common]),
        ("1 features", [*py, "-m", "reslstm.cli.features", *common]),
        ("2 tokens", [*py, "-m", "reslstm.cli.tokens", *common]),
    ]
    for name, cmd in steps:
        result.stages[name] = run_step(name, cmd, logs / f"{name.replace(' ', '_')}.log", hours)
    summary = json.loads(next((data / "manifests").glob("*/summary.json")).read_text())
    result.train_hours = summary["train"]["hours"]
    result.train_utterances = summary["train"]["segments"]
    result.disk_mb = {
        "audio": disk_mb(data / "corpora"),
        "manifests": disk_mb(data / "manifests"),
        "features": disk_mb(data / "fbank"),
        "lang": disk_mb(data / "lang"),
    }
    for n in args.nprocs:
        train = [
            *common,
            f"model={args.model}",
            f"model.num_layers={args.layers}",
            f"device={args.device}",
            f"tag=_bench_np{n}",
            "train.max_epochs=1",
            "train.resume=none",
            *args.train_overrides,
        ]
        launcher = [*py, "-m"] if n == 1 else [
            str(Path(sys.executable).parent / "torchrun"), "--standalone", f"--nproc-per-node={n}",
            "-m",
        ]  # fmt: skip
        name = f"3 train x{n}"
        stage = run_step(name, [*launcher, "reslstm.cli.train", *train], logs / f"train_np{n}.log",
                         hours)  # fmt: skip
        run_dir = next((exp / "mini_sdm").glob(f"*_bench_np{n}"))
        s = json.loads((run_dir / "train_summary.json").read_text())
        frames = s["frames_per_s"] * s["train_time_s"]
        stage.update(
            frames=round(frames),
            frames_per_s=s["frames_per_s"],
            wall_frames_per_s=round(frames / stage["wall_s"]),
            peak_rss_rank0_mb=s["peak_rss_mb"],
            **({"peak_cuda_mb": s["peak_cuda_mb"]} if "peak_cuda_mb" in s else {}),
        )
        result.stages[name] = stage
    if not args.keep_audio:
        shutil.rmtree(data / "corpora", ignore_errors=True)
    return result


def run_step(name: str, cmd: list[str], log: Path, hours: float) -> dict:
    print(f"[{hours:g} h] {name} ...", flush=True)
    m = measure(cmd, log)
    if m.returncode != 0:
        tail = log.read_text()[-3000:]
        sys.exit(f"error: {name} at {hours:g} h failed ({m.returncode}); {log}:\n{tail}")
    print(f"[{hours:g} h] {name}: {m.wall_s:.1f} s, peak {m.peak_tree_mb:.0f} MB (tree), "
          f"{m.peak_process_mb:.0f} MB (largest process)", flush=True)  # fmt: skip
    return {k: v for k, v in asdict(m).items() if k != "returncode"}


# --------------------------------------------------------------------------------------------
# fits, table, plot


def growth(xs: list[float], ys: list[float]) -> tuple[float, float] | None:
    """``(exponent, log_coefficient)`` of ``y = c * x**exponent`` by least squares in log-log."""
    pts = [(x, y) for x, y in zip(xs, ys, strict=True) if x > 0 and y and y > 0]
    if len({x for x, _ in pts}) < 2:
        return None
    slope, intercept = np.polyfit(np.log([x for x, _ in pts]), np.log([y for _, y in pts]), 1)
    return float(slope), float(intercept)


METRICS = {  # column: (key in a stage's results, unit)
    "wall time": ("wall_s", "s"),
    "peak memory (tree)": ("peak_tree_mb", "MB"),
    "peak memory (largest process)": ("peak_process_mb", "MB"),
    "training frames/s": ("frames_per_s", "frames/s"),
    "frames/s over the stage": ("wall_frames_per_s", "frames/s"),
}


def fits(results: list[SizeResult]) -> dict[str, dict[str, tuple[float, float]]]:
    xs = [r.train_hours for r in results]
    out: dict[str, dict[str, tuple[float, float]]] = defaultdict(dict)
    for stage in results[0].stages:
        for key, _ in METRICS.values():
            fit = growth(xs, [r.stages[stage].get(key) for r in results])
            if fit is not None:
                out[stage][key] = fit
    for kind in results[0].disk_mb:
        fit = growth(xs, [r.disk_mb[kind] for r in results])
        if fit is not None:
            out["disk"][kind] = fit
    return out


def fmt(v: float | None) -> str:
    if v is None:
        return "–"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def row(name: str, xs: list[float], ys: list, fit: tuple | None, target: float, rate: bool) -> str:
    """A table row: the values, the growth exponent over all sizes, the cost of one more hour
    between the two largest sizes, and the value at ``target`` hours.

    Costs are a fixed part (start-up, imports) plus a part that grows with the data, so their
    log-log slope creeps up towards the true exponent as the data grows, and a power law fitted
    to small sizes under-predicts: the value at ``target`` extends the line through the two
    largest sizes instead (one more hour costs what the last hour cost, never less than nothing;
    right for linear growth, too low if the exponent is above 1). A rate (frames/s) should not
    depend on the data's size: its value at ``target`` is the largest size's."""
    exponent = "–" if fit is None else f"{fit[0]:.2f}"
    cells = " | ".join(fmt(y) for y in ys)
    if len(xs) < 2 or None in ys[-2:] or xs[-1] == xs[-2]:
        return f"| {name} | {cells} | {exponent} | – | – |"
    per_hour = max(0.0, (ys[-1] - ys[-2]) / (xs[-1] - xs[-2]))
    at = ys[-1] if rate else ys[-1] + per_hour * (target - xs[-1])
    return f"| {name} | {cells} | {exponent} | {'–' if rate else fmt(per_hour)} | {fmt(at)} |"


def tables(results: list[SizeResult], fitted: dict, target: float) -> str:
    xs = [r.train_hours for r in results]
    sizes = " | ".join(f"{x:.3g} h" for x in xs)
    rule = "|---|" + "--:|" * (len(results) + 3)
    head = f"| {{}} | {sizes} | exponent | per extra hour | at {target:g} h |"
    lines = [
        "Training audio kept by stage 0 (hours of segments) and utterances: "
        + ", ".join(f"{r.train_hours:.3g} h / {r.train_utterances}" for r in results),
        "",
    ]
    for title, (key, unit) in METRICS.items():
        rows = [s for s in results[0].stages if key in results[0].stages[s]]
        if not rows:
            continue
        lines += [f"**{title}** ({unit})", "", head.format("stage"), rule]
        for stage in rows:
            ys = [r.stages[stage].get(key) for r in results]
            fit = fitted.get(stage, {}).get(key)
            line = row(stage, xs, ys, fit, target, rate=unit == "frames/s")
            if key == "wall_frames_per_s":  # start-up weighs less with more data: see wall time
                line = line.rsplit("|", 2)[0] + "| – |"
            lines.append(line)
        lines.append("")
    lines += ["**disk** (MB)", "", head.format("output"), rule]
    for kind in results[0].disk_mb:
        ys = [r.disk_mb[kind] for r in results]
        lines.append(row(kind, xs, ys, fitted.get("disk", {}).get(kind), target, rate=False))
    return "\n".join(lines) + "\n"


def plot(results: list[SizeResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    xs = [r.train_hours for r in results]
    panels = [("wall_s", "wall time (s)"), ("peak_tree_mb", "peak memory, process tree (MB)"),
              ("frames_per_s", "training frames/s")]  # fmt: skip
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(5 * (len(panels) + 1), 4))
    for kind in results[0].disk_mb:
        ys = [r.disk_mb[kind] for r in results]
        if all(y > 0 for y in ys):
            axes[-1].plot(xs, ys, marker="o", label=kind)
    axes[-1].set(xscale="log", yscale="log", xlabel="hours of training audio", ylabel="disk (MB)")
    axes[-1].grid(True, which="both", alpha=0.3)
    axes[-1].legend(fontsize=7)
    for ax, (key, label) in zip(axes, panels, strict=False):
        for stage in results[0].stages:
            ys = [r.stages[stage].get(key) for r in results]
            if all(y for y in ys):
                fit = growth(xs, ys)
                name = stage if fit is None else f"{stage} (x^{fit[0]:.2f})"
                ax.plot(xs, ys, marker="o", label=name)
        if key == "wall_s":  # a linear guide through the first stage's first point
            y0 = results[0].stages["1 features"]["wall_s"]
            ax.plot(xs, [y0 * x / xs[0] for x in xs], "k:", label="linear")
        ax.set(xscale="log", yscale="log", xlabel="hours of training audio", ylabel=label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes:  # the measured sizes as plain numbers, not crowded powers of ten
        ax.xaxis.set_major_locator(matplotlib.ticker.FixedLocator(xs))
        ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%.3g"))
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    fig.suptitle("reslstm: cost by hours of training audio (scripts/bench_scale.py)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--hours",
        type=float,
        nargs="+",
        default=[0.5, 1, 2, 4, 8],
        help="hours of training audio per size (default 0.5 1 2 4 8)",
    )
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench_scale"))
    parser.add_argument(
        "--nprocs",
        type=int,
        nargs="+",
        default=[1, 2],
        help="training processes to measure stage 3 with (default 1 2)",
    )
    parser.add_argument("--model", default="residual_lstm")
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="cpu (gloo) or cuda (NCCL)")
    parser.add_argument(
        "--minutes-per-meeting",
        type=float,
        default=7.5,
        help="audio per generated meeting (default 7.5, as the default corpus)",
    )
    parser.add_argument(
        "--eval-share",
        type=float,
        default=0.1,
        help="dev and test minutes, each, per training minute (default 0.1)",
    )
    parser.add_argument(
        "--target-hours",
        type=float,
        default=80.0,
        help="extrapolate to this many training hours (AMI: about 80 per mic)",
    )
    parser.add_argument(
        "--keep-audio",
        action="store_true",
        help="keep each size's generated corpus (deleted after its stages)",
    )
    parser.add_argument(
        "train_overrides", nargs="*", help="Hydra overrides for stage 3 (e.g. model/size=paper)"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: tables and plot again from --out's results.json",
    )
    args = parser.parse_args()
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    saved = args.out / "results.json"
    if args.report_only:
        data = json.loads(saved.read_text())
        report(
            args.out, data["command"], [SizeResult(**r) for r in data["results"]], args.target_hours
        )
        return
    command = (
        f"scripts/bench_scale.py --hours {' '.join(f'{h:g}' for h in sorted(args.hours))} "
        f"--nprocs {' '.join(map(str, args.nprocs))} --model {args.model} --layers {args.layers} "
        f"--device {args.device} {' '.join(args.train_overrides)}".rstrip()
        + f" (on {platform.machine()}, {os.cpu_count()} CPUs, {date.today()})"
    )
    results: list[SizeResult] = []
    for hours in sorted(args.hours):
        results.append(bench_size(args, hours))
        saved.write_text(json.dumps({"command": command, "results": [asdict(r) for r in results]}))
    report(args.out, command, results, args.target_hours)


def report(out: Path, command: str, results: list[SizeResult], target: float) -> None:
    """Print the tables, and write them (``scaling.md``), the fits and the plot into ``out``."""
    fitted = fits(results)
    text = tables(results, fitted, target)
    print(f"\n{command}\n\n{text}")
    (out / "results.json").write_text(json.dumps(
        {"command": command, "results": [asdict(r) for r in results],
         "fits": {s: {k: {"exponent": f[0], "log_coefficient": f[1]} for k, f in d.items()}
                  for s, d in fitted.items()}},
        indent=1))  # fmt: skip
    (out / "scaling.md").write_text(f"{command}\n\n{text}")
    plot(results, out / "scaling.png")
    print(f"wrote {out / 'results.json'}, {out / 'scaling.md'}, {out / 'scaling.png'}")


if __name__ == "__main__":
    main()
