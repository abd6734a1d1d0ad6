#!/usr/bin/env python
"""Where one time step of the fused loops goes: the ATen calls a plain cell's step makes, each
timed alone, against the whole step of the real C++ loops measured in the same run.

A forward step of ``csrc/recurrence.cpp`` (plain cell, peepholes on) calls ATen for W_h h_(t-1),
σ(i, f), tanh(g), σ(o), tanh(c_t) and W_p m_t; a backward step for dL/dm_t = dL/dh_t W_p and
dL/dh_(t-1) = dz W_h. Everything else in a step is the plain C++ elementwise blocks and the
loop itself. Prints µs per call (less Python's own calling cost, measured in the same run) and
each call's share of the measured step (medians of ``--repeats`` rounds, one thread).

    python scripts/bench_step_ops.py                    # the recipe's size 128/64, batch 16
    python scripts/bench_step_ops.py --size paper --batch 32
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import date

import torch

from reslstm.models import fused
from reslstm.runtime import cpu_name

SIZES = {"recipe": (128, 64), "small": (256, 128), "paper": (1024, 512)}


def per_call(fn: Callable[[], object], calls: int, repeats: int) -> float:
    """Median over ``repeats`` rounds of the seconds per call of ``fn``."""
    for _ in range(max(1, calls // 10)):
        fn()
    rounds = []
    for _ in range(repeats):
        begin = time.perf_counter()
        for _ in range(calls):
            fn()
        rounds.append((time.perf_counter() - begin) / calls)
    return statistics.median(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="recipe")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=100, help="frames of the timed loops")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.set_grad_enabled(False)  # as inside the autograd.Function that calls the loops
    n, p = SIZES[args.size]
    b, steps = args.batch, args.steps
    gen = torch.Generator().manual_seed(0)

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=gen) * 0.5

    w_hh, w_proj, peephole = rand(4 * n, p), rand(p, n), rand(3, n)
    pre, h0, c0 = rand(steps, b, 4 * n), torch.zeros(b, p), torch.zeros(b, n)
    mask = torch.ones(steps, b, 1, dtype=torch.bool)
    ops = fused.loops()
    cpu_fma = fused._cpu_fma()

    def forward() -> list[torch.Tensor]:
        return ops.forward_loop(
            "plain", pre, None, h0, c0, w_hh, w_proj, peephole, None, mask, steps, False,
            cpu_fma, None,
        )  # fmt: skip

    hs, cs, acts, *buffers = forward()
    c_prev = torch.cat([c0.unsqueeze(0), cs[:-1]])
    dhs = rand(steps, b, p)

    def backward() -> list[torch.Tensor]:
        return ops.backward_loop(
            "plain", dhs, None, acts, buffers, c_prev, w_hh, w_proj, peephole, None, mask,
            steps, False, 4 * n, None, cpu_fma, None,
        )  # fmt: skip

    loops = max(1, 2000 // steps)
    step_fwd = per_call(forward, loops, args.repeats) / steps
    step_bwd = per_call(backward, loops, args.repeats) / steps

    h, m, c, dz, dh = rand(b, p), rand(b, n), rand(b, n), rand(b, 4 * n), rand(b, p)
    acc, a, out, tc = rand(b, 4 * n), rand(b, 4 * n), torch.empty(b, p), torch.empty(b, n)
    w_hh_t, w_proj_t = w_hh.t(), w_proj.t()
    i_f, g, o = slice(0, 2 * n), slice(2 * n, 3 * n), slice(3 * n, 4 * n)
    calls = {
        "forward": [
            ("W_h h_(t-1) (addmm_ in place)", lambda: acc.addmm_(h, w_hh_t)),
            ("σ(i, f) (sigmoid_ of a slice)", lambda: a[:, i_f].sigmoid_()),
            ("tanh(g) (tanh_ of a slice)", lambda: a[:, g].tanh_()),
            ("σ(o) (sigmoid_ of a slice)", lambda: a[:, o].sigmoid_()),
            ("tanh(c_t) (tanh out=)", lambda: torch.tanh(c, out=tc)),
            ("W_p m_t (mm out=)", lambda: torch.mm(m, w_proj_t, out=out)),
        ],
        "backward": [
            ("dL/dm_t = dL/dh_t W_p (mm out=)", lambda: torch.mm(dh, w_proj, out=tc)),
            ("dL/dh_(t-1) = dz W_h (mm)", lambda: dz.mm(w_hh)),
        ],
    }
    per_step = {"forward": step_fwd, "backward": step_bwd}
    one = torch.zeros(1)
    calling = per_call(lambda: one.add_(0.0), 2000, args.repeats)  # Python's share of a call
    print(
        f"# {date.today()} torch {torch.__version__} on {cpu_name()}, 1 thread, plain cell "
        f"{n}/{p}, batch {b}, median of {args.repeats} rounds; each call timed from Python, "
        f"less {calling * 1e6:.1f} µs (a one-element add_ from Python, i.e. the calling cost "
        "the C++ loops do not pay)"
    )
    print("| step | operation | µs per call | share of the step |")
    print("|---|---|--:|--:|")
    for phase, rows in calls.items():
        whole, total = per_step[phase], 0.0
        for name, fn in rows:
            t = max(0.0, per_call(fn, 2000, args.repeats) - calling)
            total += t
            print(f"| {phase} | {name} | {t * 1e6:.1f} | {t / whole:.0%} |")
        rest = whole - total
        print(f"| {phase} | the rest (C++ blocks, loop) | {rest * 1e6:.1f} | {rest / whole:.0%} |")
        print(f"| {phase} | **whole step of the C++ loop** | **{whole * 1e6:.1f}** | 100% |")


if __name__ == "__main__":
    main()
