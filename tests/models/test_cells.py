"""The three cells against a step-by-step reference written from paper.md, in float64."""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call

from reslstm.models import HighwayCell, LSTMStack, ResidualCell

torch.set_num_threads(1)

CELLS = ["plain", "highway", "residual"]
IMPLS = ["loop", "fused"]


def reference_direction(cell, x, lower, lengths, reverse):
    """One direction of one layer, one sequence and one frame at a time: ``[B, T, *]`` -> h, c."""
    n, batch, steps = cell.cell_size, x.shape[0], x.shape[1]
    p = cell.peephole
    hs = [[torch.zeros(cell.proj_size, dtype=x.dtype)] * steps for _ in range(batch)]
    cs = [[torch.zeros(n, dtype=x.dtype)] * steps for _ in range(batch)]
    for b in range(batch):
        h = torch.zeros(cell.proj_size, dtype=x.dtype)
        c = torch.zeros(n, dtype=x.dtype)
        frames = range(int(lengths[b]))
        for t in reversed(frames) if reverse else frames:
            xt = x[b, t]
            z = cell.weight_ih @ xt + cell.weight_hh @ h + cell.bias
            zi, zf, zg, zo = z[:n], z[n : 2 * n], z[2 * n : 3 * n], z[3 * n :]
            if p is not None:
                zi, zf = zi + p[0] * c, zf + p[1] * c
            i, f, g = torch.sigmoid(zi), torch.sigmoid(zf), torch.tanh(zg)
            c_new = f * c + i * g
            if isinstance(cell, HighwayCell):
                low = lower[b, t]
                w_cd, w_ld = cell.depth_peephole
                d = torch.sigmoid(cell.weight_xd @ xt + w_cd * c + w_ld * low + cell.bias_d)
                c_new = c_new + d * low
            if isinstance(cell, ResidualCell):
                if cell.weight_co is not None:
                    zo = zo + cell.weight_co @ c_new
                s = xt[cell.shortcut]
                if cell.weight_sc is not None:
                    s = cell.weight_sc @ s
                h = torch.sigmoid(zo) * (cell.weight_proj @ torch.tanh(c_new) + s)
            else:
                if p is not None:
                    zo = zo + p[2] * c_new
                h = cell.weight_proj @ (torch.sigmoid(zo) * torch.tanh(c_new))
            c = c_new
            hs[b][t], cs[b][t] = h, c
    stack = lambda rows: torch.stack([torch.stack(r) for r in rows])  # noqa: E731
    return stack(hs), stack(cs)


def reference_stack(stack: LSTMStack, x, lengths):
    """The whole stack from :func:`reference_direction` (no dropout)."""
    lower = None
    for layer in stack.layers:
        outs, cells = [], []
        for d, cell in enumerate(layer.cells):
            h, c = reference_direction(cell, x, None if lower is None else lower[d], lengths, d)
            outs.append(h)
            cells.append(c)
        x, lower = torch.cat(outs, dim=-1), cells
    return x


def make_stack(lstm_stack, cell, impl, bidirectional=False, num_layers=3, **kw):
    torch.manual_seed(0)
    stack = lstm_stack(
        cell, num_layers, 5, 6, 4, bidirectional=bidirectional, impl=impl, **kw
    ).double()
    with torch.no_grad():  # make peepholes and biases matter
        for p in stack.parameters():
            p.mul_(3.0)
    return stack


def run(stack, x, lengths, weight):
    stack.zero_grad()
    x = x.clone().requires_grad_(True)
    out = stack(x, lengths)
    (out * weight).sum().backward()
    grads = {k: p.grad.clone() for k, p in stack.named_parameters()}
    return out.detach(), x.grad, grads


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize(
    "cell,extra",
    [
        ("plain", {}),
        ("plain", {"peepholes": False}),
        ("highway", {}),
        ("residual", {}),
        ("residual", {"residual_output_peephole": "full"}),
    ],
    ids=["plain", "plain-nopeep", "highway", "residual", "residual-fullpeep"],
)
def test_matches_reference(cell, extra, bidirectional, impl, lstm_stack):
    stack = make_stack(lstm_stack, cell, impl, bidirectional, **extra)
    x = torch.randn(3, 7, 5, dtype=torch.double)
    lengths = torch.tensor([7, 4, 2])
    weight = torch.randn(3, 7, stack.output_size, dtype=torch.double)
    out, dx, grads = run(stack, x, lengths, weight)

    xr = x.clone().requires_grad_(True)
    stack.zero_grad()
    ref = reference_stack(stack, xr, lengths)
    (ref * weight).sum().backward()
    torch.testing.assert_close(out, ref.detach(), atol=1e-5, rtol=0)
    torch.testing.assert_close(dx, xr.grad, atol=1e-5, rtol=0)
    for name, p in stack.named_parameters():
        torch.testing.assert_close(grads[name], p.grad, atol=1e-5, rtol=0, msg=name)


@pytest.mark.parametrize(
    "cell,extra",
    [
        ("plain", {}),
        ("highway", {}),
        ("residual", {}),
        ("residual", {"residual_output_peephole": "full"}),
    ],
    ids=["plain", "highway", "residual", "residual-fullpeep"],
)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_gradcheck(cell, extra, bidirectional, lstm_stack):
    torch.manual_seed(1)
    stack = lstm_stack(cell, 2, 3, 3, 2, bidirectional=bidirectional, impl="fused", **extra)
    stack = stack.double()
    names = [k for k, _ in stack.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for p in stack.parameters()]
    x = torch.randn(2, 4, 3, dtype=torch.double, requires_grad=True)
    lengths = torch.tensor([4, 2])

    def f(x, *ps):
        return functional_call(stack, dict(zip(names, ps, strict=True)), (x, lengths))

    assert torch.autograd.gradcheck(f, (x, *params))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_does_not_change_real_frames(cell, impl, bidirectional, lstm_stack):
    stack = make_stack(lstm_stack, cell, impl, bidirectional)
    x = torch.randn(3, 9, 5, dtype=torch.double)
    lengths = torch.tensor([9, 5, 3])
    out = stack(x, lengths)
    noisy = x.clone()
    for b, n in enumerate(lengths.tolist()):
        noisy[b, n:] = 1e3  # garbage in padded frames
    torch.testing.assert_close(stack(noisy, lengths), out)
    for b, n in enumerate(lengths.tolist()):
        alone = stack(x[b : b + 1, :n], lengths[b : b + 1])
        torch.testing.assert_close(out[b : b + 1, :n], alone)
        assert not out[b, n:].any()  # padded outputs are zero


def test_residual_shortcut_is_identity_where_sizes_match():
    torch.manual_seed(2)
    cell = ResidualCell(4, 6, 4, peepholes=True).double()
    assert cell.weight_sc is None
    assert all("sc" not in name for name, _ in cell.named_parameters())
    x = torch.randn(3, 4, dtype=torch.double)
    h, c = torch.randn(3, 4, dtype=torch.double), torch.randn(3, 6, dtype=torch.double)
    pre, aux = cell.input_side(x.unsqueeze(0), None)
    h_new, c_new = cell.step(pre[0], aux[0], h, c)
    z = cell.weight_ih @ x.T + cell.weight_hh @ h.T + cell.bias[:, None]
    o = torch.sigmoid(z[18:]).T
    expected = o * (torch.tanh(c_new) @ cell.weight_proj.T + x)  # o ⊙ (m + x)
    torch.testing.assert_close(h_new, expected)
    # a size change (first layer) gets a learned n_p x n_in shortcut
    assert ResidualCell(7, 6, 4, peepholes=True).weight_sc.shape == (4, 7)


@pytest.mark.parametrize("cell", CELLS)
def test_gradcheck_through_the_initial_state(cell, lstm_stack):
    """The fused recurrence from a given ``(h_0, c_0)`` (a stream's state) differentiates
    into it too."""
    from reslstm.models.fused import fused_recurrence
    from reslstm.models.padding import Padding

    torch.manual_seed(4)
    layer = lstm_stack(cell, 2, 3, 3, 2).double().layers[1]
    (c,) = layer.cells
    lower = torch.randn(4, 2, 3, dtype=torch.double)
    x = torch.randn(4, 2, 2, dtype=torch.double)
    pad = Padding.from_lengths(torch.tensor([4, 3]), 4, x.device)
    h0 = torch.randn(2, 2, dtype=torch.double, requires_grad=True)
    c0 = torch.randn(2, 3, dtype=torch.double, requires_grad=True)

    def f(h0, c0):
        pre, aux = c.input_side(x, lower)
        return fused_recurrence(c, layer.kernel, pre, aux, pad, False, (h0, c0))

    assert torch.autograd.gradcheck(f, (h0, c0))


@pytest.mark.parametrize(
    "cell,impl", [(c, i) for c in CELLS for i in IMPLS] + [("plain", "torch_lstm")]
)
def test_a_stack_fed_in_pieces_gives_its_whole_output(cell, impl, lstm_stack):
    peepholes = impl != "torch_lstm"
    stack = lstm_stack(cell, 3, 5, 4, 3, impl=impl, peepholes=peepholes).double().eval()
    x = torch.randn(2, 11, 5, dtype=torch.double)
    whole = stack(x, torch.tensor([11, 11]))
    for piece in (1, 4, 11):
        states, outs = None, []
        for start in range(0, 11, piece):
            out, states = stack.stream(x[:, start : start + piece], states)
            outs.append(out)
        torch.testing.assert_close(torch.cat(outs, 1), whole, atol=1e-12, rtol=0)
    with pytest.raises(ValueError, match="cannot stream"):
        lstm_stack(cell, 2, 5, 4, 3, bidirectional=True).stream(x, None)
