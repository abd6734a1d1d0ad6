"""The ``torch_lstm`` fast path: same parameters, same outputs and gradients as our plain cell."""

from __future__ import annotations

import pytest
import torch

from reslstm.models import build_model

torch.set_num_threads(1)


def _outputs_and_grads(stack, x, lengths, weight):
    stack.zero_grad()
    x = x.clone().requires_grad_(True)
    out = stack(x, lengths)
    (out * weight).sum().backward()
    return out.detach(), x.grad, {k: p.grad.clone() for k, p in stack.named_parameters()}


@pytest.mark.parametrize("bidirectional", [False, True])
def test_torch_lstm_equals_plain_cell(bidirectional, lstm_stack):
    torch.manual_seed(0)
    stack = lstm_stack("plain", 3, 5, 8, 4, peepholes=False, bidirectional=bidirectional)
    stack = stack.double()
    x = torch.randn(3, 10, 5, dtype=torch.double)
    lengths = torch.tensor([10, 6, 3])
    weight = torch.randn(3, 10, stack.output_size, dtype=torch.double)
    results = {}
    for impl in ("torch_lstm", "loop", "fused"):
        for layer in stack.layers:
            layer.impl = impl
        results[impl] = _outputs_and_grads(stack, x, lengths, weight)
    fast_out, fast_dx, fast_grads = results["torch_lstm"]
    for impl in ("loop", "fused"):
        out, dx, grads = results[impl]
        torch.testing.assert_close(out, fast_out, atol=1e-10, rtol=0)
        torch.testing.assert_close(dx, fast_dx, atol=1e-10, rtol=0)
        for name, g in grads.items():
            torch.testing.assert_close(g, fast_grads[name], atol=1e-10, rtol=0, msg=name)


@pytest.mark.filterwarnings("ignore:LSTM with projections")
def test_plain_cell_is_nn_lstm_with_projection(lstm_stack):
    torch.manual_seed(0)
    stack = lstm_stack("plain", 1, 5, 8, 4, peepholes=False, impl="loop")
    cell = stack.layers[0].cells[0]
    ref = torch.nn.LSTM(5, 8, proj_size=4, batch_first=True)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(cell.weight_ih)
        ref.weight_hh_l0.copy_(cell.weight_hh)
        ref.bias_ih_l0.copy_(cell.bias)
        ref.bias_hh_l0.zero_()
        ref.weight_hr_l0.copy_(cell.weight_proj)
    x = torch.randn(2, 6, 5)
    torch.testing.assert_close(stack(x, torch.tensor([6, 6])), ref(x)[0])


def test_auto_picks_torch_lstm_only_when_exact(model_config):
    def impl(cell="plain", **kw):
        cfg = model_config(cell) | {"cell_dim": 8, "proj_dim": 4, **kw}
        return build_model(cfg, 5, 3).encoder.layers[0].impl

    assert impl(peepholes=False) == "torch_lstm"
    assert impl(peepholes=False, bidirectional=True) == "torch_lstm"
    assert impl(peepholes=True) == "fused"
    assert impl(cell="residual", peepholes=False) == "fused"
    assert impl(peepholes=False, impl="loop") == "loop"
