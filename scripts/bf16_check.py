#!/usr/bin/env python
"""How far the bf16 autocast path (``train.amp``) moves each stack from fp32.

    python scripts/bf16_check.py --device cuda                  # paper size, 10 layers
    python scripts/bf16_check.py --device cpu --size recipe --layers 3 --steps 20   # quick

For each cell type it builds one stack (peepholes on, no dropout; the same weights for both
runs), runs forward and backward on one padded random batch in fp32 and under
``torch.autocast(dtype=bfloat16)``, and prints a markdown table of the largest absolute
difference of the outputs and of the weight gradients, relative to the fp32 tensor's largest
magnitude. bf16 keeps 8 bits of mantissa (a relative rounding of 2^-9 = 0.2 %), and the cell
state stays fp32 (docs/models.md), so a few percent is rounding; a stack whose figure is far
above that has a broken low-precision path.
"""

from __future__ import annotations

import argparse
from datetime import date

import torch
from bench_lstm import SIZES, STACK  # the same sizes and stack settings as the speed benchmark
from torch import Tensor

from reslstm.models import LSTMStack
from reslstm.runtime import cpu_name


def relative(ours: Tensor, ref: Tensor) -> float:
    """The largest absolute difference over the reference's largest magnitude."""
    return float((ours.float() - ref).abs().max() / ref.abs().max().clamp_min(1e-30))


def run(stack: LSTMStack, x: Tensor, lengths: Tensor, bf16: bool) -> tuple[Tensor, list[Tensor]]:
    """The stack's output and weight gradients, under bf16 autocast when ``bf16``."""
    stack.zero_grad(set_to_none=True)
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
        out = stack(x, lengths)
    out.float().square().mean().backward()
    return out.detach().float(), [p.grad.detach().float() for p in stack.parameters()]


def check(args: argparse.Namespace) -> list[tuple[str, float, float]]:
    device = torch.device(args.device)
    cell_dim, proj_dim = SIZES[args.size]
    gen = torch.Generator().manual_seed(0)
    lengths = torch.randint(args.steps // 2, args.steps + 1, (args.batch,), generator=gen)
    lengths[0] = args.steps
    x = torch.randn(args.batch, args.steps, proj_dim, generator=gen).to(device)
    rows = []
    for cell in ("plain", "highway", "residual"):
        torch.manual_seed(0)
        stack = LSTMStack(
            cell, args.layers, proj_dim, cell_dim, proj_dim, impl="fused", **STACK
        ).to(device)
        out32, grads32 = run(stack, x, lengths, bf16=False)
        out16, grads16 = run(stack, x, lengths, bf16=True)
        grad = max(relative(a, b) for a, b in zip(grads16, grads32, strict=True))
        rows.append((cell, relative(out16, out32), grad))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--size", choices=sorted(SIZES), default="paper")
    parser.add_argument("--layers", type=int, default=10)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=200, help="frames per sequence")
    args = parser.parse_args()
    torch.set_num_threads(1)
    where = torch.cuda.get_device_name() if args.device.startswith("cuda") else cpu_name()
    print(
        f"# {date.today()} torch {torch.__version__} on {where}: bf16 autocast against fp32, "
        f"{args.size} size, {args.layers} layers, batch {args.batch}, {args.steps} frames"
    )
    print("| stack | output (max rel. diff) | weight gradients (max rel. diff) |")
    print("|---|--:|--:|")
    for cell, out, grad in check(args):
        print(f"| {cell} | {out:.2e} | {grad:.2e} |")


if __name__ == "__main__":
    main()
