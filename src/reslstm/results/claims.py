"""The paper's Tables 1 and 2 and their claims, checked against our numbers.

Each claim is one entry of :data:`CLAIMS`: its text, the paper's figure, and the conditions
(inequalities on relative WER changes) that decide it. A condition's statistic is computed on
the observed WERs (the point estimate, ✓ / ✗) and, when bootstrap draws are given
(results/bootstrap.py), on every draw: its 95 % interval then gives a three-valued verdict,
✓ (holds with confidence), ≈ (the interval spans the threshold) or ✗ (the opposite holds with
confidence). A claim holds when all its conditions do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from reslstm.results.bootstrap import percentile_interval

PLAIN, HIGHWAY, RESIDUAL = "plain_lstm", "highway_lstm", "residual_lstm"
PAPER_MODELS = (PLAIN, HIGHWAY, RESIDUAL)
PAPER_DEPTHS = (3, 5, 10)
# Table 1 of the paper (AMI SDM): (model, layers) -> (WER overlapped, WER non-overlapped), %.
PAPER_TABLE1: dict[tuple[str, int], tuple[float, float]] = {
    (PLAIN, 3): (51.1, 42.4),
    (PLAIN, 5): (51.4, 42.5),
    (PLAIN, 10): (56.3, 48.2),
    (HIGHWAY, 3): (50.8, 42.2),
    (HIGHWAY, 5): (51.0, 42.2),
    (HIGHWAY, 10): (53.5, 44.8),
    (RESIDUAL, 3): (50.8, 41.9),
    (RESIDUAL, 5): (50.0, 41.4),
    (RESIDUAL, 10): (50.0, 41.0),
}
# Table 2 (AMI SDM + IHM pooled training, tested on SDM); the paper trained no plain LSTM here.
PAPER_TABLE2: dict[tuple[str, int], tuple[float, float]] = {
    (HIGHWAY, 3): (51.3, 42.3),
    (HIGHWAY, 5): (49.5, 40.7),
    (HIGHWAY, 10): (52.1, 43.4),
    (RESIDUAL, 3): (50.8, 41.9),
    (RESIDUAL, 5): (49.4, 40.5),
    (RESIDUAL, 10): (48.7, 39.3),
}
BASELINE_SPREAD = 10.0  # % relative: how close the three 3-layer baselines should land

Cell = tuple[str, int]  # (model, layers)


@dataclass(frozen=True)
class PaperTable:
    """One of the paper's result tables: what it trained on, its models and its WERs."""

    name: str  # "Table 1"
    training: str  # the training data, as the paper describes it
    models: tuple[str, ...]
    wer: Mapping[Cell, tuple[float, float]]  # (WER overlapped, WER non-overlapped), %

    @property
    def cells(self) -> list[Cell]:
        return [(m, n) for m in self.models for n in PAPER_DEPTHS]

    def non_overlapped(self, cell: Cell) -> float:
        return self.wer[cell][1]


TABLE1 = PaperTable("Table 1", "AMI SDM", PAPER_MODELS, PAPER_TABLE1)
TABLE2 = PaperTable(
    "Table 2", "AMI SDM + IHM pooled, tested on SDM", (HIGHWAY, RESIDUAL), PAPER_TABLE2
)
COUNTS = {6: "six", 9: "nine"}  # "the best of the nine"
HOLDS, UNSURE, FAILS, MISSING = "✓", "≈", "✗", "–"
Value = float | np.ndarray  # one WER (or statistic), or one per bootstrap draw
Wers = Mapping[Cell, Value]  # non-overlapped WER by cell


@dataclass(frozen=True)
class Condition:
    """One inequality a claim needs: ``statistic(wer) > threshold`` (``above``) or
    ``statistic(wer) <= threshold`` (not ``above``)."""

    label: str
    statistic: Callable[[Wers], Value]
    above: bool
    threshold: float = 0.0
    pair: tuple[Cell, Cell] | None = None  # (new, base) when it compares two systems' WERs

    def holds(self, value: float) -> bool:
        return value > self.threshold if self.above else value <= self.threshold

    def verdict(self, low: float, high: float) -> str:
        """✓ when the whole interval satisfies the condition, ✗ when the whole interval
        satisfies its negation, ≈ when it spans the threshold."""
        if self.holds(low) and self.holds(high):
            return HOLDS
        if not self.holds(low) and not self.holds(high):
            return FAILS
        return UNSURE


@dataclass(frozen=True)
class ClaimSpec:
    """A claim of the paper as data: what it says, the cells it reads, how the paper's figure
    and ours are written, and the conditions that decide it."""

    text: str
    cells: tuple[Cell, ...]
    conditions: tuple[Condition, ...]
    describe: Callable[[Wers], str]  # our figure, from our WERs
    paper_figure: Callable[[Wers], str] | None = None  # from the paper's WERs; None: describe


@dataclass(frozen=True)
class Claim:
    """One claim checked: the paper's figure, ours, the point verdict ``holds`` (``None`` when a
    number it needs is missing; an untrained model counts as missing *and* failing, shown as ✗
    with the reason) and, with bootstrap draws, the interval verdict and the interval of the
    condition that decides it."""

    text: str
    paper: str
    ours: str
    holds: bool | None
    verdict: str | None = None  # ✓ / ≈ / ✗ from the intervals; None without draws
    interval: str = ""

    @property
    def mark(self) -> str:
        """The interval verdict when there is one, else the point verdict."""
        if self.verdict is not None:
            return self.verdict
        return {True: HOLDS, False: FAILS, None: MISSING}[self.holds]


def rel(new: float | None, base: float | None) -> float | None:
    """Relative change of ``new`` over ``base`` in percent (``None`` if either is missing)."""
    return None if new is None or not base else 100.0 * (new - base) / base


def _pct(value: float | None) -> str:
    return MISSING if value is None else f"{value:+.1f} %"


def rel_change(new: Cell, base: Cell) -> Callable[[Wers], Value]:
    """The statistic: relative WER change of ``new`` over ``base`` in percent."""
    return lambda w: 100.0 * (w[new] / w[base] - 1.0)


def spread_of(cells: tuple[Cell, ...]) -> Callable[[Wers], Value]:
    """The statistic: (max - min) / min of the cells' WERs, in percent."""

    def spread(w: Wers) -> Value:
        values = np.stack([np.asarray(w[c], dtype=np.float64) for c in cells])
        return 100.0 * (values.max(axis=0) - values.min(axis=0)) / values.min(axis=0)

    return spread


def _name(cell: Cell) -> str:
    return f"{cell[0].split('_')[0]} {cell[1]}"


P3, P10 = (PLAIN, 3), (PLAIN, 10)
H3, H10 = (HIGHWAY, 3), (HIGHWAY, 10)
R3, R5, R10 = (RESIDUAL, 3), (RESIDUAL, 5), (RESIDUAL, 10)
BASELINES = (P3, H3, R3)


def worse_than(deep: Cell, base: Cell) -> Condition:
    """``deep`` has a higher WER than ``base``."""
    label = f"{_name(deep)} vs {base[1]}"
    return Condition(label, rel_change(deep, base), above=True, pair=(deep, base))


def no_worse_than(new: Cell, base: Cell, label: str = "") -> Condition:
    """``new`` has a WER no higher than ``base``'s."""
    label = label or f"{_name(new)} vs {base[1]}"
    return Condition(label, rel_change(new, base), above=False, pair=(new, base))


def _plain_deeper_worse(paper: PaperTable) -> ClaimSpec | None:
    if PLAIN not in paper.models:
        return None
    return ClaimSpec(
        "plain 10 layers worse than plain 3",
        (P10, P3),
        (worse_than(P10, P3),),
        lambda w: _pct(rel(w[P10], w[P3])),
    )


def _highway_deeper_worse(paper: PaperTable) -> ClaimSpec:
    if PLAIN not in paper.models:  # Table 2 trained no plain LSTM
        return ClaimSpec(
            "highway 10 layers worse than highway 3",
            (H10, H3),
            (worse_than(H10, H3),),
            lambda w: _pct(rel(w[H10], w[H3])),
        )
    by_less = Condition(
        "plain minus highway change",
        lambda w: rel_change(P10, P3)(w) - rel_change(H10, H3)(w),
        above=True,
    )
    return ClaimSpec(
        "highway 10 layers worse than highway 3, by less than plain",
        (H10, H3, P10, P3),
        (worse_than(H10, H3), by_less),
        lambda w: f"{_pct(rel(w[H10], w[H3]))} vs plain {_pct(rel(w[P10], w[P3]))}",
    )


def _residual_no_worse(deep: Cell) -> Callable[[PaperTable], ClaimSpec]:
    def spec(paper: PaperTable) -> ClaimSpec:
        return ClaimSpec(
            f"residual {deep[1]} layers no worse than residual 3",
            (deep, R3),
            (no_worse_than(deep, R3),),
            lambda w: _pct(rel(w[deep], w[R3])),
        )

    return spec


def _residual_best(paper: PaperTable) -> ClaimSpec:
    grid = tuple(paper.cells)
    others = tuple(c for c in grid if c != R10)

    def describe(w: Wers) -> str:
        best = min(grid, key=lambda c: w[c])
        return f"best: {best[0]} L{best[1]} ({w[best]:.2f})"

    return ClaimSpec(
        f"residual 10 layers the best of the {COUNTS[len(grid)]}",
        grid,
        tuple(no_worse_than(R10, c, f"residual 10 vs {_name(c)}") for c in others),
        describe,
        lambda w: f"{w[R10]:.1f} %",
    )


def _residual_below_baselines(paper: PaperTable) -> ClaimSpec | None:
    if PLAIN not in paper.models:
        return None
    return ClaimSpec(
        "residual 10 layers below the 3-layer plain / highway baselines",
        (R10, P3, H3),
        tuple(no_worse_than(R10, c, f"residual 10 vs {_name(c)}") for c in (P3, H3)),
        lambda w: f"{_pct(rel(w[R10], w[P3]))} / {_pct(rel(w[R10], w[H3]))}",
    )


def _baselines_close(paper: PaperTable) -> ClaimSpec | None:
    if PLAIN not in paper.models:
        return None

    def describe(w: Wers) -> str:
        values = ", ".join(f"{w[c]:.2f}" for c in BASELINES)
        return f"{float(spread_of(BASELINES)(w)):.1f} % ({values})"

    return ClaimSpec(
        f"3-layer baselines within {BASELINE_SPREAD:.0f} % of each other",
        BASELINES,
        (Condition("spread", spread_of(BASELINES), above=False, threshold=BASELINE_SPREAD),),
        describe,
        lambda w: f"{float(spread_of(BASELINES)(w)):.1f} %",
    )


# The claims on WER, in the order the table lists them; each entry gives the claim for a paper
# table (None where that table lacks the models it needs). Adding a claim is one entry here.
CLAIMS: list[Callable[[PaperTable], ClaimSpec | None]] = [
    _plain_deeper_worse,
    _highway_deeper_worse,
    _residual_no_worse(R5),
    _residual_no_worse(R10),
    _residual_best,
    _residual_below_baselines,
    _baselines_close,
]


def claim_specs(paper: PaperTable) -> list[ClaimSpec]:
    """The WER claims that ``paper`` makes."""
    return [spec for make in CLAIMS if (spec := make(paper)) is not None]


def _paper_figure(spec: ClaimSpec, paper: PaperTable) -> str:
    wer = {c: paper.non_overlapped(c) for c in paper.cells}
    return (spec.paper_figure or spec.describe)(wer)


def _interval_verdict(
    spec: ClaimSpec, draws: Mapping[Cell, np.ndarray], confidence: float
) -> tuple[str, str]:
    """The claim's verdict from its conditions' intervals, and the deciding one's interval."""
    rank = {FAILS: 0, UNSURE: 1, HOLDS: 2}
    judged = []
    for cond in spec.conditions:
        low, high = percentile_interval(np.asarray(cond.statistic(draws)), confidence)
        margin = min(abs(low - cond.threshold), abs(high - cond.threshold))
        judged.append((rank[cond.verdict(low, high)], margin, cond, low, high))
    verdict_rank, _, cond, low, high = min(judged, key=lambda j: (j[0], j[1]))
    return [FAILS, UNSURE, HOLDS][verdict_rank], f"{cond.label}: [{low:+.1f}, {high:+.1f}] %"


def check_claims(
    wer: Mapping[Cell, float | None],
    params: Mapping[Cell, float | None],
    untrained: frozenset[Cell] = frozenset(),
    paper: PaperTable = TABLE1,
    draws: Mapping[Cell, np.ndarray] | None = None,
    confidence: float = 95.0,
) -> list[Claim]:
    """The claims of ``paper`` on ``wer`` (non-overlapped WER by cell) and ``params``.

    Each claim's paper figure is computed from the paper's table the way ours is from ``wer``.
    ``untrained`` cells (models that never left the CTC blank plateau) make every claim that
    needs them fail with the reason given. ``draws`` (each cell's WER per bootstrap draw, as
    :func:`reslstm.results.bootstrap.bootstrap_wers` gives them) add each claim's
    ``confidence`` % interval and three-valued verdict.
    """
    claims = []
    for spec in claim_specs(paper):
        figure = _paper_figure(spec, paper)
        bad = [c for c in spec.cells if c in untrained]
        if bad:
            names = ", ".join(f"{m} L{n}" for m, n in bad)
            verdict = None if draws is None else FAILS
            claims.append(Claim(spec.text, figure, f"untrained: {names}", False, verdict))
            continue
        if any(wer.get(c) is None for c in spec.cells):
            claims.append(Claim(spec.text, figure, MISSING, None))
            continue
        point = {c: float(wer[c]) for c in spec.cells}
        holds = all(cond.holds(float(cond.statistic(point))) for cond in spec.conditions)
        verdict, interval = None, ""
        if draws is not None and all(c in draws for c in spec.cells):
            verdict, interval = _interval_verdict(spec, draws, confidence)
        claims.append(Claim(spec.text, figure, spec.describe(point), holds, verdict, interval))
    claims.append(_params_claim(params))
    return claims


def _params_claim(params: Mapping[Cell, float | None]) -> Claim:
    """Residual has >10 % fewer parameters than highway at every depth both were trained at
    (exact counts: no interval, the verdict is the point one)."""
    text, paper = "residual has >10 % fewer parameters than highway (equal depth)", "≈ -10 %"
    depths = sorted(
        n for (m, n), v in params.items() if m == RESIDUAL and v and params.get((HIGHWAY, n))
    )
    if not depths:
        return Claim(text, paper, MISSING, None)
    changes = {n: rel(params[(RESIDUAL, n)], params[(HIGHWAY, n)]) for n in depths}
    ours = ", ".join(f"L{n}: {_pct(c)}" for n, c in changes.items())
    return Claim(text, paper, ours, all(c < -10.0 for c in changes.values()))
