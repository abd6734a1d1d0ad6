#!/usr/bin/env python
"""What the first updates do to a deep stack: per-layer signal, cell state and gradient.

Trains one model with the shared recipe (the real :class:`reslstm.train.trainer.Trainer` step
on the real batches of stages 0-2) for ``--steps`` updates, writing nothing to the run
directory, and every ``--every`` steps prints one line per quantity for each layer: the std of
its output h and of its cell state c on a fixed dev batch, the fraction of cells with
|tanh(c)| > 0.99 (saturated), the mean CTC blank posterior, and the gradient norm of each
layer's parameters at that step. docs/training.md uses it to show where the 10-layer plain
stack loses its gradient without intermediate CTC (which the recipe now adds to deep stacks):

    python scripts/early_dynamics.py model=plain_lstm model.num_layers=10 train.interctc_every=0
    python scripts/early_dynamics.py --steps 60 model=residual_lstm model.num_layers=10 \
        train.interctc_every=0
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader

from reslstm.batches import make_sampler
from reslstm.cli.compose import compose_config
from reslstm.models.padding import Padding
from reslstm.train.trainer import Trainer

SATURATED = math.atanh(0.99)  # |c| above this: tanh(c) passes < 2 % of its gradient


def batches(trainer: Trainer) -> Iterator[dict[str, Any]]:
    """The trainer's own batches, epoch after epoch."""
    while True:
        yield from trainer._epoch_loader()
        trainer.state.epoch += 1


@torch.no_grad()
def layer_stats(trainer: Trainer, batch: dict[str, Any]) -> tuple[list[tuple[float, ...]], float]:
    """Per layer (h std, c std, saturated fraction) on ``batch``, and the mean blank posterior."""
    model = trainer.model
    model.eval()
    x, lens = model.frontend(batch["feats"], batch["feat_lens"])
    pad = Padding.from_lengths(lens, x.shape[1], x.device)
    real = pad.mask[..., 0].bool()
    h, lower, stats = x.transpose(0, 1), None, []
    for layer in model.encoder.layers:
        h, cells = layer(h, lower if model.encoder.cell_type.reads_lower_cell else None, pad)
        lower = cells
        c = cells[0][real]
        stats.append(
            (float(h[real].std()), float(c.std()), float((c.abs() > SATURATED).float().mean()))
        )
    log_probs, _ = model(batch["feats"], batch["feat_lens"])
    blank = float(log_probs[..., trainer.tokenizer.blank_id].exp().mean())
    model.train()
    return stats, blank


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, as for ./run.sh")
    args = parser.parse_args()
    cfg = compose_config([*args.overrides, f"train.log_every_steps={args.every}"])
    torch.set_num_threads(cfg.num_threads)
    trainer = Trainer(cfg)
    sampler = make_sampler(trainer.parts.dev_cuts, trainer.train_cfg, epoch=0, seed=0)
    dev = next(iter(DataLoader(trainer.parts.dataset, sampler=sampler, batch_size=None)))
    train = batches(trainer)
    for step in range(args.steps + 1):
        if step % args.every == 0:
            stats, blank = layer_stats(trainer, dev)
            cols = list(zip(*stats, strict=True))
            print(f"after {step} updates: mean blank posterior {blank:.2f}")
            for name, values, fmt in zip(
                ("h std", "c std", "saturated"), cols, ("{:.2f}", "{:.1f}", "{:.2f}"), strict=True
            ):
                print(f"  {name:10s}" + " ".join(fmt.format(v) for v in values))
        if step == args.steps:
            break
        loss, _, norms = trainer._step(next(train))
        if norms.get("layer1") is not None:
            layers = [norms[f"layer{i + 1}"] for i in range(len(stats))]
            grads = " ".join(f"{v:.1e}" for v in layers)
            print(f"update {trainer.state.step}: loss {loss:.2f}, gradient norm by layer")
            print(f"  {'':10s}{grads}")


if __name__ == "__main__":
    main()
