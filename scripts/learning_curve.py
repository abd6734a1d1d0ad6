#!/usr/bin/env python
"""Learning curve: dev CER and WER of a few models by minutes of training audio
(docs/recipe_selection.md).

    .venv/bin/python scripts/learning_curve.py --minutes 60 120 240 \\
        --runs residual_lstm:3 residual_lstm:10 plain_lstm:10 --out exp/learning_curve
    .venv/bin/python scripts/learning_curve.py --minutes 240 --tag _specaug \\
        --out exp/learning_curve -- train.spec_augment=true     # a variant on the same corpora

For each size it prepares a mini corpus with that many target minutes of training audio, 7.5
minutes a meeting (``data.mini.meetings.train`` = minutes / 7.5; dev and test are the default
corpus', byte for byte, since the generator seeds each meeting on its own) under
``<out>/<minutes>min/data``, then trains, decodes and scores each ``--runs`` model with
``./run.sh`` (stages 0-2 once per size, 3-5 per run, ``--jobs`` processes at a time, the longest
first). Overrides after ``--`` go to every run (give a variant its own ``--tag``). Finished stages
are skipped on a re-run, so the script resumes where it stopped and adds variants to the same
corpora. At the end it reads every run under ``<out>`` and writes ``learning_curve.md`` (a table
per variant), ``learning_curve.json`` and ``learning_curve.png`` (dev greedy CER and dev beam +
LM WER against hours of training audio).
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from reslstm.results.runs import RunResult, read_run  # noqa: E402

MINUTES_PER_MEETING = 7.5  # the default corpus: 240 minutes in 32 meetings


@dataclass
class Task:
    """One ``./run.sh`` call: a corpus' stages 0-2 (two cores) or one model's stages 3-5."""

    name: str
    args: list[str]
    log: Path
    slots: int
    cost: float  # for ordering: the longest first
    after: list[str] = field(default_factory=list)


def corpus_args(out: Path, minutes: float) -> list[str]:
    """The overrides that put a corpus of ``minutes`` of training audio under ``out``."""
    base = out / f"{minutes:g}min"
    meetings = max(1, round(minutes / MINUTES_PER_MEETING))
    return [
        f"data.mini.minutes.train={minutes:g}",
        f"data.mini.meetings.train={meetings}",
        f"paths.data_dir={base / 'data'}",
        f"paths.exp_dir={base / 'exp'}",
    ]


def plan(args: argparse.Namespace) -> list[Task]:
    tasks = []
    for minutes in args.minutes:
        common = corpus_args(args.out, minutes)
        logs = args.out / f"{minutes:g}min" / "logs"
        tasks.append(
            Task(
                f"prepare {minutes:g}min",
                ["--stage", "0", "--stop-stage", "2", *common],
                logs / "prepare.log",
                slots=1,
                cost=1e9 - minutes,
            )  # fmt: skip
        )
        for run in args.runs:
            model, layers = run.split(":")
            name = f"{model}_L{layers}{args.tag}"
            tasks.append(
                Task(
                    f"{name} {minutes:g}min",
                    [
                        "--stage",
                        "3",
                        "--stop-stage",
                        "5",
                        f"model={model}",
                        f"model.num_layers={layers}",
                        f"tag={args.tag}",
                        "progress_bar=false",
                        *common,
                        *args.overrides,
                    ],  # fmt: skip
                    logs / f"{name}.log",
                    slots=1,
                    cost=minutes * (1 + int(layers)),
                    after=[f"prepare {minutes:g}min"],
                )
            )
    return tasks


def execute(tasks: list[Task], slots: int) -> None:
    """Run ``tasks`` through ``./run.sh``, at most ``slots`` cores busy, the longest ready first."""
    pending = sorted(tasks, key=lambda t: -t.cost)
    running: dict[str, tuple[Task, subprocess.Popen, float]] = {}
    done: set[str] = set()
    while pending or running:
        for name, (task, proc, start) in list(running.items()):
            if proc.poll() is None:
                continue
            del running[name]
            took = time.monotonic() - start
            if proc.returncode:
                tail = task.log.read_text(errors="replace")[-2000:]
                sys.exit(
                    f"error: {name} failed ({proc.returncode}, {took:.0f} s); {task.log}:\n{tail}"
                )
            done.add(name)
            print(f"[{time.strftime('%H:%M:%S')}] done {name} ({took:.0f} s)", flush=True)
        busy = sum(t.slots for t, _, _ in running.values())
        for task in list(pending):
            if all(a in done for a in task.after) and busy + task.slots <= max(slots, task.slots):
                task.log.parent.mkdir(parents=True, exist_ok=True)
                with task.log.open("a") as log:
                    proc = subprocess.Popen([str(ROOT / "run.sh"), *task.args], stdout=log,
                                            stderr=subprocess.STDOUT, cwd=ROOT)  # fmt: skip
                running[task.name] = (task, proc, time.monotonic())
                pending.remove(task)
                busy += task.slots
                print(f"[{time.strftime('%H:%M:%S')}] start {task.name}", flush=True)
        time.sleep(2)


# --------------------------------------------------------------------------------------------
# the report


def train_hours(size_dir: Path) -> float:
    summary = next((size_dir / "data" / "manifests").glob("*/summary.json"))
    return float(json.loads(summary.read_text())["train"]["hours"])


def rows(out: Path) -> list[dict]:
    """One row per finished run under ``out``: its size, model, variant and numbers."""
    found = []
    for size_dir in sorted(out.glob("*min"), key=lambda p: float(p.name[:-3])):
        for corpus in sorted((size_dir / "exp").glob("*")):
            for path in sorted(corpus.iterdir()):
                run: RunResult | None = read_run(path)
                if run is None or run.score("dev", "greedy", "cer") is None:
                    continue
                found.append(
                    {
                        "minutes": float(size_dir.name[:-3]),
                        "train_hours": round(train_hours(size_dir), 3),
                        "run": f"{run.model}_L{run.num_layers}",
                        "variant": run.tag or "default",
                        "train_time_s": run.summary.get("train_time_s"),
                        "epochs": run.summary.get("epochs"),
                        "best_epoch": run.summary.get("best_epoch"),
                        "dev_greedy_cer": run.score("dev", "greedy", "cer"),
                        "dev_greedy_wer": run.score("dev", "greedy", "wer"),
                        "dev_beam_wer": run.score("dev", "beam_lm", "wer"),
                        "test_beam_wer": run.score("test", "beam_lm", "wer"),
                    }
                )
    return found


def fmt(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def markdown(found: list[dict]) -> str:
    lines = []
    for variant in sorted({r["variant"] for r in found}):
        lines += [
            f"**{variant}**",
            "",
            "| training audio | model | train time (s) | epochs (best) | dev greedy CER | "
            "dev greedy WER | beam + LM WER dev / test |",
            "|--:|---|--:|--:|--:|--:|--:|",
        ]
        for r in (r for r in found if r["variant"] == variant):
            lines.append(
                f"| {r['train_hours']:.2f} h | {r['run']} | {fmt(r['train_time_s'], 0)} | "
                f"{r['epochs']} ({r['best_epoch']}) | {fmt(r['dev_greedy_cer'])} % | "
                f"{fmt(r['dev_greedy_wer'])} % | {fmt(r['dev_beam_wer'])} / "
                f"{fmt(r['test_beam_wer'])} % |"
            )
        lines.append("")
    return "\n".join(lines)


def plot(found: list[dict], path: Path) -> None:
    """Dev greedy CER and beam + LM WER by hours of training audio: one colour per model, the
    default recipe as lines, each other variant as its own marker; the legend names the
    colours and the markers once each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    models = sorted({r["run"] for r in found})
    variants = ["default", *sorted({r["variant"] for r in found} - {"default"})]
    colour = {m: f"C{i}" for i, m in enumerate(models)}
    marker = dict(zip(variants, itertools.cycle("osD^vP*Xh<>p"), strict=False))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for variant in variants:
        for model in models:
            pts = sorted(
                (r["train_hours"], r) for r in found if (r["variant"], r["run"]) == (variant, model)
            )
            for ax, key in zip(axes, ("dev_greedy_cer", "dev_beam_wer"), strict=True):
                ax.plot([h for h, _ in pts], [r[key] for _, r in pts],
                        "-" if variant == "default" else "none", marker=marker[variant],
                        color=colour[model], alpha=1 if variant == "default" else 0.8)  # fmt: skip
    hours = sorted({r["train_hours"] for r in found})
    for ax, title in zip(axes, ("dev greedy CER (%)", "dev beam + LM WER (%)"), strict=True):
        ax.set_xscale("log", base=2)
        ax.set_xticks(hours, [f"{h:.2f}" for h in hours])
        ax.minorticks_off()
        ax.set_xlabel("hours of training audio")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    handles = [Line2D([], [], color=colour[m], label=m) for m in models] + [
        Line2D([], [], color="grey", marker=marker[v], linestyle="none", label=v) for v in variants
    ]
    axes[1].legend(handles=handles, fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def report(out: Path) -> None:
    found = rows(out)
    (out / "learning_curve.json").write_text(json.dumps(found, indent=1) + "\n")
    (out / "learning_curve.md").write_text(markdown(found))
    if found:
        plot(found, out / "learning_curve.png")
    print(markdown(found))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, nargs="+", default=[60, 120, 240])
    probes = ["residual_lstm:3", "residual_lstm:10", "plain_lstm:10"]
    parser.add_argument("--runs", nargs="+", default=probes, help="model:layers ...")
    parser.add_argument("--tag", default="", help="run-directory suffix of this variant")
    parser.add_argument("--jobs", type=int, default=2, help="cores kept busy")
    parser.add_argument("--out", type=Path, default=ROOT / "exp" / "learning_curve")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every run (after --)")
    args = parser.parse_args()
    args.out = args.out.resolve()
    if not args.report_only:
        execute(plan(args), args.jobs)
    report(args.out)


if __name__ == "__main__":
    main()
