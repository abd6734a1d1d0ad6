"""Gradient flow through depth, from the per-layer gradient norms the trainer logs.

Every ``train.log_every_steps`` steps the trainer writes ``grad_norm/layer1`` …
``grad_norm/layerL`` (the L2 norm of each LSTM layer's gradient, after clipping, which scales
every layer alike) into ``<run_dir>/tensorboard/``. Here each layer's norm is divided by the
norm of the top layer (``layerL``) of the same step, and these ratios are averaged over two
windows:

* *early*: the logged steps ``1 … early_steps`` (default the first 100 training steps), where
  a plain stack's lower layers get too little gradient to leave their initialisation;
* *last epoch*: the steps of the last completed epoch (after the step at which the
  last-but-one epoch ended in ``metrics.jsonl``; all steps when only one epoch is done).

The average is geometric (the mean of the log ratios): the ratios span orders of magnitude
and are plotted on a log axis, and a single large step cannot dominate it.
"""

from __future__ import annotations

import logging
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure

from reslstm.layout import ResultsDir
from reslstm.results.claims import PAPER_MODELS
from reslstm.results.plots import _save
from reslstm.results.runs import RunResult

EARLY_STEPS = 100
LAYER_TAG = re.compile(r"^grad_norm/layer(\d+)$")
MISSING = "–"

Norms = dict[int, dict[int, float]]  # step -> {layer (1-based): gradient norm}


@dataclass(frozen=True)
class Window:
    """Relative norms of layers 1..L (the top one is 1.0) averaged over ``steps`` logged steps
    in ``(after, until]``."""

    after: int
    until: int | None  # None: open-ended
    steps: int
    relative: tuple[float, ...]


@dataclass(frozen=True)
class GradFlow:
    """One run's gradient flow: the early window and the last epoch (``None`` if no data)."""

    run: RunResult
    num_layers: int
    early: Window | None
    last_epoch: Window | None


def model_colour(model: str, others: list[str] | tuple[str, ...] = ()) -> str:
    """One colour per model type in the gradient-flow and depth figures: the paper's three
    first, then ``model``'s place among ``others``."""
    models = list(PAPER_MODELS) + sorted(set(others) - set(PAPER_MODELS))
    return f"C{models.index(model)}" if model in models else "C9"


def read_grad_norms(tensorboard_dir: Path) -> Norms:
    """The per-layer gradient norms in a run's event files, by step; empty if there are none.

    A resumed run's orphaned steps (logged after its last checkpoint, then trained again) are
    dropped by TensorBoard's own purge on the restart marker the trainer's ``purge_step``
    writes; a step that still appears twice keeps its last value.
    """
    if not any(Path(tensorboard_dir).glob("events.out.tfevents.*")):
        return {}
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tensorboard_dir), size_guidance={"scalars": 0})
    tb_log = logging.getLogger("tensorboard")
    level = tb_log.level
    tb_log.setLevel(logging.ERROR)  # the purge on a resume is expected, not worth a warning
    try:
        acc.Reload()
    finally:
        tb_log.setLevel(level)
    norms: Norms = defaultdict(dict)
    for tag in acc.Tags().get("scalars", []):
        match = LAYER_TAG.match(tag)
        if match:
            for event in acc.Scalars(tag):
                norms[event.step][int(match[1])] = event.value
    return dict(norms)


def relative_norms(
    norms: Norms, num_layers: int, after: int = 0, until: int | None = None
) -> Window | None:
    """Layers 1..``num_layers`` relative to the top layer, geometric mean over the steps in
    ``(after, until]`` that have a positive, finite norm for every layer; ``None`` if none has."""
    logs = [0.0] * num_layers
    count = 0
    for step, layers in norms.items():
        if step <= after or (until is not None and step > until):
            continue
        values = [layers.get(i) for i in range(1, num_layers + 1)]
        if not all(v is not None and math.isfinite(v) and v > 0 for v in values):
            continue
        top = math.log(values[-1])
        logs = [acc + math.log(v) - top for acc, v in zip(logs, values, strict=True)]
        count += 1
    if not count:
        return None
    return Window(after, until, count, tuple(math.exp(v / count) for v in logs))


def last_epoch_bounds(run: RunResult) -> tuple[int, int] | None:
    """``(after, until)``: the steps of the last completed epoch, from ``metrics.jsonl``."""
    steps = [m["step"] for m in run.metrics if isinstance(m.get("step"), int)]
    if not steps:
        return None
    return (steps[-2] if len(steps) > 1 else 0), steps[-1]


def grad_flow(run: RunResult, early_steps: int = EARLY_STEPS) -> GradFlow | None:
    """The gradient flow of ``run``, or ``None`` if it has no per-layer norms logged."""
    norms = read_grad_norms(run.path / "tensorboard")
    layers = {layer for by_layer in norms.values() for layer in by_layer}
    if not layers:
        return None
    num_layers = max(layers)
    bounds = last_epoch_bounds(run)
    return GradFlow(
        run=run,
        num_layers=num_layers,
        early=relative_norms(norms, num_layers, 0, early_steps),
        last_epoch=None if bounds is None else relative_norms(norms, num_layers, *bounds),
    )


def collect_grad_flow(runs: list[RunResult], early_steps: int = EARLY_STEPS) -> list[GradFlow]:
    """The gradient flow of every run that logged per-layer norms (others are skipped),
    ordered by model and depth."""
    flows = (grad_flow(r, early_steps) for r in runs)
    return sorted(
        (f for f in flows if f is not None),
        key=lambda f: (f.run.model, f.run.tag, f.num_layers),
    )


def deepest_per_model(flows: list[GradFlow]) -> list[GradFlow]:
    """The deepest untagged run of each model type (the lines of ``grad_flow.png``)."""
    best: dict[str, GradFlow] = {}
    for f in flows:
        if f.run.tag == "" and f.num_layers >= best.get(f.run.model, f).num_layers:
            best[f.run.model] = f
    return [best[m] for m in sorted(best)]


def plot_grad_flow(flows: list[GradFlow], path: Path, early_steps: int = EARLY_STEPS) -> None:
    """Two panels (early steps / last epoch): relative norm against layer, log scale, one line
    per model type at its deepest depth."""
    fig = Figure(figsize=(10, 4))
    panels = fig.subplots(1, 2, sharey=True)
    lines = deepest_per_model(flows)
    titles = (f"First {early_steps} training steps", "Last epoch")
    models = [f.run.model for f in lines]
    for ax, title, attr in zip(panels, titles, ("early", "last_epoch"), strict=True):
        for f in lines:
            window: Window | None = getattr(f, attr)
            if window is None:
                continue
            xs = range(1, f.num_layers + 1)
            label = f"{f.run.model} L{f.num_layers} ({window.steps} steps)"
            colour = model_colour(f.run.model, models)
            ax.plot(xs, window.relative, marker="o", color=colour, label=label)
        ax.set(xlabel="LSTM layer (1 = bottom)", title=title)
        if ax.has_data():
            ax.axhline(1.0, color="grey", linewidth=0.8, linestyle=":")
            ax.set_yscale("log")
            ax.legend(fontsize="small")
        else:
            ax.text(
                0.5,
                0.5,
                "no gradient norms logged",
                ha="center",
                va="center",
                transform=ax.transAxes,
            )
    panels[0].set_ylabel("gradient norm / top layer's")
    _save(fig, path)


def _ratio(window: Window | None, layer: int = 1) -> str:
    return MISSING if window is None else f"{window.relative[layer - 1]:.3g}"


def _steps(window: Window | None) -> str:
    return MISSING if window is None else str(window.steps)


def grad_flow_markdown(flows: list[GradFlow], early_steps: int = EARLY_STEPS) -> list[str]:
    """The gradient-flow section of ``RESULTS.md`` (empty when no run logged the norms)."""
    flows = [f for f in flows if f.run.tag == ""]
    if not flows:
        return []
    lines = [
        "## Gradient flow through depth",
        "",
        "| Model | Layers | Layer 1 / top, first "
        f"{early_steps} steps | Middle layer / top, first {early_steps} steps "
        "| Layer 1 / top, last epoch | Middle layer / top, last epoch | Steps averaged |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for f in flows:
        mid = (f.num_layers + 1) // 2
        cells = [
            f.run.model,
            str(f.num_layers),
            _ratio(f.early),
            _ratio(f.early, mid),
            _ratio(f.last_epoch),
            _ratio(f.last_epoch, mid),
            f"{_steps(f.early)} / {_steps(f.last_epoch)}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return [
        *lines,
        "",
        "Each layer's gradient norm divided by the top LSTM layer's at the same step "
        "(TensorBoard `grad_norm/layer*`), geometric mean over the logged steps of the window: "
        f"the first {early_steps} training steps, and the last completed epoch. Below 1: the "
        "layer gets less gradient than the top one (vanishing towards the input). Middle layer: "
        "layer ⌈L/2⌉. The figure shows every layer of each model's deepest run.",
        "",
        f"![Gradient flow]({ResultsDir(Path()).grad_flow_plot.name})",
        "",
    ]
