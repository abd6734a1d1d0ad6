"""Figures of the results page (matplotlib's Agg canvas; no display, no pyplot state)."""

from __future__ import annotations

from collections import defaultdict
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
