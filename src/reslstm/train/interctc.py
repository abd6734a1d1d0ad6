"""Intermediate CTC (Lee & Watanabe, ICASSP 2021): the CTC loss on lower layers' outputs too.

The model's one output layer also reads every ``train.interctc_every``-th layer below the top;
training minimises ``(1 - w) * L_top + w * mean(L_tapped)`` with ``w = train.interctc_weight``.
The dev loss, the stopping rule and decoding use the top layer only. Why the recipe needs it:
docs/training.md.
"""

from __future__ import annotations

from torch import Tensor


def interctc_taps(num_layers: int, every: int, weight: float) -> tuple[int, ...]:
    """Layers (numbered from 1) whose outputs get a CTC loss: every ``every``-th below the top.

    Raises ``ValueError`` for a negative ``every`` or a ``weight`` outside [0, 1).

    >>> [interctc_taps(n, k, 0.5) for n, k in ((10, 3), (5, 3), (3, 3), (10, 0))]
    [(3, 6, 9), (3,), (), ()]
    """
    if every < 0:
        raise ValueError(f"train.interctc_every must be >= 0, got {every}")
    if not 0 <= weight < 1:
        raise ValueError(f"train.interctc_weight must be in [0, 1), got {weight}")
    return tuple(range(every, num_layers, every)) if every else ()


def interctc_loss(top: Tensor, tap_losses: list[Tensor], weight: float) -> Tensor:
    """``(1 - weight) * top + weight * mean(tap_losses)``; just ``top`` without taps."""
    if not tap_losses:
        return top
    return (1 - weight) * top + weight * sum(tap_losses) / len(tap_losses)
