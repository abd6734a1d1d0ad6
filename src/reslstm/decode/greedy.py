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
    return [ids for ids, _ in greedy_search_timed(log_probs, lengths, blank_id)]


def greedy_search_timed(
    log_probs: torch.Tensor, lengths: torch.Tensor, blank_id: int = 0
) -> list[tuple[list[int], list[int]]]:
    """Like :func:`greedy_search`, with the frame each kept token was first emitted in."""
    best = log_probs.argmax(dim=-1).cpu()
    hyps = []
    for frames, length in zip(best, lengths.tolist(), strict=True):
        path = frames[: int(length)]
        if len(path) == 0:
            hyps.append(([], []))
            continue
        starts = torch.ones_like(path, dtype=torch.bool)
        starts[1:] = path[1:] != path[:-1]  # first frame of each run of the same token
        keep = starts & (path != blank_id)
        hyps.append((path[keep].tolist(), keep.nonzero().flatten().tolist()))
    return hyps
