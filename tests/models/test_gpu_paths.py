"""The GPU-ready paths, checked on the CPU: the time loops read no value on the host (so a GPU
never waits inside them), and the ``tf32`` setting leaves every CPU number unchanged."""

from __future__ import annotations

import pytest
import torch

from reslstm.errors import ReslstmError
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


def test_tf32_changes_only_cuda_settings(lstm_stack):
    torch.manual_seed(0)
    stack = lstm_stack("residual", 2, 8, 6, 4)
    x = torch.randn(3, 10, 8)
    lengths = torch.tensor([10, 7, 4])

    def run() -> list[torch.Tensor]:
        stack.zero_grad()
        out = stack(x, lengths)
        out.square().sum().backward()
        return [out.detach(), *(p.grad.clone() for p in stack.parameters())]

    try:
        set_tf32(True)
        assert torch.backends.cuda.matmul.fp32_precision == "tf32"
        assert torch.backends.cudnn.rnn.fp32_precision == "tf32"
        with_tf32 = run()
    finally:
        set_tf32(False)
    assert torch.backends.cuda.matmul.fp32_precision == "ieee"
    assert all(torch.equal(a, b) for a, b in zip(with_tf32, run(), strict=True))


def test_tf32_takes_only_true_or_false():
    with pytest.raises(ReslstmError, match="tf32 must be true or false, got 'maybe'"):
        set_tf32("maybe")
