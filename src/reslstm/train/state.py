"""What a training run carries across an interruption besides weights and optimiser, and the
check that every rank of a resumed run continues from the same point."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TrainState:
    """Everything besides weights and optimiser that a resumed run needs to continue exactly."""

    epoch: int = 1  # the epoch in progress (1-based)
    batch_in_epoch: int = 0  # batches of ``epoch`` already trained on
    step: int = 0
    elapsed_s: float = 0.0  # training wall time, summed over interrupted runs
    bad_batches: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    peak_memory: dict[str, float] = field(default_factory=dict)  # MiB, over resumed processes


def resume_mismatch(points: list[tuple], run_dir: Path) -> str | None:
    """The error when the ranks would not continue from one point (None if they all do).

    ``points[r]`` is rank ``r``'s ``(epoch, batch, step, fresh)`` after looking for a checkpoint,
    or ``("error", message)``. A node that sees no checkpoint, or another one, would train other
    batches than the rest: on several nodes the run directory must be on a shared filesystem.
    """
    for rank, point in enumerate(points):
        if point[0] == "error":
            return f"rank {rank}: {point[1]}" if len(points) > 1 else point[1]
    if len(set(points)) <= 1:
        return None

    def where(point: tuple) -> str:
        epoch, batch, step, fresh = point
        return "no checkpoint" if fresh else f"step {step} (epoch {epoch}, batch {batch})"

    ranks = "; ".join(f"rank {r}: {where(p)}" for r, p in enumerate(points))
    return (
        f"the ranks would resume from different points ({ranks}): every node must see the "
        f"same run directory {run_dir}, so put paths.exp_dir on a filesystem shared by all nodes"
    )
