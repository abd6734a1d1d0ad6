"""Front end: global mean/variance normalisation and frame-stacking subsampling."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class FrontEnd(nn.Module):
    """``(feats - cmvn_mean) / cmvn_std``, then concatenate ``subsampling`` frames, stride alike.

    The statistics are buffers, so a trained model carries its normalisation in its state_dict.
    A trailing remainder of fewer than ``subsampling`` frames is dropped.
    """

    def __init__(self, input_dim: int, subsampling: int = 1) -> None:
        super().__init__()
        self.input_dim = input_dim
        self.subsampling = subsampling
        self.output_dim = input_dim * subsampling
        self.register_buffer("cmvn_mean", torch.zeros(input_dim))
        self.register_buffer("cmvn_std", torch.ones(input_dim))

    def set_cmvn(self, mean: Tensor, std: Tensor) -> None:
        """Set the global statistics (``[F]`` each); ``std`` must be positive."""
        if mean.shape != (self.input_dim,) or std.shape != (self.input_dim,):
            raise ValueError(f"CMVN statistics must have shape ({self.input_dim},)")
        if not bool((std > 0).all()):
            raise ValueError("CMVN std must be positive")
        self.cmvn_mean.copy_(mean)
        self.cmvn_std.copy_(std)

    def output_lengths(self, lengths: Tensor) -> Tensor:
        """Frames after subsampling for ``lengths`` input frames."""
        return torch.div(lengths, self.subsampling, rounding_mode="floor")

    def forward(self, feats: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """``[B, T, F]`` -> ``[B, T // k, k * F]`` and the new lengths."""
        x = (feats - self.cmvn_mean) / self.cmvn_std
        k = self.subsampling
        if k > 1:
            batch, steps, dim = x.shape
            x = x[:, : steps // k * k].reshape(batch, steps // k, k * dim)
        return x, self.output_lengths(lengths)
