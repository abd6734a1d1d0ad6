"""The dev measurement after each epoch that the stopping rule reads: the dev loss per token
and greedy dev WER/CER (top layer only)."""

from __future__ import annotations

from typing import Any

import torch
from lhotse import CutSet
from omegaconf import DictConfig
from torch.utils.data import DataLoader

from reslstm.batches import CTCBatches, make_sampler
from reslstm.ctc import ctc_loss, greedy_decode, text_of
from reslstm.models import CTCModel
from reslstm.scoring import score
from reslstm.tokens import Tokenizer


@torch.no_grad()
def dev_metrics(
    model: CTCModel,
    cuts: CutSet,
    dataset: CTCBatches,
    train_cfg: DictConfig,
    tokenizer: Tokenizer,
    amp: bool,
) -> dict[str, Any]:
    """``dev_loss`` (CTC per target token), ``dev_wer`` and ``dev_cer`` (greedy) of ``model``
    on ``cuts``; the model is left in training mode."""
    device = next(model.parameters()).device
    model.eval()
    sampler = make_sampler(cuts, train_cfg, epoch=0, seed=0)
    loader = DataLoader(
        dataset.evaluating(), sampler=sampler, batch_size=None, generator=torch.Generator()
    )
    total, tokens, refs, hyps = 0.0, 0, {}, {}
    for batch in loader:
        feats, lens = batch["feats"].to(device), batch["feat_lens"].to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            log_probs, out_lens = model(feats, lens)
        n = int(batch["target_lens"].sum())
        loss = ctc_loss(
            log_probs, out_lens, batch["targets"], batch["target_lens"], tokenizer.blank_id
        )
        total += float(loss) * n
        tokens += n
        words = greedy_decode(log_probs.float(), out_lens, tokenizer)
        for uid, text, hyp in zip(batch["ids"], batch["texts"], words, strict=True):
            refs[uid], hyps[uid] = text, text_of(hyp)
    model.train()
    scores = score(refs, hyps)
    return {"dev_loss": total / max(tokens, 1), "dev_wer": scores.wer, "dev_cer": scores.cer}
