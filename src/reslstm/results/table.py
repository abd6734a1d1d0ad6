"""``RESULTS.md``: WER/CER by model type and depth, next to the paper's published figures."""

from __future__ import annotations

from pathlib import Path

from reslstm.io import atomic_write_text
from reslstm.results.plots import plot_dev_loss, plot_wer_by_depth
from reslstm.results.runs import RunResult, collect_runs

PAPER_MODELS = ("plain_lstm", "highway_lstm", "residual_lstm")
PAPER_DEPTHS = (3, 10)
METHODS = {
    "greedy": "greedy CTC best path, no LM",
    "beam_lm": "lexicon-constrained CTC beam search with the word n-gram LM",
}
MISSING = "–"
SCORING_NOTE = (
    "Scoring: per-segment WER/CER with jiwer on Kaldi-normalised AMI text (lhotse "
    "`normalize_text_ami`), segments with an empty reference excluded; CER counts the spaces "
    "between words. This is not the overlap-aware asclite scoring of the paper, and our models "
    "are CTC character models rather than hybrid senone models: compare the *shape* "
    "(relative changes), not absolute WERs."
)
PAPER_SOURCE = (
    "Source: Kim, El-Khamy & Lee, *Residual LSTM: Design of a Deep Recurrent Architecture for "
    "Distant Speech Recognition*, Interspeech 2017 (arXiv:1701.03360), abstract; AMI SDM, "
    "hybrid LSTM acoustic model, Kaldi decoding with a 3-gram LM, asclite scoring."
)

Key = tuple[str, str, int]  # model, tag, layers


def _num(value: float | None, spec: str, suffix: str = "") -> str:
    return MISSING if value is None else f"{value:{spec}}{suffix}"


def _rel(new: float | None, base: float | None) -> float | None:
    """Relative change of ``new`` over ``base`` in percent."""
    return None if new is None or not base else 100.0 * (new - base) / base


def _hours(seconds: float | None) -> str:
    if seconds is None:
        return MISSING
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def _score(run: RunResult | None, split: str, method: str, what: str = "wer") -> float | None:
    return None if run is None else run.score(split, method, what)


def _row_keys(runs: dict[Key, RunResult]) -> list[Key]:
    """The paper's grid (every model type at every depth, untagged) plus every run found."""
    models = list(PAPER_MODELS) + sorted({m for m, _, _ in runs} - set(PAPER_MODELS))
    depths = sorted(set(PAPER_DEPTHS) | {n for _, _, n in runs})
    keys = {(m, "", n) for m in models for n in depths} | set(runs)
    return sorted(keys, key=lambda k: (models.index(k[0]), k[1], k[2]))


def _method_table(runs: dict[Key, RunResult], method: str) -> list[str]:
    lines = [
        f"### Decoding: `{method}` ({METHODS.get(method, method)})",
        "",
        "| Model | Layers | Params | Dev WER | Test WER | Dev CER | Test CER "
        "| WER vs 3 layers, rel. (dev / test) | Train time | Epochs |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for key in _row_keys(runs):
        model, tag, layers = key
        run, base = runs.get(key), runs.get((model, tag, 3))
        summary = run.summary if run else {}
        params = summary.get("num_params")
        rel = MISSING
        if layers != 3:
            rel = " / ".join(
                _num(_rel(_score(run, s, method), _score(base, s, method)), "+.1f", " %")
                for s in ("dev", "test")
            )
        epochs = summary.get("epochs", len(run.metrics) if run and run.metrics else None)
        cells = [
            f"{model}{tag}",
            str(layers),
            _num(None if params is None else params / 1e6, ".2f", " M"),
            *(
                _num(_score(run, s, method, w), ".2f")
                for w in ("wer", "cer")
                for s in ("dev", "test")
            ),
            rel,
            _hours(summary.get("train_time_s")),
            _num(epochs, "d"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _paper_table(runs: dict[Key, RunResult], method: str) -> list[str]:
    def wer(model: str, layers: int) -> float | None:
        return _score(runs.get((model, "", layers)), "test", method)

    def params(model: str) -> float | None:
        run = runs.get((model, "", 10))
        return None if run is None else run.summary.get("num_params")

    plain, highway, residual = PAPER_MODELS
    rows = [
        ("10- vs 3-layer plain LSTM, WER (rel.)", "+13.7 %", _rel(wer(plain, 10), wer(plain, 3))),
        (
            "10- vs 3-layer highway LSTM, WER (rel.)",
            "+6.2 %",
            _rel(wer(highway, 10), wer(highway, 3)),
        ),
        ("10-layer residual LSTM, WER", "41.0 %", wer(residual, 10)),
        (
            "10-layer residual vs plain LSTM, WER¹",
            "-3.3 %",
            _rel(wer(residual, 10), wer(plain, 10)),
        ),
        (
            "10-layer residual vs highway LSTM, WER¹",
            "-2.8 %",
            _rel(wer(residual, 10), wer(highway, 10)),
        ),
        (
            "Residual vs highway LSTM, parameters",
            "< -10 %",
            _rel(params(residual), params(highway)),
        ),
    ]
    lines = [
        f"| Finding | Paper | This recipe (test, `{method}`) |",
        "|---|--:|--:|",
    ]
    for i, (finding, paper, ours) in enumerate(rows):
        value = _num(ours, ".1f", " %") if i == 2 else _num(ours, "+.1f", " %")
        lines.append(f"| {finding} | {paper} | {value} |")
    return [
        *lines,
        "",
        '¹ The abstract says "3.3 % and 2.8 % lower" without saying relative or absolute; '
        "ours is relative. Parameters are compared at 10 layers.",
        "",
        PAPER_SOURCE,
    ]


def results_markdown(runs: list[RunResult], corpus: str, method: str = "beam_lm") -> str:
    """The ``RESULTS.md`` text for ``runs``; ``method`` is the main decoding method."""
    by_key = {(r.model, r.tag, r.num_layers): r for r in runs}
    found = sorted({m for r in runs for _, m in r.scores})
    methods = [method] + [m for m in found if m != method]
    lines = [f"# Results: {corpus}", "", SCORING_NOTE, ""]
    if method not in found:
        lines += [f"No run has `{method}` scores yet: its table is empty ({MISSING}).", ""]
    for m in methods:
        lines += [*_method_table(by_key, m), ""]
    lines += [
        'WER and CER in %. A missing run or value shows as "' + MISSING + '".',
        "",
        "![WER by depth](wer_by_depth.png) ![Dev loss](dev_loss.png)",
        "",
        "## The paper's published figures",
        "",
        *_paper_table(by_key, method),
    ]
    return "\n".join(lines) + "\n"


def write_results(corpus_exp_dir: str | Path, method: str = "beam_lm") -> str:
    """Write ``RESULTS.md``, ``wer_by_depth.png`` and ``dev_loss.png`` into ``corpus_exp_dir``.

    Returns the markdown.
    """
    root = Path(corpus_exp_dir)
    runs = collect_runs(root)
    plot_wer_by_depth(runs, method, root / "wer_by_depth.png")
    plot_dev_loss(runs, root / "dev_loss.png")
    text = results_markdown(runs, root.name, method)
    atomic_write_text(root / "RESULTS.md", text)
    return text
