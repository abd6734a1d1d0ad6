"""Initialisation: the glorot scheme's values, and that it keeps a 10-layer stack stable.

The stability checks are the reason the scheme exists (docs/training.md): with the old uniform
init the gradient reaching layer 1 of a plain stack is millions of times smaller than at the
top, and with a zero depth-gate bias the highway cell state grows ~10^7-fold through depth.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
from torch import Tensor

from reslstm.models import LSTMStack
from reslstm.models.cells import DEPTH_GATE_BIAS, HighwayCell, PlainCell
from reslstm.models.padding import Padding


def cells_and_outputs(stack: LSTMStack, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
    """Per layer: the cell sequence and the output ``[T, B, n_p]`` (retaining its gradient)."""
    steps = x.shape[1]
    pad = Padding.from_lengths(torch.full((x.shape[0],), steps), steps, x.device)
    h, lower, cells_per_layer, outs = x.transpose(0, 1), None, [], []
    for layer in stack.layers:
        h, cells = layer(h, lower if stack.cell_type.reads_lower_cell else None, pad)
        lower = cells
        h.retain_grad()
        cells_per_layer.append(cells[0])
        outs.append(h)
    return cells_per_layer, outs


def test_glorot_bounds_each_gate_matrix_and_sets_gate_biases() -> None:
    torch.manual_seed(0)
    cell = HighwayCell(input_size=48, cell_size=32, proj_size=16, peepholes=True)
    bound_x = math.sqrt(6 / (48 + 32))  # each W_x* is 32 x 48
    for gate in cell.gate_rows():
        w = cell.weight_ih[gate].detach()
        assert float(w.abs().max()) <= bound_x
        assert float(w.std()) == pytest.approx(bound_x / math.sqrt(3), rel=0.15)
    assert torch.equal(cell.bias[32:64], torch.ones(32))  # b_f = 1
    assert float(cell.bias[:32].detach().abs().max()) == 0.0  # b_i = 0
    assert torch.equal(cell.bias_d, torch.full((32,), DEPTH_GATE_BIAS))
    cell.reset_parameters("uniform")  # torch.nn.LSTM's scheme leaves b_d uniform
    assert float(cell.bias_d.detach().abs().max()) <= 1 / math.sqrt(32)


def test_plain_cell_has_no_depth_gate() -> None:
    cell = PlainCell(input_size=8, cell_size=4, proj_size=2, peepholes=True)
    assert not hasattr(cell, "bias_d")


@pytest.mark.parametrize("cell", ["plain", "highway", "residual"])
def test_fresh_ten_layer_stack_keeps_cells_and_gradients_in_range(
    cell: str, lstm_stack: Callable[..., LSTMStack]
) -> None:
    torch.manual_seed(0)
    stack = lstm_stack(cell, 10, 48, 32, 16)  # init="glorot"
    x = torch.randn(2, 80, 48)
    cells, outs = cells_and_outputs(stack, x)
    (outs[-1] * torch.randn_like(outs[-1])).sum().backward()
    top_cell_std = float(cells[-1].detach().std())
    assert top_cell_std < 3.0, f"{cell}: cell state grows through depth ({top_cell_std:.3g})"
    ratio = float(outs[-1].grad.norm() / outs[0].grad.norm())  # type: ignore[union-attr]
    assert 0.1 < ratio < 10, f"{cell}: gradient at top / layer 1 = {ratio:.3g}"


def test_zero_depth_gate_bias_is_what_makes_highway_cells_explode(
    lstm_stack: Callable[..., LSTMStack],
) -> None:
    """The counterfactual of the test above: b_d = 0 lets the carried cells add up."""
    torch.manual_seed(0)
    stack = lstm_stack("highway", 10, 48, 32, 16)
    with torch.no_grad():
        for name, p in stack.named_parameters():
            if name.endswith("bias_d"):
                p.zero_()
    cells, _ = cells_and_outputs(stack, torch.randn(2, 80, 48))
    assert float(cells[-1].detach().std()) > 100 * float(cells[0].detach().std())
