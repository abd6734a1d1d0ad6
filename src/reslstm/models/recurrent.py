"""The shared skeleton: deep (optionally bidirectional) stacks of any cell in :mod:`.cells`.

Owns everything that is not cell equations: time-major layout, the time loop, carrying a
stream's state between calls, masking of padded frames (the state is frozen past each
sequence's length and padded outputs are zero, so padding never changes the outputs of real
frames, in either direction), dropout between layers, the wiring of the highway depth path and
of the residual shortcut, and the choice of implementation for the loop:

* ``loop``: eager autograd through a Python time loop (the reference; any device, any cell).
* ``fused``: the same loop without autograd bookkeeping and a hand-written backward
  (:mod:`.fused`); same numbers, several times faster on CPU.
* ``torch_lstm``: ``torch.nn.LSTM``'s kernel (:mod:`.torch_lstm`), only for plain cells without
  peepholes; it reads the very same parameters.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .cells import LSTMCellBase, initial_state
from .fused import fused_recurrence
from .padding import Padding
from .params import layer_specs
from .registry import get_cell_type
from .torch_lstm import torch_lstm_layer, torch_lstm_stream

IMPLS = ("loop", "fused", "torch_lstm")
State = tuple[Tensor, Tensor]  # (h, c) of one layer after a stream's frames so far


def loop_recurrence(
    cell: LSTMCellBase,
    pre: Tensor,
    aux: Tensor | None,
    pad: Padding,
    reverse: bool,
    state: tuple[Tensor, Tensor] | None = None,
) -> tuple[Tensor, Tensor]:
    """Run ``cell.step`` over time with eager autograd from ``state`` (``(h_0, c_0)``; zeros
    when ``None``); return the ``(h, c)`` sequences."""
    steps = pre.shape[0]
    h, c = initial_state(cell, pre, state)
    hs: list[Tensor] = [h] * steps
    cs: list[Tensor] = [c] * steps
    for t in range(steps - 1, -1, -1) if reverse else range(steps):
        h_new, c_new = cell.step(pre[t], None if aux is None else aux[t], h, c)
        if t >= pad.min_len:  # some sequences have ended: freeze their state
            h_new = torch.where(pad.mask[t], h_new, h)
            c_new = torch.where(pad.mask[t], c_new, c)
        h, c = h_new, c_new
        hs[t], cs[t] = h, c
    return torch.stack(hs), torch.stack(cs)


class LSTMLayer(nn.Module):
    """One layer: one cell per direction; outputs of the directions are concatenated.
    ``kernel`` is the cells' fused kernel (``impl="fused"``)."""

    def __init__(self, cells: list[LSTMCellBase], impl: str, kernel: type | None = None) -> None:
        super().__init__()
        self.cells = nn.ModuleList(cells)
        self.impl = impl
        self.kernel = kernel

    def forward(
        self, x: Tensor, lower_cells: list[Tensor] | None, pad: Padding
    ) -> tuple[Tensor, list[Tensor]]:
        """``x``: ``[T, B, F]``; ``lower_cells``: the lower layer's cell sequence per direction.

        Returns the output ``[T, B, D * n_p]`` (zero on padded frames) and the cell sequence of
        each direction (for a highway layer above).
        """
        if self.impl == "torch_lstm":
            return torch_lstm_layer(self.cells, x, pad)
        outs, cells = [], []
        for direction, cell in enumerate(self.cells):
            lower = None if lower_cells is None else lower_cells[direction]
            pre, aux = cell.input_side(x, lower)
            if self.impl == "fused":
                h, c = fused_recurrence(cell, self.kernel, pre, aux, pad, reverse=direction == 1)
            else:
                h, c = loop_recurrence(cell, pre, aux, pad, reverse=direction == 1)
            outs.append(h)
            cells.append(c)
        out = outs[0] if len(outs) == 1 else torch.cat(outs, dim=-1)
        return out * pad.mask, cells

    def stream(
        self, x: Tensor, lower: Tensor | None, state: State | None
    ) -> tuple[Tensor, Tensor | None, State]:
        """One unidirectional layer on the next frames ``x`` ``[T, B, F]`` of a stream (no
        padding), from ``state``, the ``(h, c)`` the previous frames left (``None``: the start).

        Returns the output ``[T, B, n_p]``, the cell sequence (``None`` for ``torch_lstm``,
        whose plain cells feed no highway layer) and the state after the last frame.
        """
        (cell,) = self.cells
        if self.impl == "torch_lstm":
            return torch_lstm_stream(cell, x, state)
        pad = Padding.unpadded(x.shape[1], x.shape[0], x.device)
        pre, aux = cell.input_side(x, lower)
        if self.impl == "fused":
            h, c = fused_recurrence(cell, self.kernel, pre, aux, pad, False, state)
        else:
            h, c = loop_recurrence(cell, pre, aux, pad, False, state)
        return h, c, (h[-1], c[-1])


class LSTMStack(nn.Module):
    """``num_layers`` layers of one cell type with dropout between layers (batch-first API).

    Every setting is required: :func:`reslstm.models.build_model` passes the ``model`` config's.
    """

    def __init__(
        self,
        cell: str,
        num_layers: int,
        input_size: int,
        cell_size: int,
        proj_size: int,
        *,
        peepholes: bool,
        bidirectional: bool,
        dropout: float,
        residual_output_peephole: str,
        impl: str,
        init: str,
    ) -> None:
        super().__init__()
        if impl not in IMPLS:
            raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
        self.cell_type = get_cell_type(cell)
        self.num_directions = 2 if bidirectional else 1
        self.output_size = self.num_directions * proj_size
        specs = layer_specs(
            num_layers, input_size, cell_size, proj_size, peepholes, bidirectional,
            residual_output_peephole,
        )  # fmt: skip
        layers = []
        for layer in specs:
            cells = [self.cell_type.make(spec) for spec in layer]
            kernel = self.cell_type.kernels.get(type(cells[0]))
            if impl == "fused" and kernel is None:
                raise ValueError(f"impl=fused: cell {cell!r} has no fused kernel (use loop)")
            layers.append(LSTMLayer(cells, impl, kernel))
        self.layers = nn.ModuleList(layers)
        self.dropout = nn.Dropout(dropout)
        for module in self.modules():
            if isinstance(module, LSTMCellBase):
                module.reset_parameters(init)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """``x``: ``[B, T, F]``, ``lengths``: ``[B]`` -> ``[B, T, D * n_p]`` (zero past lengths)."""
        return self.layer_outputs(x, lengths, ())[-1]

    def layer_outputs(self, x: Tensor, lengths: Tensor, taps: tuple[int, ...]) -> list[Tensor]:
        """The outputs of the layers numbered (from 1) in ``taps``, then the top layer's output,
        each in :meth:`forward`'s layout."""
        pad = Padding.from_lengths(lengths, x.shape[1], x.device)
        x = x.transpose(0, 1)
        lower_cells: list[Tensor] | None = None
        outputs: list[Tensor] = []
        for index, layer in enumerate(self.layers):
            if index > 0:
                x = self.dropout(x)  # dropout between layers only
            x, cells = layer(x, lower_cells if self.cell_type.reads_lower_cell else None, pad)
            lower_cells = cells
            if index + 1 in taps:
                outputs.append(x.transpose(0, 1))
        return [*outputs, x.transpose(0, 1)]

    def stream(self, x: Tensor, states: list[State] | None) -> tuple[Tensor, list[State]]:
        """The next frames ``x`` ``[B, T, F]`` of a stream (no padding) through a unidirectional
        stack, from ``states`` (each layer's ``(h, c)`` after the previous frames; ``None``: the
        start): returns the top layer's output ``[B, T, n_p]`` and the states after the last
        frame. Feeding a sequence in pieces gives the outputs of feeding it whole."""
        if self.num_directions != 1:
            raise ValueError("a bidirectional stack reads the future: it cannot stream")
        x = x.transpose(0, 1)
        lower: Tensor | None = None
        new_states: list[State] = []
        for index, layer in enumerate(self.layers):
            if index > 0:
                x = self.dropout(x)
            x, lower, state = layer.stream(
                x,
                lower if self.cell_type.reads_lower_cell else None,
                None if states is None else states[index],
            )
            new_states.append(state)
        return x.transpose(0, 1), new_states
