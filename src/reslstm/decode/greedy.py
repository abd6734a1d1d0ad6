"""Greedy (best-path) CTC decoding."""

from __future__ import annotations

import torch


def greedy_search(
    log_probs: torch.Tensor, lengths: torch.Tensor, blank_id: int = 0
) -> list[list[int]]:
    """Best-path token ids per utterance: frame argmax, repeats collapsed, blanks dropped.

    ``log_probs`` is ``[B, T, V]`` (any monotone scores work); frames past ``lengths[b]`` are
    ignored.
    """
    best = log_probs.argmax(dim=-1).cpu()
    hyps = []
    for frames, length in zip(best, lengths.tolist(), strict=True):
        ids = torch.unique_consecutive(frames[: int(length)])
        hyps.append([i for i in ids.tolist() if i != blank_id])
    return hyps
