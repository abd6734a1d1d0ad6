"""Which frames of a padded batch are real."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Padding:
    """Where the real frames are: ``mask[t, b]`` is true on real frames (time-major)."""

    lengths: Tensor  # [B] long, on the CPU
    mask: Tensor  # [T, B, 1] bool, on the data's device
    min_len: int  # every sequence is real for t < min_len: no masking needed there

    @classmethod
    def from_lengths(cls, lengths: Tensor, max_len: int, device: torch.device) -> Padding:
        lengths = lengths.detach().to("cpu", torch.long)
        steps = torch.arange(max_len).unsqueeze(1)
        mask = (steps < lengths.unsqueeze(0)).unsqueeze(-1).to(device)
        return cls(lengths, mask, int(lengths.min()) if len(lengths) else 0)

    @classmethod
    def unpadded(cls, batch: int, steps: int, device: torch.device) -> Padding:
        """Every frame of every sequence real (a stream's chunk)."""
        return cls.from_lengths(torch.full((batch,), steps), steps, device)
