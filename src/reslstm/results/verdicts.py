"""The claims of a grid of runs (one seed, or several pooled), with bootstrap intervals.

Reads each run's ``decode/<split>_<method>/per_utt.tsv`` (per-segment word errors and the
overlap flag that stage 5 writes), keeps the non-overlapped segments that every run scored, and
bootstraps them (results/bootstrap.py) into each claim's interval and ✓ / ≈ / ✗ verdict
(results/claims.py).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reslstm.errors import ReslstmError
from reslstm.layout import EVAL_SPLITS, ResultsDir, RunDir
from reslstm.results.bootstrap import Draws, aligned_errors, bootstrap_wers, read_per_utt
from reslstm.results.claims import (
    MISSING,
    PAPER_DEPTHS,
    PLAIN,
    Cell,
    Claim,
    PaperTable,
    check_claims,
)
from reslstm.results.runs import Key, RunResult, is_untrained, variant_of, wer_of


@dataclass(frozen=True)
class BootstrapConfig:
    """``score.bootstrap_*`` and ``score.confidence`` (conf/score/default.yaml)."""

    samples: int = 5000
    seed: int = 2004
    confidence: float = 95.0

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise ReslstmError(f"score.bootstrap_samples must be >= 1, got {self.samples}")
        if not 0 < self.confidence < 100:
            raise ReslstmError(f"score.confidence must be in (0, 100) %, got {self.confidence:g}")


DEFAULT_BOOTSTRAP = BootstrapConfig()
SEEDS_PLOT = ResultsDir(Path()).seeds_plot.name  # linked from RESULTS.md, beside it


def grid_draws(
    grids: Sequence[Mapping[Cell, RunResult]],
    split: str,
    method: str,
    boot: BootstrapConfig,
) -> Draws | None:
    """Bootstrap draws of the non-overlapped WER of every cell that each grid (seed) has,
    pooled over the grids; ``None`` when a cell's ``per_utt.tsv`` lacks the overlap flags
    (scored before they were written) or no cell is complete."""
    cells = [c for c in grids[0] if all(c in g for g in grids)] if grids else []
    systems = {}
    for cell in cells:
        tables = []
        for grid in grids:
            path = RunDir(grid[cell].path).decode(split, method).per_utt
            if not path.is_file():
                break
            tables.append(read_per_utt(path))
        else:
            systems[cell] = tables
    if not systems:
        return None
    if any(s.overlapped is None for t in next(iter(systems.values())) for s in t.values()):
        return None
    errors, ref = aligned_errors(systems, overlapped=False)
    if ref.sum() <= 0:
        return None
    return bootstrap_wers(errors, ref, boot.samples, boot.seed)


def grid_claims(
    grids: Sequence[Mapping[Cell, RunResult]],
    split: str,
    method: str,
    wer: Mapping[Cell, float | None] | None,
    params: Mapping[Cell, float | None],
    untrained: frozenset[Cell],
    paper: PaperTable,
    boot: BootstrapConfig | None,
) -> list[Claim]:
    """The claims on ``wer`` (the point figures; ``None``: the WERs pooled over ``grids``), with
    intervals from ``grids`` pooled when ``boot`` is given and the per-segment files allow it."""
    draws = None if boot is None else grid_draws(grids, split, method, boot)
    if wer is None:
        wer = {} if draws is None else dict(draws.point)
    return check_claims(
        wer,
        params,
        untrained,
        paper,
        draws=None if draws is None else draws.draws,
        confidence=boot.confidence if boot else 95.0,
    )


def _grid_claims(
    grids: list[dict[Key, RunResult]],
    split: str,
    method: str,
    learning_cer: float,
    paper: PaperTable,
    boot: BootstrapConfig | None,
) -> list[Claim]:
    """The claims on one grid (its own WERs), or pooled over several seeds' grids (the WERs
    pooled over seeds), with bootstrap intervals when ``boot`` is given."""
    cells = paper.cells
    by_cell = [{c: g[(c[0], "", c[1])] for c in cells if (c[0], "", c[1]) in g} for g in grids]
    wer = None
    if len(grids) == 1:
        wer = {c: wer_of(by_cell[0].get(c), split, method, "non_overlapped") for c in cells}
    params = {c: r.summary.get("num_params") for c, r in by_cell[0].items()}
    untrained = frozenset(c for g in by_cell for c in cells if is_untrained(g.get(c), learning_cer))
    return grid_claims(by_cell, split, method, wer, params, untrained, paper, boot)


def claims_table(
    runs: dict[Key, RunResult],
    method: str,
    learning_cer: float,
    paper: PaperTable,
    boot: BootstrapConfig | None,
) -> list[str]:
    dev, test = (_grid_claims([runs], s, method, learning_cer, paper, boot) for s in EVAL_SPLITS)
    lines = [
        f"## The paper's claims, checked ({paper.name}, non-overlapped WER, `{method}`)",
        "",
        "| Claim | Paper | Dev | Dev 95 % interval | | Test | Test 95 % interval | |",
        "|---|--:|--:|--:|:-:|--:|--:|:-:|",
    ]
    for d, t in zip(dev, test, strict=True):
        lines.append(
            f"| {d.text} | {d.paper} | {d.ours} | {d.interval or MISSING} | {d.mark} "
            f"| {t.ours} | {t.interval or MISSING} | {t.mark} |"
        )
    held = {s: sum(c.holds is True for c in cs) for s, cs in (("dev", dev), ("test", test))}
    baselines = (
        " (its −3.3 % / −2.8 % compare residual 10 layers with the *3-layer* plain and highway "
        "baselines)"
        if PLAIN in paper.models
        else ""
    )
    return [
        *lines,
        "",
        f"Point estimates: {held['dev']} of {len(dev)} claims hold on dev, {held['test']} of "
        f"{len(test)} on test"
        + (f" ({_verdict_counts(dev)} on dev, {_verdict_counts(test)} on test)" if boot else "")
        + ". Relative changes are of the non-overlapped "
        f"WER, as the paper's abstract computes them{baselines}. Parameters are compared at "
        "every depth. The choices of the recipe were made on dev; test is only reported.",
        "",
        _verdict_note(boot, seeds=1),
    ]


def _verdict_counts(claims: list[Claim]) -> str:
    marks = [c.mark for c in claims]
    return ", ".join(f"{marks.count(m)} {m}" for m in ("✓", "≈", "✗"))


def _verdict_note(boot: BootstrapConfig | None, seeds: int) -> str:
    if boot is None:
        return "✓ / ✗: the point estimates (no bootstrap intervals were computed)."
    over = "segments" if seeds == 1 else f"seeds ({seeds}) and segments, two-level"
    firmer = (
        " One run's interval covers the evaluation set's sampling noise, not the training's "
        "(seed, CPU): `recipes/seeds.sh` pools seeds for a firmer answer."
        if seeds == 1
        else ""
    )
    return (
        f"Verdicts: ✓ the claim holds with {boot.confidence:g} % confidence, ≈ undecided (an "
        f"interval spans the threshold), ✗ the opposite holds with {boot.confidence:g} % "
        f"confidence. Intervals: paired bootstrap over the non-overlapped {over} "
        f"(Bisani & Ney, ICASSP 2004; {boot.samples} draws, seed {boot.seed}); the interval "
        "shown is that of the condition deciding the verdict (for the parameter claim, exact "
        f"counts decide).{firmer}"
    )


def _mean_std(values: list[float]) -> str:
    if not values:
        return MISSING
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.1f} ± {std:.1f}"


def seed_grids(runs: list[RunResult], variant: str = "") -> dict[str, dict[Key, RunResult]]:
    """The grids of one training variant by seed: its seed-42 grid (tag ``variant``) and those
    of ``recipes/seeds.sh`` (``variant + "_seed<N>"``), each keyed as the default grid is
    ((model, "", layers))."""
    by_seed: dict[str, dict[Key, RunResult]] = defaultdict(dict)
    for r in runs:
        if variant_of(r.tag) == variant:
            seed = str(r.summary.get("seed", r.tag or "default"))
            by_seed[seed][(r.model, "", r.num_layers)] = r
    return dict(by_seed)


def seed_section(
    runs: list[RunResult],
    method: str,
    learning_cer: float,
    paper: PaperTable,
    boot: BootstrapConfig | None,
) -> list[str]:
    """Mean ± std per cell over the seeds of the grid, in how many seeds each claim held, and
    each claim on the WERs pooled over seeds with its interval over seeds and segments."""
    by_seed = seed_grids(runs)
    if len(by_seed) < 2:
        return []
    lines = [
        f"## Over {len(by_seed)} seeds ({', '.join(sorted(by_seed))}): mean ± std, `{method}`",
        "",
        "| Model | Layers | Seeds | Dev WER all | Dev non-over | Test WER all | Test non-over "
        "| Untrained |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for model in paper.models:
        for layers in PAPER_DEPTHS:
            members = [s[(model, "", layers)] for s in by_seed.values() if (model, "", layers) in s]
            if not members:
                continue
            cols = [
                _mean_std([v for r in members if (v := wer_of(r, split, method, sub)) is not None])
                for split in EVAL_SPLITS
                for sub in (None, "non_overlapped")
            ]
            bad = sum(is_untrained(r, learning_cer) for r in members)
            lines.append(f"| {model} | {layers} | {len(members)} | {' | '.join(cols)} | {bad} |")
    per_seed = [
        {s: _grid_claims([grid], s, method, learning_cer, paper, None) for s in EVAL_SPLITS}
        for grid in by_seed.values()
    ]
    pooled = {
        s: _grid_claims(list(by_seed.values()), s, method, learning_cer, paper, boot)
        for s in EVAL_SPLITS
    }
    n = len(per_seed)
    lines += [
        "",
        f"The claims over the {n} seeds: in how many seeds each held (point estimates), and on "
        "the WERs pooled over seeds, with the interval over seeds and segments:",
        "",
        "| Claim | Held on dev | Pooled dev | Dev 95 % interval | | Held on test | Pooled test "
        "| Test 95 % interval | |",
        "|---|--:|--:|--:|:-:|--:|--:|--:|:-:|",
    ]
    for i, claim in enumerate(pooled["test"]):
        cols = []
        for s in EVAL_SPLITS:
            held = sum(claims[s][i].holds is True for claims in per_seed)
            c = pooled[s][i]
            cols += [f"{held}/{n}", c.ours, c.interval or MISSING, c.mark]
        lines.append(f"| {claim.text} | " + " | ".join(cols) + " |")
    return [
        *lines,
        "",
        _verdict_note(boot, seeds=n),
        "",
        f"![Non-overlapped WER by depth over the seeds]({SEEDS_PLOT})",
        "",
    ]


def variants_section(
    runs: list[RunResult],
    method: str,
    learning_cer: float,
    paper: PaperTable,
    boot: BootstrapConfig | None,
) -> list[str]:
    """The claims under every training variant (run tag without its ``_seed<N>`` suffix) that
    has a complete grid, side by side, each pooled over its complete seeds' grids, with the
    variant's mean dev WER over its models and seeds and its untrained models: what
    docs/training.md's rule for choosing the recipe reads. Empty with fewer than two."""
    cells = [(m, "", n) for m, n in paper.cells]
    grids: dict[str, list[dict[Key, RunResult]]] = {}
    for variant in sorted({variant_of(r.tag) for r in runs}):
        by_seed = seed_grids(runs, variant)
        complete = [by_seed[s] for s in sorted(by_seed) if all(c in by_seed[s] for c in cells)]
        if complete:
            grids[variant] = complete
    if len(grids) < 2:
        return []
    claims = {
        variant: [_grid_claims(g, s, method, learning_cer, paper, boot) for s in EVAL_SPLITS]
        for variant, g in grids.items()
    }
    names = [f"`{variant}`" if variant else "default" for variant in grids]
    lines = [
        f"## The claims by training variant (`{method}`, verdicts dev / test, pooled over each "
        "variant's seeds)",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + ":-:|" * len(grids),
        "| seeds | " + " | ".join(str(len(g)) for g in grids.values()) + " |",
    ]
    for i, spec in enumerate(next(iter(claims.values()))[0]):
        marks = [f"{dev[i].mark} / {test[i].mark}" for dev, test in claims.values()]
        lines.append(f"| {spec.text} | " + " | ".join(marks) + " |")
    means = []
    for seeds in grids.values():
        values = [wer_of(grid[c], "dev", method) for grid in seeds for c in cells]
        means.append(MISSING if None in values else f"{statistics.mean(values):.2f}")
    untrained = [
        str(sum(is_untrained(grid[c], learning_cer) for grid in seeds for c in cells))
        for seeds in grids.values()
    ]
    return [
        *lines,
        f"| mean dev WER of the {len(cells)} models over the seeds (all segments) | "
        + " | ".join(means)
        + " |",
        "| untrained models (over the seeds) | " + " | ".join(untrained) + " |",
        "",
    ]
