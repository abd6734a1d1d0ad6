"""The claims of a grid of runs (one seed, or several pooled), with bootstrap intervals.

Reads each run's ``decode/<split>_<method>/per_utt.tsv`` (per-segment word errors and the
overlap flag that stage 5 writes), keeps the non-overlapped segments that every run scored, and
bootstraps them (results/bootstrap.py) into each claim's interval and ✓ / ≈ / ✗ verdict
(results/claims.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reslstm.layout import RunDir
from reslstm.results.bootstrap import Draws, aligned_errors, bootstrap_wers, read_per_utt
from reslstm.results.claims import Cell, Claim, PaperTable, check_claims
from reslstm.results.runs import RunResult


@dataclass(frozen=True)
class BootstrapConfig:
    """``score.bootstrap_*`` and ``score.confidence`` (conf/score/default.yaml)."""

    samples: int = 5000
    seed: int = 2004
    confidence: float = 95.0


DEFAULT_BOOTSTRAP = BootstrapConfig()


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
