#!/usr/bin/env python
"""Which layers of a trained run carry the transcript: greedy dev CER of every layer's output.

Reads each layer's output through the run's own output layer (what intermediate CTC trains on
the tapped layers, :mod:`reslstm.train.interctc`) and decodes the dev set greedily. A layer at
~100 % CER is on the CTC blank plateau. docs/training.md uses it on a 10-layer highway stack:

    python scripts/probe_layers.py exp/mini_sdm/highway_lstm_L10 --checkpoint last
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from lhotse.dataset import DynamicCutSampler
from omegaconf import OmegaConf
from torch.utils.data import DataLoader

from reslstm.batches import CTCBatches, load_cuts
from reslstm.checkpoint import load_trained_model
from reslstm.ctc import greedy_decode, text_of
from reslstm.layout import Layout, RunDir, require
from reslstm.scoring import score
from reslstm.tokens import load_tokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--checkpoint", default="best", choices=("best", "last"))
    args = parser.parse_args()
    cfg = OmegaConf.load(RunDir(args.run_dir).config)
    layout = Layout.of(cfg)
    tokenizer = load_tokenizer(cfg.lang.tokens, layout.lang)
    dev = load_cuts(require(layout.fbank.cuts("dev"), 1))
    model = load_trained_model(args.run_dir, args.checkpoint)  # CMVN is in its buffers
    layers = tuple(range(1, cfg.model.num_layers))
    refs: dict[str, str] = {}
    hyps: list[dict[str, str]] = [{} for _ in range(len(layers) + 1)]
    sampler = DynamicCutSampler(dev, max_duration=cfg.train.max_duration, shuffle=False)
    with torch.no_grad():
        for batch in DataLoader(CTCBatches(tokenizer), sampler=sampler, batch_size=None):
            log_probs, lens = model(batch["feats"], batch["feat_lens"], layers)
            for layer_hyps, lp in zip(hyps, log_probs, strict=True):
                words = greedy_decode(lp, lens, tokenizer)
                for uid, text, hyp in zip(batch["ids"], batch["texts"], words, strict=True):
                    refs[uid], layer_hyps[uid] = text, text_of(hyp)
    for layer, layer_hyps in enumerate(hyps, start=1):
        print(f"layer {layer:2d}: greedy dev CER {score(refs, layer_hyps).cer:6.1f} %")


if __name__ == "__main__":
    main()
