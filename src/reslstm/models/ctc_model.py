"""The acoustic model: front end, LSTM stack, linear output layer and log-softmax for CTC."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .frontend import FrontEnd
from .recurrent import LSTMStack


class CTCModel(nn.Module):
    """``feats [B, T, F]`` -> CTC log-probabilities ``[B, T', V]`` (blank id: the caller's)."""

    def __init__(self, frontend: FrontEnd, encoder: LSTMStack, vocab_size: int) -> None:
        super().__init__()
        self.frontend = frontend
        self.encoder = encoder
        self.output = nn.Linear(encoder.output_size, vocab_size)

    def forward(
        self, feats: Tensor, feat_lens: Tensor, taps: tuple[int, ...] = ()
    ) -> tuple[Tensor, Tensor]:
        """Return ``(log_probs [B, T', V], out_lens [B])``; frames past ``out_lens`` are padding.

        With ``taps`` (layer numbers from 1), ``log_probs`` is ``[len(taps) + 1, B, T', V]``: the
        shared output layer applied to each tapped layer's output, then to the top layer's
        (intermediate CTC, :mod:`reslstm.train.interctc`).
        """
        x, lens = self.frontend(feats, feat_lens)
        if not taps:
            return torch.log_softmax(self.output(self.encoder(x, lens)), dim=-1), lens
        outputs = torch.stack(self.encoder.layer_outputs(x, lens, taps))
        return torch.log_softmax(self.output(outputs), dim=-1), lens

    def set_cmvn(self, mean: Tensor, std: Tensor) -> None:
        """Store global feature statistics (``[F]`` each) in the model's buffers."""
        self.frontend.set_cmvn(mean, std)

    def output_lengths(self, feat_lens: Tensor) -> Tensor:
        """Output frames ``T'`` for ``feat_lens`` input frames."""
        return self.frontend.output_lengths(feat_lens)

    def min_input_frames(self, num_tokens: int) -> int:
        """Fewest input frames giving at least ``num_tokens`` output frames.

        CTC also needs a blank between repeated labels: pass ``len(tokens) + repeats`` to be exact.
        """
        return max(num_tokens, 1) * self.frontend.subsampling

    def layer_groups(self) -> list[tuple[str, list[nn.Parameter]]]:
        """Trainable parameters by depth: ("frontend"), "layer1" ... "layerN", "output".

        Groups without trainable parameters are left out (the front end has none: its CMVN
        statistics are buffers and frame stacking has no weights).
        """
        modules = [("frontend", self.frontend)]
        modules += [(f"layer{i + 1}", m) for i, m in enumerate(self.encoder.layers)]
        modules.append(("output", self.output))
        groups = [(name, [p for p in m.parameters() if p.requires_grad]) for name, m in modules]
        return [(name, params) for name, params in groups if params]
