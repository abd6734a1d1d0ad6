"""The paper's Tables 1 and 2 and their claims, checked against our numbers (✓ / ✗ per claim)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Claim:
    """One claim of the paper: what it says, the paper's figure, ours, and whether it holds.

    ``holds`` is ``None`` when a number it needs is missing; an untrained model counts as
    missing *and* failing (it is shown as ✗ with the reason), never as a pass.
    """

    text: str
    paper: str
    ours: str
    holds: bool | None

    @property
    def mark(self) -> str:
        return {True: "✓", False: "✗", None: "–"}[self.holds]


def rel(new: float | None, base: float | None) -> float | None:
    """Relative change of ``new`` over ``base`` in percent (``None`` if either is missing)."""
    return None if new is None or not base else 100.0 * (new - base) / base


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:+.1f} %"


def check_claims(
    wer: Mapping[Cell, float | None],
    params: Mapping[Cell, float | None],
    untrained: frozenset[Cell] = frozenset(),
    paper: PaperTable = TABLE1,
) -> list[Claim]:
    """The claims of ``paper`` on ``wer`` (non-overlapped WER by cell) and ``params``.

    Each claim's paper figure is computed from the paper's table the way ours is from ``wer``.
    Plain LSTM claims (and the 3-layer baselines') only where the table has plain LSTMs.
    ``untrained`` cells (models that never left the CTC blank plateau) make every claim that
    needs them fail with the reason given.
    """

    def claim(
        text: str, paper_text: str, cells: list[Cell], test: Callable[[], tuple[bool, str]]
    ) -> Claim:
        bad = [c for c in cells if c in untrained]
        if bad:
            names = ", ".join(f"{m} L{n}" for m, n in bad)
            return Claim(text, paper_text, f"untrained: {names}", False)
        if any(wer.get(c) is None for c in cells):
            return Claim(text, paper_text, "–", None)
        holds, ours = test()
        return Claim(text, paper_text, ours, holds)

    w, pw = wer.get, paper.non_overlapped
    p3, p10 = (PLAIN, 3), (PLAIN, 10)
    h3, h10 = (HIGHWAY, 3), (HIGHWAY, 10)
    r3, r5, r10 = (RESIDUAL, 3), (RESIDUAL, 5), (RESIDUAL, 10)
    grid = paper.cells
    with_plain = PLAIN in paper.models

    def paper_rel(new: Cell, base: Cell) -> str:
        return _pct(rel(pw(new), pw(base)))

    def worse(deep: Cell, base: Cell) -> tuple[bool, str]:
        change = rel(w(deep), w(base))
        return change > 0, _pct(change)

    def highway_less_than_plain() -> tuple[bool, str]:
        hw, pl = rel(w(h10), w(h3)), rel(w(p10), w(p3))
        return 0 < hw < pl, f"{_pct(hw)} vs plain {_pct(pl)}"

    def no_worse(deep: Cell) -> tuple[bool, str]:
        change = rel(w(deep), w(r3))
        return change <= 0, _pct(change)

    def best_of_all() -> tuple[bool, str]:
        present = [c for c in grid if w(c) is not None]
        best = min(present, key=lambda c: w(c))
        return best == r10, f"best: {best[0]} L{best[1]} ({w(best):.2f})"

    def below_baselines() -> tuple[bool, str]:
        vs_p, vs_h = rel(w(r10), w(p3)), rel(w(r10), w(h3))
        return vs_p < 0 and vs_h < 0, f"{_pct(vs_p)} / {_pct(vs_h)}"

    def spread(values: list[float]) -> float:
        return 100.0 * (max(values) - min(values)) / min(values)

    def baselines_close() -> tuple[bool, str]:
        values = [w(p3), w(h3), w(r3)]
        return (
            spread(values) <= BASELINE_SPREAD,
            f"{spread(values):.1f} % ({', '.join(f'{v:.2f}' for v in values)})",
        )

    if with_plain:
        claims = [
            claim(
                "plain 10 layers worse than plain 3",
                paper_rel(p10, p3),
                [p10, p3],
                lambda: worse(p10, p3),
            ),
            claim(
                "highway 10 layers worse than highway 3, by less than plain",
                f"{paper_rel(h10, h3)} vs {paper_rel(p10, p3)}",
                [h10, h3, p10, p3],
                highway_less_than_plain,
            ),
        ]
    else:
        claims = [
            claim(
                "highway 10 layers worse than highway 3",
                paper_rel(h10, h3),
                [h10, h3],
                lambda: worse(h10, h3),
            )
        ]
    claims += [
        claim(
            "residual 5 layers no worse than residual 3",
            paper_rel(r5, r3),
            [r5, r3],
            lambda: no_worse(r5),
        ),
        claim(
            "residual 10 layers no worse than residual 3",
            paper_rel(r10, r3),
            [r10, r3],
            lambda: no_worse(r10),
        ),
        claim(
            f"residual 10 layers the best of the {COUNTS[len(grid)]}",
            f"{pw(r10):.1f} %",
            grid,
            best_of_all,
        ),
    ]
    if with_plain:
        claims += [
            claim(
                "residual 10 layers below the 3-layer plain / highway baselines",
                f"{paper_rel(r10, p3)} / {paper_rel(r10, h3)}",
                [r10, p3, h3],
                below_baselines,
            ),
            claim(
                f"3-layer baselines within {BASELINE_SPREAD:.0f} % of each other",
                f"{spread([pw(p3), pw(h3), pw(r3)]):.1f} %",
                [p3, h3, r3],
                baselines_close,
            ),
        ]
    claims.append(_params_claim(params))
    return claims


def _params_claim(params: Mapping[Cell, float | None]) -> Claim:
    """Residual has >10 % fewer parameters than highway at every depth both were trained at."""
    text, paper = "residual has >10 % fewer parameters than highway (equal depth)", "≈ -10 %"
    depths = sorted(
        n for (m, n), v in params.items() if m == RESIDUAL and v and params.get((HIGHWAY, n))
    )
    if not depths:
        return Claim(text, paper, "–", None)
    changes = {n: rel(params[(RESIDUAL, n)], params[(HIGHWAY, n)]) for n in depths}
    ours = ", ".join(f"L{n}: {_pct(c)}" for n, c in changes.items())
    return Claim(text, paper, ours, all(c < -10.0 for c in changes.values()))
