"""Fast path: run plain cells without peepholes through ``torch.nn.LSTM``'s kernel.

Such a cell computes exactly ``torch.nn.LSTM(input, hidden_size=n_c, proj_size=n_p)`` (gate
order i, f, g, o). Its parameters are handed to the same functional kernel ``nn.LSTM`` calls,
so both implementations share one state_dict. ``nn.LSTM`` has two biases per gate; the second
is passed as zeros, keeping the single bias (and the parameter count) of our cell.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
from torch import _VF, Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from .cells import LSTMCellBase, PlainCell, initial_state

# nn.LSTM's CPU kernel says once that oneDNN has no projection support; it is expected here.
warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")


def supports_torch_lstm(cells: Sequence[nn.Module]) -> bool:
    """True when every cell is a plain cell without peepholes."""
    return all(type(c) is PlainCell and c.peephole is None for c in cells)


def torch_lstm_layer(cells: Sequence[LSTMCellBase], x: Tensor, pad) -> tuple[Tensor, list[Tensor]]:
    """One layer (1 or 2 directions) on ``x`` ``[T, B, F]``; returns ``(out, [])``.

    Unidirectional layers run on the padded batch (padding cannot reach earlier frames);
    bidirectional layers run packed so that the backward direction starts at each real end.
    Padded outputs are zero. No cell sequences are returned (only plain cells run here).
    """
    if not supports_torch_lstm(cells):
        raise ValueError("impl=torch_lstm needs plain cells without peepholes")
    weights: list[Tensor] = []
    for cell in cells:
        zero_bias = torch.zeros_like(cell.bias)
        weights += [cell.weight_ih, cell.weight_hh, cell.bias, zero_bias, cell.weight_proj]
    first = cells[0]
    directions, batch = len(cells), x.shape[1]
    h0 = x.new_zeros(directions, batch, first.proj_size)
    c0 = x.new_zeros(directions, batch, first.cell_size)
    train = first.training
    if directions == 1:
        out = _VF.lstm(x, (h0, c0), weights, True, 1, 0.0, train, False, False)[0]
        return out * pad.mask, []
    packed = pack_padded_sequence(x, pad.lengths, enforce_sorted=False)
    data = _VF.lstm(packed.data, packed.batch_sizes, (h0, c0), weights, True, 1, 0.0, train, True)[
        0
    ]
    out_packed = PackedSequence(
        data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices
    )
    out, _ = pad_packed_sequence(out_packed, total_length=x.shape[0])
    return out, []


def torch_lstm_stream(
    cell: LSTMCellBase, x: Tensor, state: tuple[Tensor, Tensor] | None
) -> tuple[Tensor, None, tuple[Tensor, Tensor]]:
    """One unidirectional layer on the next unpadded frames ``x`` ``[T, B, F]`` of a stream
    from ``state`` (``(h, c)``, ``None``: zeros): ``(out, None, state after)``."""
    if not supports_torch_lstm([cell]):
        raise ValueError("impl=torch_lstm needs plain cells without peepholes")
    weights = [cell.weight_ih, cell.weight_hh, cell.bias, torch.zeros_like(cell.bias)]
    weights.append(cell.weight_proj)
    h0, c0 = initial_state(cell, x, state)
    out, h_n, c_n = _VF.lstm(
        x, (h0[None], c0[None]), weights, True, 1, 0.0, cell.training, False, False
    )
    return out, None, (h_n[0], c_n[0])
