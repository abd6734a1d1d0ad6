"""The depth sweep (``recipes/depth_sweep.sh``): dev WER, cost and gradient flow against
depth, written to ``exp/<corpus>/DEPTH_SWEEP.md`` and ``depth_curve.png``.

Every untagged run of the corpus takes part (the sweep's and any other, e.g. Table 1's), one
line per model type; the paper's Table 1 figures at 3, 5 and 10 layers are marked on a second
axis, since its hybrid AMI system and our CTC models are only comparable in shape.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from matplotlib.figure import Figure

from reslstm.io import atomic_write_text
from reslstm.layout import ResultsDir
from reslstm.results.claims import PAPER_TABLE1
from reslstm.results.grad_flow import EARLY_STEPS, GradFlow, collect_grad_flow, model_colour
from reslstm.results.plots import _save
from reslstm.results.runs import RunResult, collect_runs, is_untrained, wer_of
from reslstm.results.table import (
    MISSING,
    PLOTS,
    UNTRAINED,
    _hours,
    _num,
    describe_method,
)


def sweep_runs(runs: list[RunResult]) -> list[RunResult]:
    """The untagged runs (``<model>_L<layers>``), by model and depth."""
    return sorted((r for r in runs if r.tag == ""), key=lambda r: (r.model, r.num_layers))


def plot_depth_curve(runs: list[RunResult], method: str, path: Path) -> None:
    """Dev WER against depth, one line per model type; the paper's non-overlapped WER at 3, 5
    and 10 layers as open markers on the right-hand axis."""
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    by_model: dict[str, list[RunResult]] = defaultdict(list)
    for run in sweep_runs(runs):
        by_model[run.model].append(run)
    models = sorted(set(by_model) | {m for m, _ in PAPER_TABLE1})
    colour = {m: model_colour(m, models) for m in models}
    for model, group in sorted(by_model.items()):
        points = [(r.num_layers, wer_of(r, "dev", method)) for r in group]
        points = [(x, y) for x, y in points if y is not None]
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker="o", color=colour[model], label=f"{model} (ours, dev)")
    ax.set(xlabel="LSTM layers", ylabel=f"dev WER % ({method})", title="WER by depth")
    paper = ax.twinx()
    for model in models:
        points = sorted((n, wers[1]) for (m, n), wers in PAPER_TABLE1.items() if m == model)
        if points:
            xs, ys = zip(*points, strict=True)
            style = {"marker": "s", "mfc": "none", "color": colour[model]}
            paper.plot(xs, ys, ":", label=f"{model} (paper)", **style)
    paper.set_ylabel("paper's WER %, AMI SDM non-overlapped (Table 1)")
    handles = [h for a in (ax, paper) for h in a.get_legend_handles_labels()[0]]
    ax.legend(handles=handles, fontsize="small", loc="upper left", bbox_to_anchor=(1.15, 1))
    if not any(line.get_xdata().size for line in ax.lines):
        ax.text(0.5, 0.5, "no dev scores yet", ha="center", va="center", transform=ax.transAxes)
    _save(fig, path)


def _peak(summary: dict, key: str) -> str:
    value = summary.get(key)
    return MISSING if value is None else f"{value:,.0f}"


def _grad(flow: GradFlow | None) -> str:
    if flow is None:
        return MISSING
    parts = [w.relative[0] if w else None for w in (flow.early, flow.last_epoch)]
    return " / ".join(_num(v, ".3g") for v in parts)


def depth_sweep_markdown(
    runs: list[RunResult],
    corpus: str,
    method: str,
    learning_cer: float = 90.0,
    flows: list[GradFlow] | None = None,
    early_steps: int = EARLY_STEPS,
) -> str:
    """The ``DEPTH_SWEEP.md`` text: one row per untagged run, by model and depth."""
    flow_of = {f.run.path: f for f in flows or []}
    lines = [
        f"# Depth sweep: {corpus}",
        "",
        f"Decoding `{method}` ({describe_method(method)}); written by "
        "`recipes/depth_sweep.sh` (`python -m reslstm.cli.depth_sweep`).",
        "",
        "| Model | Layers | Params | Epochs | Stopped by | Dev WER | Dev CER | Train time "
        "| Train frames/s | Peak RSS MiB | Peak GPU MiB "
        f"| Layer 1 / top grad norm (first {early_steps} steps / last epoch) |",
        "|---|--:|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for run in sweep_runs(runs):
        s = run.summary
        params = s.get("num_params")
        epochs = s.get("epochs", len(run.metrics) if run.metrics else None)
        untrained = is_untrained(run, learning_cer)
        cells = [
            run.model,
            str(run.num_layers),
            _num(None if params is None else params / 1e6, ".2f", " M"),
            _num(epochs, "d") + (f" ({UNTRAINED})" if untrained else ""),
            s.get("stopped_by", MISSING),
            _num(wer_of(run, "dev", method), ".1f"),
            _num(wer_of(run, "dev", method, what="cer"), ".1f"),
            _hours(s.get("train_time_s")),
            _peak(s, "frames_per_s"),
            _peak(s, "peak_rss_mb"),
            _peak(s, "peak_cuda_mb"),
            _grad(flow_of.get(run.path)),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(
        [
            *lines,
            "",
            "WER and CER in % on dev (all segments, jiwer). Train frames/s: input frames "
            "trained on per second of training (all epochs). Peak RSS: the training process's "
            "peak resident memory; peak GPU: the most memory its tensors held on the GPU "
            f'(CUDA runs only), over every process that trained the run. "{MISSING}": not '
            "recorded (runs trained before these were logged, or still running). Gradient "
            "norm: layer 1's over the top LSTM layer's, geometric mean over the window "
            f"(see {PLOTS.table.name} and {PLOTS.grad_flow_plot.name} for every layer).",
            "",
            f"![Dev WER by depth]({PLOTS.depth_curve_plot.name})",
            "",
        ]
    )


def write_depth_sweep(
    corpus_exp_dir: str | Path,
    method: str = "beam_lm",
    learning_cer: float = 90.0,
    early_steps: int = EARLY_STEPS,
) -> str:
    """Write ``DEPTH_SWEEP.md`` and ``depth_curve.png`` into ``corpus_exp_dir``; return the
    markdown."""
    out = ResultsDir(Path(corpus_exp_dir))
    runs = sweep_runs(collect_runs(out.path))
    plot_depth_curve(runs, method, out.depth_curve_plot)
    flows = collect_grad_flow(runs, early_steps)
    text = depth_sweep_markdown(runs, out.path.name, method, learning_cer, flows, early_steps)
    atomic_write_text(out.depth_sweep_table, text)
    return text
