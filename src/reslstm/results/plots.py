"""Figures of the results page (matplotlib's Agg canvas; no display, no pyplot state)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from reslstm.io import atomic_path
from reslstm.results.runs import RunResult


def _save(fig: Figure, path: Path) -> None:
    FigureCanvasAgg(fig)
    for ax in fig.axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")


def plot_wer_by_depth(runs: list[RunResult], method: str, path: Path) -> None:
    """Dev (dashed) and test (solid) WER against depth, one colour per model and tag."""
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    groups: dict[str, list[RunResult]] = defaultdict(list)
    for run in runs:
        groups[f"{run.model}{run.tag}"].append(run)
    for i, (label, group) in enumerate(sorted(groups.items())):
        group.sort(key=lambda r: r.num_layers)
        for split, style in (("dev", "--"), ("test", "-")):
            points = [(r.num_layers, r.score(split, method)) for r in group]
            points = [(x, y) for x, y in points if y is not None]
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, style, marker="o", color=f"C{i}", label=f"{label} {split}")
    ax.set(xlabel="LSTM layers", ylabel=f"WER % ({method})", title="WER by depth")
    if ax.has_data():
        ax.legend(fontsize="small")
    else:
        ax.text(0.5, 0.5, "no scores yet", ha="center", va="center", transform=ax.transAxes)
    _save(fig, path)


def plot_dev_loss(runs: list[RunResult], path: Path) -> None:
    """Dev-loss curves of all runs against epoch."""
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    for run in runs:
        points = [(m["epoch"], m["dev_loss"]) for m in run.metrics if "dev_loss" in m]
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker=".", label=run.name)
    ax.set(xlabel="epoch", ylabel="dev loss (CTC)", title="Dev loss")
    if ax.has_data():
        ax.legend(fontsize="small")
    else:
        ax.text(0.5, 0.5, "no metrics yet", ha="center", va="center", transform=ax.transAxes)
    _save(fig, path)


def plot_seeds_by_depth(
    grids: Mapping[str, Mapping[tuple[str, str, int], RunResult]],
    models: Sequence[str],
    method: str,
    path: Path,
) -> None:
    """Non-overlapped WER against depth, mean ± std over the seeds' grids, dev and test."""
    fig = Figure(figsize=(9, 4))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, split in zip(axes, ("dev", "test"), strict=True):
        for i, model in enumerate(models):
            points = []
            for layers in sorted({n for g in grids.values() for m, _, n in g if m == model}):
                values = [
                    v
                    for g in grids.values()
                    if (run := g.get((model, "", layers))) is not None
                    and (
                        v := (run.scores.get((split, method), {}).get("non_overlapped") or {}).get(
                            "wer"
                        )
                    )
                    is not None
                ]
                if values:
                    std = statistics.stdev(values) if len(values) > 1 else 0.0  # as the table
                    points.append((layers, statistics.mean(values), std))
            if points:
                xs, means, stds = zip(*points, strict=True)
                ax.errorbar(xs, means, yerr=stds, marker="o", capsize=3, color=f"C{i}", label=model)
        ax.set(xlabel="LSTM layers", title=f"{split}, {len(grids)} seeds (mean ± std)")
        if ax.has_data():
            ax.legend(fontsize="small")
    axes[0].set_ylabel(f"non-overlapped WER % ({method})")
    _save(fig, path)
