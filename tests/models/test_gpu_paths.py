"""The GPU-ready paths, checked on the CPU: the time loops read no value on the host (so a GPU
never waits inside them), the ``tf32`` setting switches CUDA's and cuDNN's precision and not the
CPU's, and under autocast (bf16) only the recurrent matrix products are rounded: the cell state
stays fp32."""

from __future__ import annotations

import pytest
import torch

from reslstm.errors import ReslstmError
from reslstm.models.fused import fused_recurrence
from reslstm.models.padding import Padding
from reslstm.runtime import set_tf32

torch.set_num_threads(1)


@pytest.mark.parametrize("cell", ["plain", "highway", "residual"])
def test_the_loops_read_no_value_on_the_host(cell, lstm_stack):
    """Forward and backward run on the meta device, which has shapes but no values: the time
    loops never read a tensor's value on the host, so on a GPU they queue kernels without
    waiting for the device (``Padding.min_len`` comes from the lengths, which live on the CPU)."""
    stack = lstm_stack(
        cell, 2, 8, 6, 4, bidirectional=True,
        residual_output_peephole="full" if cell == "residual" else "none",
    ).to("meta")  # fmt: skip
    x = torch.empty(3, 10, 8, device="meta", requires_grad=True)
    out = stack(x, torch.tensor([10, 7, 4]))
    out.sum().backward()
    assert out.shape == (3, 10, 8) and x.grad is not None
    assert all(p.grad is not None and p.grad.is_meta for p in stack.parameters())


def test_tf32_sets_cuda_and_cudnn_precision_and_leaves_the_cpus() -> None:
    """``tf32`` is the precision of CUDA's fp32 matrix products and cuDNN's LSTM, TF32 or IEEE;
    oneDNN's (the CPU's) stay as they were. Anything but true or false is refused."""
    backends = torch.backends

    def cpu() -> tuple[str, ...]:
        mkldnn = backends.mkldnn
        return mkldnn.fp32_precision, mkldnn.matmul.fp32_precision, mkldnn.rnn.fp32_precision

    before = cpu(), backends.cuda.matmul.fp32_precision, backends.cudnn.rnn.fp32_precision
    try:
        for enabled, precision in ((True, "tf32"), (False, "ieee"), (True, "tf32")):
            set_tf32(enabled)
            assert backends.cuda.matmul.fp32_precision == precision
            assert backends.cudnn.rnn.fp32_precision == precision
            assert cpu() == before[0]
    finally:
        backends.cuda.matmul.fp32_precision, backends.cudnn.rnn.fp32_precision = before[1:]
    with pytest.raises(ReslstmError, match="tf32 must be true or false, got 'maybe'"):
        set_tf32("maybe")


def _recurrence(stack, bf16: bool, zero_w_hh: bool = False) -> list[torch.Tensor]:
    """h, c of the top layer's fused recurrence from fixed fp32 inputs (``pre``, ``aux``, a
    padded batch), then the gradients of a weighted sum of h and c with respect to them; under
    CPU autocast (bf16) when ``bf16``."""
    stack.zero_grad(set_to_none=True)
    layer = stack.layers[-1]
    (cell,) = layer.cells
    kind = layer.kernel.kind
    if zero_w_hh:
        with torch.no_grad():
            cell.weight_hh.zero_()
    gen = torch.Generator().manual_seed(1)
    steps, batch = 9, 3
    pre = torch.randn(steps, batch, cell.pre_gates, generator=gen).requires_grad_(True)
    aux_size = cell.cell_size if kind == "highway" else cell.proj_size
    aux = torch.randn(steps, batch, aux_size, generator=gen) if kind != "plain" else None
    inputs = [pre] if aux is None else [pre, aux.requires_grad_(True)]
    pad = Padding.from_lengths(torch.tensor([9, 6, 4]), steps, pre.device)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        h, c = fused_recurrence(cell, layer.kernel, pre, aux, pad, reverse=False)
    assert h.dtype == c.dtype == torch.float32
    (h * torch.randn(h.shape, generator=gen)).sum().add((c * c).sum()).backward()
    weights = layer.kernel.weights(cell)
    return [h.detach(), c.detach(), *(x.grad for x in inputs), *(w.grad for w in weights)]


def _close(ours: torch.Tensor, ref: torch.Tensor, rel: float) -> bool:
    return bool((ours - ref).abs().max() <= rel * ref.abs().max())


@pytest.mark.parametrize("cell", ["plain_only", "highway", "residual", "residual_full"])
def test_autocast_rounds_the_recurrent_products_and_keeps_the_cell_state_fp32(cell, lstm_stack):
    """With W_h = 0 no product feeds the cell state: under bf16 autocast c_t is bitwise the
    fp32 one while h_t (a product, W_p m_t or o_t ⊙ (W_p r_t + W_h x_t)) and the backward's
    products are rounded. With W_h random, outputs and every gradient stay within bf16's
    rounding of fp32."""
    kind = "plain" if cell == "plain_only" else cell.removesuffix("_full")
    peephole = "full" if cell == "residual_full" else "none"
    torch.manual_seed(0)
    stack = lstm_stack(kind, 2, 8, 6, 4, residual_output_peephole=peephole)
    fp32, bf16 = _recurrence(stack, False), _recurrence(stack, True)
    assert not torch.equal(fp32[0], bf16[0])  # the products are rounded
    for ours, ref in zip(bf16, fp32, strict=True):
        assert _close(ours, ref, rel=3e-2)
    h32, c32, dpre32, *_ = _recurrence(stack, False, zero_w_hh=True)
    h16, c16, dpre16, *_ = _recurrence(stack, True, zero_w_hh=True)
    assert torch.equal(c16, c32)
    assert not torch.equal(h16, h32) and _close(h16, h32, rel=1e-2)
    # the gates i, f, g are fp32's too, so only the backward's own products (dL/dh_t W_p or
    # dL/du_t W_p) can move their dL/dpre: rounded as well
    ifg = slice(0, 3 * stack.layers[-1].cells[0].cell_size)
    assert not torch.equal(dpre16[..., ifg], dpre32[..., ifg])
    assert _close(dpre16, dpre32, rel=1e-2)
