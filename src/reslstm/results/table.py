"""``RESULTS.md``: the paper's Table 1, or Table 2 for pooled training (WER by model and depth,
overlapped / non-overlapped segments) with our numbers, the paper's figures beside them, the
claims checked, and the spread over seeds when the grid was trained with several."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from reslstm.decode.methods import DECODE_METHODS
from reslstm.errors import ReslstmError
from reslstm.io import atomic_write_text
from reslstm.layout import EVAL_SPLITS, ResultsDir
from reslstm.results.claims import (
    MISSING,
    PAPER_DEPTHS,
    TABLE1,
    PaperTable,
    rel,
)
from reslstm.results.grad_flow import (
    GradFlow,
    collect_grad_flow,
    grad_flow_markdown,
    plot_grad_flow,
)
from reslstm.results.plots import plot_dev_loss, plot_seeds_by_depth, plot_wer_by_depth
from reslstm.results.runs import (
    Key,
    RunResult,
    collect_runs,
    is_seed_run,
    is_untrained,
    score_at,
    wer_of,
)
from reslstm.results.significance import significance_section
from reslstm.results.verdicts import (
    DEFAULT_BOOTSTRAP,
    BootstrapConfig,
    claims_table,
    seed_grids,
    seed_section,
    variants_section,
)
from reslstm.scoring.methods import SCORING_METHODS

SCORING_NOTE = (  # .format(table=...): the paper's table compared against
    "Scoring: the {table} columns are per-segment WER/CER with jiwer on Kaldi-normalised AMI "
    "text (lhotse `normalize_text_ami`), segments with an empty reference excluded; CER counts "
    "the spaces between words (`score.primary` can put asclite's or meeteval's WER in the "
    '"all" column instead). A segment is *overlapped* when a segment of another speaker in '
    "the same meeting intersects it in time (from the split's supervisions), *non-overlapped* "
    "otherwise; the paper reports WER on both. The paper scored with asclite (shown below with "
    "meeteval, per meeting) and trained hybrid senone models where ours are CTC models over "
    "characters (BPE pieces in `_bpe<N>` rows): compare the *shape* (relative changes), not "
    "absolute WERs."
)
PAPER_SOURCE = (
    "Paper: Kim, El-Khamy & Lee, *Residual LSTM: Design of a Deep Recurrent Architecture for "
    "Distant Speech Recognition*, Interspeech 2017 (arXiv:1701.03360), {table}; {training}, "
    "hybrid LSTM acoustic model, Kaldi decoding with a 3-gram LM, asclite scoring."
)
PLOTS = ResultsDir(Path())  # the plots' file names, linked from RESULTS.md beside them
SUBSET_KEYS = (None, "overlapped", "non_overlapped")  # all segments, then the two subsets
UNTRAINED = "untrained"


def describe_method(method: str) -> str:
    """The decoding method's description (decode/methods.py), or its name if unknown."""
    found = DECODE_METHODS.get(method)
    return found.description if found else method


def _num(value: float | None, spec: str, suffix: str = "") -> str:
    return MISSING if value is None else f"{value:{spec}}{suffix}"


def _hours(seconds: float | None) -> str:
    if seconds is None:
        return MISSING
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def primary_path(primary: str) -> tuple[str, ...]:
    """Where the headline WER of scoring method ``primary`` (``score.primary``) sits in
    ``scores.json``, from its registry entry (scoring/methods.py)."""
    found = SCORING_METHODS.get(primary)
    if found is None or not found.primary:
        known = sorted(m.name for m in SCORING_METHODS.values() if m.primary)
        raise ReslstmError(f"score.primary={primary!r}: use one of {known}")
    return found.primary


def _row_keys(runs: dict[Key, RunResult], paper: PaperTable) -> list[Key]:
    """The paper's grid (each of its model types at 3, 5, 10 layers, untagged) plus every run
    found (other depths, e.g. of recipes/depth_sweep.sh, only where a run has them)."""
    models = list(paper.models) + sorted({m for m, _, _ in runs} - set(paper.models))
    keys = {(m, "", n) for m in models for n in PAPER_DEPTHS} | set(runs)
    return sorted(keys, key=lambda k: (models.index(k[0]), k[1], k[2]))


def _triple(run: RunResult | None, split: str, method: str, primary: str) -> str:
    values = [score_at(run, split, method, primary_path(primary))]
    values += [wer_of(run, split, method, s) for s in SUBSET_KEYS[1:]]
    return " / ".join(_num(v, ".1f") for v in values)


def _method_table(
    runs: dict[Key, RunResult], method: str, learning_cer: float, primary: str, paper: PaperTable
) -> list[str]:
    lines = [
        f"### Decoding: `{method}` ({describe_method(method)})",
        "",
        f"| Model | Layers | Params | Epochs | Dev WER all ({primary}) / over / non-over "
        "| Test WER all / over / non-over | Dev CER | Test CER "
        "| Non-over WER vs 3 layers (dev / test) | Paper WER over / non-over | Train time |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for key in _row_keys(runs, paper):
        model, tag, layers = key
        run, base = runs.get(key), runs.get((model, tag, 3))
        summary = run.summary if run else {}
        params = summary.get("num_params")
        untrained = is_untrained(run, learning_cer)
        change = MISSING
        if untrained or is_untrained(base, learning_cer):
            change = UNTRAINED
        elif layers != 3:
            change = " / ".join(
                _num(
                    rel(
                        wer_of(run, s, method, "non_overlapped"),
                        wer_of(base, s, method, "non_overlapped"),
                    ),
                    "+.1f",
                    " %",
                )
                for s in EVAL_SPLITS
            )
        epochs = summary.get("epochs", len(run.metrics) if run and run.metrics else None)
        figures = paper.wer.get((model, layers)) if not tag else None
        cells = [
            f"{model}{tag}",
            str(layers),
            _num(None if params is None else params / 1e6, ".2f", " M"),
            _num(epochs, "d") + (f" ({UNTRAINED})" if untrained else ""),
            _triple(run, "dev", method, primary),
            _triple(run, "test", method, primary),
            *(_num(wer_of(run, s, method, what="cer"), ".1f") for s in EVAL_SPLITS),
            change,
            MISSING if figures is None else f"{figures[0]} / {figures[1]}",
            _hours(summary.get("train_time_s")),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _scorers_table(runs: dict[Key, RunResult], method: str, paper: PaperTable) -> list[str]:
    """Every scoring method's WER side by side (dev / test) for each run: a column for each
    registered method's column (scoring/methods.py) that some run has a value for."""
    keys = [k for k in _row_keys(runs, paper) if k in runs]
    columns = {
        title: path
        for m in SCORING_METHODS.values()
        for title, path in m.columns.items()
        if any(score_at(runs[k], s, method, path) is not None for k in keys for s in EVAL_SPLITS)
    }
    lines = [
        f"### Scoring methods compared (`{method}`, WER dev / test)",
        "",
        "| Model | Layers | " + " | ".join(columns) + " |",
        "|---|--:|" + "--:|" * len(columns),
    ]
    for key in keys:
        (model, tag, layers), run = key, runs[key]
        cells = [
            " / ".join(_num(score_at(run, s, method, path), ".1f") for s in EVAL_SPLITS)
            for path in columns.values()
        ]
        lines.append(f"| {model}{tag} | {layers} | " + " | ".join(cells) + " |")
    skipped = sorted(
        {
            f"{name}: skipped ({entry['skipped']})."
            for k in keys
            for (_, m), scores in runs[k].scores.items()
            if m == method
            for name, entry in scores.items()
            if isinstance(entry, dict) and "skipped" in entry
        }
    )
    return [
        *lines,
        "",
        *skipped,
        f"jiwer: per-segment WER, what the {paper.name} columns use unless `score.primary` says "
        "otherwise. asclite: NIST asclite on STM/CTM with Kaldi AMI s5b's options "
        "(overlap-aware, up to 4 speakers), comparable with Kaldi's published AMI SDM figures. "
        "meeteval: cpWER and time-constrained ORC-WER per meeting, summed.",
    ]


def _segment_counts(runs: list[RunResult], method: str) -> str:
    """How many scored segments each subset has (from any run: all share the splits)."""
    for run in runs:
        parts = []
        for split in EVAL_SPLITS:
            scores = run.scores.get((split, method), {})
            counts = [(scores.get(s) or {}).get("num_utts") for s in SUBSET_KEYS[1:]]
            if None not in counts:
                parts.append(f"{split} {counts[0]} overlapped + {counts[1]} non-overlapped")
        if parts:
            return "Segments: " + "; ".join(parts) + "."
    return ""


def results_markdown(
    runs: list[RunResult],
    corpus: str,
    method: str = "beam_lm",
    learning_cer: float = 90.0,
    primary: str = "jiwer",
    grad_flow: list[GradFlow] | None = None,
    paper: PaperTable = TABLE1,
    boot: BootstrapConfig | None = DEFAULT_BOOTSTRAP,
    speakers: Mapping[str, str] | None = None,
) -> str:
    """The ``RESULTS.md`` text for ``runs``; ``method`` is the main decoding method,
    ``learning_cer`` the greedy dev CER at or above which a run counts as untrained,
    ``primary`` the scoring method of the headline WER column (``score.primary``),
    ``grad_flow`` the runs' gradient flow (results/grad_flow.py), if read, and ``paper`` the
    paper's table the runs reproduce (figures and claims), ``boot`` the bootstrap settings of
    the claims' intervals (``None``: point verdicts only), ``speakers`` the speaker of each
    evaluation segment (cut id -> speaker) for the NIST tests' per-speaker blocks."""
    primary_path(primary)  # an unknown score.primary is one line before anything is written
    main = [r for r in runs if not is_seed_run(r.tag)]
    by_key = {(r.model, r.tag, r.num_layers): r for r in main}
    grid = {(m, n): r for (m, tag, n), r in by_key.items() if not tag}
    found = sorted({m for r in runs for _, m in r.scores})
    methods = [method] + [m for m in found if m != method]
    lines = [f"# Results: {corpus}", "", SCORING_NOTE.format(table=paper.name), ""]
    if method not in found:
        lines += [f"No run has `{method}` scores yet: its table is empty ({MISSING}).", ""]
    lines += [f"## {paper.name}: WER by model and depth (the paper: {paper.training})", ""]
    for m in methods:
        lines += [*_method_table(by_key, m, learning_cer, primary, paper), ""]
    lines += [*_scorers_table(by_key, method, paper), ""]
    lines += [
        "WER and CER in %. Epochs: trained until the shared stopping rule (or the epoch limit); "
        f"`{UNTRAINED}`: the model never left the CTC blank plateau (greedy dev CER ≥ "
        f'{learning_cer:g} %). A missing run or value shows as "{MISSING}".',
        _segment_counts(main, method),
        "",
        f"![WER by depth]({PLOTS.wer_plot.name}) ![Dev loss]({PLOTS.loss_plot.name})",
        "",
        *seed_section(runs, method, learning_cer, paper, boot),
        *grad_flow_markdown(grad_flow or []),
        *claims_table(by_key, method, learning_cer, paper, boot),
        "",
        *variants_section(runs, method, learning_cer, paper, boot),
        *(significance_section(grid, method, paper, boot, speakers) if boot else []),
        PAPER_SOURCE.format(table=paper.name, training=paper.training),
    ]
    return "\n".join(lines) + "\n"


def write_results(
    corpus_exp_dir: str | Path,
    method: str = "beam_lm",
    learning_cer: float = 90.0,
    primary: str = "jiwer",
    paper: PaperTable = TABLE1,
    boot: BootstrapConfig | None = DEFAULT_BOOTSTRAP,
    speakers: Mapping[str, str] | None = None,
) -> str:
    """Write ``RESULTS.md``, ``wer_by_depth.png``, ``dev_loss.png`` and ``grad_flow.png`` into
    ``corpus_exp_dir``, comparing with the paper's table ``paper`` (claims' intervals with
    ``boot``).

    Returns the markdown.
    """
    out = ResultsDir(Path(corpus_exp_dir))
    runs = collect_runs(out.path)
    main = [r for r in runs if not is_seed_run(r.tag)]
    plot_wer_by_depth(main, method, out.wer_plot)
    plot_dev_loss(main, out.loss_plot)
    flows = collect_grad_flow(main)
    plot_grad_flow(flows, out.grad_flow_plot)
    grids = seed_grids(runs)
    if len(grids) > 1:
        plot_seeds_by_depth(grids, paper.models, method, out.seeds_plot)
    text = results_markdown(runs, out.path.name, method, learning_cer, primary, flows, paper, boot)
    atomic_write_text(out.table, text)
    return text
