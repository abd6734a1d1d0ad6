"""The paper's Table 1 and its claims, checked against our numbers (✓ / ✗ per claim)."""

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
BASELINE_SPREAD = 10.0  # % relative: how close the three 3-layer baselines should land

Cell = tuple[str, int]  # (model, layers)


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
) -> list[Claim]:
    """The paper's claims on ``wer`` (non-overlapped WER by cell) and ``params``.

    ``untrained`` cells (models that never left the CTC blank plateau) make every claim that
    needs them fail with the reason given.
    """

    def claim(
        text: str, paper: str, cells: list[Cell], test: Callable[[], tuple[bool, str]]
    ) -> Claim:
        bad = [c for c in cells if c in untrained]
        if bad:
            names = ", ".join(f"{m} L{n}" for m, n in bad)
            return Claim(text, paper, f"untrained: {names}", False)
        if any(wer.get(c) is None for c in cells):
            return Claim(text, paper, "–", None)
        holds, ours = test()
        return Claim(text, paper, ours, holds)

    w = wer.get
    p3, p10 = (PLAIN, 3), (PLAIN, 10)
    h3, h10 = (HIGHWAY, 3), (HIGHWAY, 10)
    r3, r5, r10 = (RESIDUAL, 3), (RESIDUAL, 5), (RESIDUAL, 10)
    grid = [(m, n) for m in PAPER_MODELS for n in PAPER_DEPTHS]

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

    def baselines_close() -> tuple[bool, str]:
        values = [w(p3), w(h3), w(r3)]
        spread = 100.0 * (max(values) - min(values)) / min(values)
        return (
            spread <= BASELINE_SPREAD,
            f"{spread:.1f} % ({', '.join(f'{v:.2f}' for v in values)})",
        )

    claims = [
        claim("plain 10 layers worse than plain 3", "+13.7 %", [p10, p3], lambda: worse(p10, p3)),
        claim(
            "highway 10 layers worse than highway 3, by less than plain",
            "+6.2 % vs +13.7 %",
            [h10, h3, p10, p3],
            highway_less_than_plain,
        ),
        claim(
            "residual 5 layers no worse than residual 3", "-1.2 %", [r5, r3], lambda: no_worse(r5)
        ),
        claim(
            "residual 10 layers no worse than residual 3",
            "-2.1 %",
            [r10, r3],
            lambda: no_worse(r10),
        ),
        claim("residual 10 layers the best of the nine", "41.0 %", grid, best_of_all),
        claim(
            "residual 10 layers below the 3-layer plain / highway baselines",
            "-3.3 % / -2.8 %",
            [r10, p3, h3],
            below_baselines,
        ),
        claim(
            f"3-layer baselines within {BASELINE_SPREAD:.0f} % of each other",
            "1.2 %",
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
