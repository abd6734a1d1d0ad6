"""Stage 4 for one trained run: decode dev/test with each method.

Outputs per split and method in ``<run_dir>/decode/<split>_<method>/`` (named by
:class:`reslstm.layout.DecodeDir`): ``refs.tsv``, ``hyps.tsv``, ``hyp.ctm``,
``hyp.seglst.json`` and ``decode.json``, with a completion marker keyed on the checkpoint, the
decode config and the lang directory. Stage 5 (:mod:`reslstm.scoring.stage`) writes the
split's references (``decode/<split>.stm``) and scores them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from lhotse import CutSet
from lhotse.dataset import DynamicCutSampler
from lhotse.features import FeatureExtractor
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader
from tqdm import tqdm

from reslstm.batches import CTCBatches, load_cuts
from reslstm.checkpoint import checkpoint_identity, load_trained_model
from reslstm.ctc import TimedWord, text_of
from reslstm.decode.methods import Decoder, make_decoders
from reslstm.decode.timing import to_seconds
from reslstm.errors import ReslstmError
from reslstm.features.fbank import make_extractor
from reslstm.io import (
    atomic_write_json,
    atomic_write_text,
    clear_done,
    done_marker,
    is_done,
    mark_done,
)
from reslstm.layout import DecodeDir, Layout, require
from reslstm.models import CTCModel
from reslstm.runtime import resolve_device
from reslstm.scoring.meeting import HypWord, ctm_text, seglst_json
from reslstm.tokens import Tokenizer, load_tokenizer

log = logging.getLogger(__name__)


@dataclass
class Decoded:
    """One split decoded with every method: hypotheses and time spent, by method."""

    hyps: dict[str, dict[str, list[TimedWord]]]
    seconds: dict[str, float]


def decode_run(cfg: DictConfig) -> None:
    """Stage 4: decode ``decode.splits`` of one run with every method (skips finished ones)."""
    layout, decode_cfg = Layout.of(cfg), cfg.decode
    run = layout.run
    key = {
        "outputs": [p.name for p in DecodeDir(Path()).decoded()],  # an older layout is redone
        "checkpoint": checkpoint_identity(run.path, decode_cfg.checkpoint, decode_cfg.avg_last),
        "decode": OmegaConf.to_container(decode_cfg, resolve=True),
        "lang": done_marker(layout.lang.path),
    }
    out = {(s, m): run.decode(s, m) for s in decode_cfg.splits for m in decode_cfg.methods}
    todo = [
        s
        for s in decode_cfg.splits
        if cfg.force or not all(is_done(out[s, m].path, key) for m in decode_cfg.methods)
    ]
    if not todo:
        log.info("%s: decoding is complete; nothing to do (force=true redoes it)", run.name)
        return
    device = resolve_device(cfg.device)
    model = load_trained_model(run.path, decode_cfg.checkpoint, decode_cfg.avg_last).to(device)
    tokenizer = load_tokenizer(cfg.lang.tokens, layout.lang)
    decoders = make_decoders(cfg, tokenizer)
    extractor = decode_features(cfg)
    frame_s = to_seconds(1, cfg.features.frame_shift, model.frontend.subsampling)
    for split in todo:
        for m in decode_cfg.methods:
            clear_done(out[split, m].path)
        cuts = load_cuts(require(layout.fbank.cuts(split), 1))
        bar = f"decode {split}" if cfg.progress_bar else None
        decoded = decode_cuts(
            model, cuts, tokenizer, decoders, decode_cfg.max_duration, bar, extractor
        )
        audio_s = sum(c.duration for c in cuts)
        for m in decode_cfg.methods:
            info = {"rtf": decoded.seconds[m] / max(audio_s, 1e-9), "audio_s": audio_s}
            write_decode(out[split, m], cuts, decoded.hyps[m], frame_s, info)
            mark_done(out[split, m].path, key)
            log.info(
                "%s %s %s: %d utterances, RTF %.4f", run.name, split, m, len(cuts), info["rtf"]
            )


FEATURE_SOURCES = ("audio", "stored")


def decode_features(cfg: DictConfig) -> FeatureExtractor | None:
    """``decode.features``: the fbank extractor that computes each segment's features from its
    audio (``audio``), or ``None`` to read stage 1's lilcom-compressed copy (``stored``).

    From the audio, stage 4 decodes exactly the features that ``reslstm-transcribe`` and an
    exported model compute; the stored copy differs by the compression's rounding (up to ~0.016
    in log-mel), enough to change a character in about one segment in eight.
    """
    source = cfg.decode.features
    if source not in FEATURE_SOURCES:
        raise ReslstmError(f"decode.features must be one of {FEATURE_SOURCES}, got {source!r}")
    return make_extractor(cfg.features) if source == "audio" else None


def decode_cuts(
    model: CTCModel,
    cuts: CutSet,
    tokenizer: Tokenizer,
    decoders: dict[str, Decoder],
    max_duration: float,
    progress: str | None = None,
    extractor: FeatureExtractor | None = None,
) -> Decoded:
    """Run the model once per batch of ``cuts`` and every decoder on its output (with a
    progress bar titled ``progress`` unless None); features from the audio with ``extractor``,
    else stored."""
    device = next(model.parameters()).device
    decoded = Decoded({m: {} for m in decoders}, dict.fromkeys(decoders, 0.0))
    loader = DataLoader(
        CTCBatches(tokenizer, extractor=extractor),
        sampler=DynamicCutSampler(cuts, max_duration=max_duration, shuffle=False),
        batch_size=None,
    )
    bar = tqdm(total=len(cuts), desc=progress, unit="utt", disable=progress is None)
    with torch.no_grad():
        for batch in loader:
            start = time.perf_counter()
            log_probs, lens = model(batch["feats"].to(device), batch["feat_lens"].to(device))
            forward_s = time.perf_counter() - start
            for m, decode in decoders.items():
                start = time.perf_counter()
                words = decode(log_probs.float().cpu(), lens.cpu())
                decoded.hyps[m].update(zip(batch["ids"], words, strict=True))
                decoded.seconds[m] += forward_s + time.perf_counter() - start
            bar.update(len(batch["ids"]))
    bar.close()
    return decoded


def write_decode(
    out: DecodeDir,
    cuts: CutSet,
    hyps: dict[str, list[TimedWord]],
    frame_s: float,
    info: dict[str, Any],
) -> None:
    """Stage 4's outputs of one split and method (the marker is the caller's)."""
    ids = sorted(c.id for c in cuts)
    refs = {c.id: c.supervisions[0].text for c in cuts}
    atomic_write_text(out.refs, "".join(f"{i}\t{refs[i]}\n" for i in ids))
    atomic_write_text(out.hyps, "".join(f"{i}\t{text_of(hyps[i])}\n" for i in ids))
    words = hyp_words(cuts, hyps, frame_s)
    atomic_write_text(out.ctm, ctm_text(words))
    atomic_write_text(out.seglst, seglst_json(words))
    atomic_write_json(out.info, info)


def hyp_words(cuts: CutSet, hyps: dict[str, list[TimedWord]], frame_s: float) -> list[HypWord]:
    """CTM words: each decoded word at its frames' time, offset by its segment's start."""
    return [
        HypWord(
            c.recording_id,
            c.start + w.start * frame_s,
            (w.end - w.start) * frame_s,
            w.word,
            c.supervisions[0].speaker or "",
        )
        for c in cuts
        for w in hyps.get(c.id, [])
    ]
