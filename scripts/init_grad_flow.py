#!/usr/bin/env python
"""Signal and gradient size through freshly initialised deep stacks, per init scheme.

Builds each cell type at ``--layers`` depth with each ``model.init`` scheme, feeds a batch of
unit-variance random features (the model's input after CMVN and frame stacking), back-
propagates a random projection of the top layer's output and prints a markdown table: the
output std of the bottom and top layers, the std of the top layer's cell state (it explodes
when cells add up through depth) and how much smaller the gradient reaching the bottom layer's
output is than at the top (a ratio of 1 is perfect flow; 1e6 means the lower layers get
essentially nothing). Seconds on a CPU; no training.

    python scripts/init_grad_flow.py                  # 10 layers, small size (256 / 128)
    python scripts/init_grad_flow.py --layers 5 --cell-dim 1024 --proj-dim 512
"""

from __future__ import annotations

import argparse

import torch
from torch import Tensor

from reslstm.models import LSTMStack
from reslstm.models.cells import INIT_SCHEMES
from reslstm.models.padding import Padding


def layer_outputs(stack: LSTMStack, x: Tensor) -> tuple[list[Tensor], Tensor]:
    """Every layer's output ``[T, B, n_p]`` (no dropout), each retaining its gradient, and the
    top layer's cell sequence."""
    steps = x.shape[1]
    pad = Padding.from_lengths(torch.full((x.shape[0],), steps), steps, x.device)
    h, lower, outs = x.transpose(0, 1), None, []
    for layer in stack.layers:
        h, cells = layer(h, lower if stack.cell_type.reads_lower_cell else None, pad)
        lower = cells
        h.retain_grad()
        outs.append(h)
    return outs, lower[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layers", type=int, default=10)
    parser.add_argument("--cell-dim", type=int, default=256)
    parser.add_argument("--proj-dim", type=int, default=128)
    parser.add_argument("--input-dim", type=int, default=240, help="80 fbank x 3 stacked")
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{args.layers} layers, {args.cell_dim} cells / {args.proj_dim} projection\n")
    print(
        "| Cell | Init | Output std, layer 1 / top | Top cell std | Gradient at top / at layer 1 |"
    )
    print("|---|---|--:|--:|--:|")
    for cell in ("plain", "highway", "residual"):
        for init in INIT_SCHEMES:
            torch.manual_seed(args.seed)
            stack = LSTMStack(
                cell,
                args.layers,
                args.input_dim,
                args.cell_dim,
                args.proj_dim,
                peepholes=True,
                bidirectional=False,
                dropout=0.0,
                residual_output_peephole="none",
                impl="fused",
                init=init,
            )
            x = torch.randn(args.batch, args.frames, args.input_dim)
            outs, top_cells = layer_outputs(stack, x)
            (outs[-1] * torch.randn_like(outs[-1])).sum().backward()
            top, bottom = float(outs[-1].grad.norm()), float(outs[0].grad.norm())
            stds = f"{float(outs[0].detach().std()):.3f} / {float(outs[-1].detach().std()):.3f}"
            cell_std = float(top_cells.detach().std())
            print(f"| {cell} | {init} | {stds} | {cell_std:.3g} | {top / bottom:.2g} |")


if __name__ == "__main__":
    main()
