"""The fused recurrence's C++ time loops (models/csrc/recurrence.cpp): their plain C++
elementwise blocks give bitwise the numbers of the ATen operations they stand for (the path
other devices take), for every cell, option, direction, padding, dtype and state; and a build
killed midway does not hang the next load."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from reslstm.models import fused

torch.set_num_threads(1)

FAST_BLOCKS = pytest.mark.skipif(
    torch.backends.cpu.get_cpu_capability() not in ("AVX2", "AVX512"),
    reason="the plain C++ blocks run only where ATen's CPU kernels are AVX2 or AVX-512",
)


def _run(stack, x, lengths, weight, state_split):
    """Outputs, input and parameter gradients, and the state a stream leaves."""
    stack.zero_grad()
    x = x.clone().requires_grad_(True)
    outs = stack.layer_outputs(x, lengths, (1,))
    sum((o * weight[..., : o.shape[-1]]).sum() for o in outs).backward()
    got = [*(o.detach() for o in outs), x.grad, *(p.grad.clone() for p in stack.parameters())]
    if stack.num_directions == 1:
        with torch.no_grad():
            first, states = stack.stream(x[:, :state_split].detach(), None)
            rest, states = stack.stream(x[:, state_split:].detach(), states)
        got += [first, rest, *(t for s in states for t in s)]
    return got


CASES = [
    (cell, peepholes, bidirectional, output_peephole)
    for cell in ("plain", "highway", "residual")
    for peepholes in (True, False)
    for bidirectional in (False, True)
    for output_peephole in (("none", "full") if cell == "residual" else ("none",))
]


@FAST_BLOCKS
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("cell", "peepholes", "bidirectional", "output_peephole"), CASES)
def test_plain_cpp_blocks_equal_aten_ops_bitwise(
    cell, peepholes, bidirectional, output_peephole, dtype, lstm_stack, monkeypatch
):
    torch.manual_seed(0)
    stack = lstm_stack(
        cell, 3, 20, 12, 7, peepholes=peepholes, bidirectional=bidirectional,
        residual_output_peephole=output_peephole,
    ).to(dtype)  # fmt: skip
    x = torch.randn(4, 23, 20, dtype=dtype)  # odd sizes: no whole vector registers
    lengths = torch.tensor([23, 17, 23, 5])
    weight = torch.randn(4, 23, 14, dtype=dtype)
    plain = _run(stack, x, lengths, weight, state_split=9)
    monkeypatch.setattr(fused, "PLAIN_CPP_BLOCKS", False)
    aten = _run(stack, x, lengths, weight, state_split=9)
    assert len(plain) == len(aten)
    for ours, theirs in zip(plain, aten, strict=True):
        assert torch.equal(ours, theirs)


def test_a_lock_left_by_a_killed_build_does_not_hang_the_next_load():
    """``cpp_extension`` waits for its build lock forever; a killed build leaves one behind."""
    build = Path(sys.prefix) / "reslstm-extensions" / "recurrence"
    lock = build / "lock"
    fused.loops()  # built (or up to date) before the lock appears
    lock.touch()
    old = time.time() - 3600
    os.utime(lock, (old, old))
    try:
        code = "from reslstm.models.fused import loops; loops(); print('loaded')"
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0 and "loaded" in done.stdout, done.stderr
        assert not lock.exists()
    finally:
        lock.unlink(missing_ok=True)
