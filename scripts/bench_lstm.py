#!/usr/bin/env python
"""Forward+backward speed of the LSTM stacks against ``torch.nn.LSTM(proj_size=...)``.

For each size (recipe 128/64, small 256/128, paper 1024/512), depth (3, 10) and cell type,
times one forward+backward pass of a batch of padded sequences through our stack (peepholes
on; input dim = proj dim so every residual shortcut is the identity) and through ``nn.LSTM``
with the same dims, measured in the same run; prints a markdown table of real (unpadded)
frames per second and our time / nn.LSTM's.

    python scripts/bench_lstm.py                        # CPU: ~3 min on one thread
    python scripts/bench_lstm.py --impls fused,loop --sizes small --layers 3
    python scripts/bench_lstm.py --device cuda          # CUDA events, warm-up, median

After ``--warmup`` runs, the stacks of one size and depth are timed round-robin ``--repeats``
times (interleaved, so that load drift hits all alike): frames/s is from each stack's median
time, and the ratio is the median over the rounds of its time / ``nn.LSTM``'s in that round.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import date

import torch
from torch import Tensor, nn

from reslstm.models import LSTMStack
from reslstm.runtime import cpu_name

# (cell_dim, proj_dim): the recipe trains "recipe" (model/size=small), the paper "paper"
SIZES = {"recipe": (128, 64), "small": (256, 128), "paper": (1024, 512)}


# The measured stack: peepholes on, unidirectional, no dropout, the default init.
STACK = {
    "peepholes": True,
    "bidirectional": False,
    "dropout": 0.0,
    "residual_output_peephole": "none",
    "init": "glorot",
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--sizes", default="recipe,small,paper")
    parser.add_argument("--layers", default="3,10")
    parser.add_argument("--cells", default="plain,highway,residual")
    parser.add_argument("--impls", default="fused", help="comma list of fused, loop")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=300, help="frames per sequence")
    parser.add_argument(
        "--paper-steps",
        type=int,
        default=None,
        help="frames per sequence at the paper size (default: --steps on a GPU, 60 on a CPU;"
        " the time per frame hardly depends on it)",
    )
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    if args.paper_steps is None:
        args.paper_steps = args.steps if args.device.startswith("cuda") else 60
    return args


def time_once(fn: Callable[[], None], device: torch.device) -> float:
    """Seconds for one call (CUDA events on a GPU)."""
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end) / 1000.0
    begin = time.perf_counter()
    fn()
    return time.perf_counter() - begin


def measure(
    fns: list[Callable[[], None]], device: torch.device, warmup: int, repeats: int
) -> list[list[float]]:
    """Seconds per call of each function in each of ``repeats`` rounds, timed round-robin so
    that load drift hits all alike: ``times[fn][round]``."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, record in zip(fns, times, strict=True):
            record.append(time_once(fn, device))
    return times


def step_fn(model: nn.Module, x: Tensor, lengths: Tensor, batch_first: bool) -> Callable[[], None]:
    """One forward+backward pass with a weighted-sum loss."""

    def run() -> None:
        model.zero_grad(set_to_none=True)
        out = model(x, lengths) if batch_first else model(x.transpose(0, 1))[0]
        out.float().square().mean().backward()

    return run


def bench_config(args: argparse.Namespace, size: str, layers: int) -> list[list[str]]:
    device = torch.device(args.device)
    cell_dim, proj_dim = SIZES[size]
    steps = args.paper_steps if size == "paper" else args.steps
    gen = torch.Generator().manual_seed(0)
    lengths = torch.randint(int(0.7 * steps), steps + 1, (args.batch,), generator=gen)
    lengths[0] = steps
    x = torch.randn(args.batch, steps, proj_dim, generator=gen).to(device)
    frames = int(lengths.sum())
    ref = nn.LSTM(proj_dim, cell_dim, layers, proj_size=proj_dim).to(device)
    runs = [("nn.LSTM", "-", step_fn(ref, x, lengths, False))]
    for cell in args.cells.split(","):
        for impl in args.impls.split(","):
            stack = LSTMStack(cell, layers, proj_dim, cell_dim, proj_dim, impl=impl, **STACK).to(
                device
            )
            runs.append((cell, impl, step_fn(stack, x, lengths, True)))
    times = measure([fn for *_, fn in runs], device, args.warmup, args.repeats)
    rows = []
    for (name, impl, _), record in zip(runs, times, strict=True):
        t = statistics.median(record)
        ratio = statistics.median(a / b for a, b in zip(record, times[0], strict=True))
        rows.append([size, str(layers), name, impl, f"{frames / t:,.0f}", f"{ratio:.2f}"])
        print(f"  {size} L={layers} {name}/{impl}: {t:.3f} s, {ratio:.2f}x", flush=True)
    return rows


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    on_gpu = device.type == "cuda"
    where = torch.cuda.get_device_name(device) if on_gpu else cpu_name()
    paper_steps = f" (paper size: {args.paper_steps})" if args.paper_steps != args.steps else ""
    print(
        f"# {date.today()} torch {torch.__version__} on {where}, {args.threads} CPU thread(s),"
        f" batch {args.batch}, steps {args.steps}{paper_steps}, peepholes on,"
        f" median of {args.repeats} interleaved rounds",
        flush=True,
    )
    rows = []
    for size in args.sizes.split(","):
        for layers in (int(n) for n in args.layers.split(",")):
            rows += bench_config(args, size, layers)
    header = ["size", "layers", "stack", "impl", "frames/s (fwd+bwd)", "time / nn.LSTM"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
