"""Stages 4 and 5 for one trained run: decode dev/test with each method, then score.

Outputs per split and method in ``<run_dir>/decode/<split>_<method>/``: ``hyps.tsv`` and
``refs.tsv`` (stage 4, with a completion marker keyed on the checkpoint and the decode config),
then ``per_utt.tsv``, ``errors.txt``, ``wer`` and ``scores.json`` (stage 5).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import torch
from lhotse.dataset import DynamicCutSampler
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader
from tqdm import tqdm

from reslstm.decode.beam import LexiconBeamDecoder
from reslstm.decode.greedy import greedy_search
from reslstm.errors import ReslstmError
from reslstm.io import atomic_write_json, atomic_write_text, clear_done, is_done, mark_done
from reslstm.runtime import resolve_device
from reslstm.scoring import score, write_scores
from reslstm.scoring.overlap import (
    SUBSETS,
    overlapped_ids,
    split_supervisions,
    supervision_segments,
)
from reslstm.tokens import CharTokenizer
from reslstm.train.checkpoint import checkpoint_identity, load_trained_model
from reslstm.train.data import CTCBatches, load_cuts

log = logging.getLogger(__name__)

Decoder = Callable[[torch.Tensor, torch.Tensor], list[str]]


def make_decoders(cfg: DictConfig, tokenizer: CharTokenizer) -> dict[str, Decoder]:
    """The decoding methods named in ``decode.methods``."""
    lang = Path(cfg.paths.lang_dir)
    d = cfg.decode
    decoders: dict[str, Decoder] = {}
    for method in d.methods:
        if method == "greedy":
            decoders[method] = lambda lp, lens: [
                tokenizer.decode(ids) for ids in greedy_search(lp, lens, tokenizer.blank_id)
            ]
        elif method == "beam_lm":
            for name in ("tokens.txt", "lexicon.txt", "lm.arpa"):
                if not (lang / name).is_file():
                    raise ReslstmError(f"missing {lang / name}: run stage 2 (tokens) first")
            decoders[method] = LexiconBeamDecoder(
                lang / "tokens.txt",
                lang / "lexicon.txt",
                lang / "lm.arpa",
                beam_size=d.beam_size,
                lm_weight=d.lm_weight,
                word_score=d.word_score,
                beam_threshold=d.beam_threshold,
                nbest=d.nbest,
            ).decode
        else:
            raise ReslstmError(f"decode.methods: unknown method {method!r} (greedy, beam_lm)")
    return decoders


def decode_run(cfg: DictConfig) -> None:
    """Stage 4: decode ``decode.splits`` of one run with every method (skips finished ones)."""
    run_dir, d = Path(cfg.paths.run_dir), cfg.decode
    key = {
        "checkpoint": checkpoint_identity(run_dir, d.checkpoint, d.avg_last),
        "decode": OmegaConf.to_container(d, resolve=True),
        "lang": (Path(cfg.paths.lang_dir) / ".done").read_text()
        if (Path(cfg.paths.lang_dir) / ".done").is_file()
        else None,
    }
    out = {(s, m): run_dir / "decode" / f"{s}_{m}" for s in d.splits for m in d.methods}
    todo = [s for s in d.splits if cfg.force or not all(is_done(out[s, m], key) for m in d.methods)]
    if not todo:
        log.info("%s: decoding is complete; nothing to do (force=true redoes it)", run_dir.name)
        return
    device = resolve_device(cfg.device)
    model = load_trained_model(run_dir, d.checkpoint, d.avg_last).to(device)
    tokenizer = CharTokenizer.from_file(Path(cfg.paths.lang_dir) / "tokens.txt")
    decoders = make_decoders(cfg, tokenizer)
    for split in todo:
        for m in d.methods:
            clear_done(out[split, m])
        cuts = load_cuts(Path(cfg.paths.fbank_dir) / f"cuts_{split}.jsonl.gz")
        audio_s = sum(c.duration for c in cuts)
        refs = {c.id: c.supervisions[0].text for c in cuts}
        hyps: dict[str, dict[str, str]] = {m: {} for m in d.methods}
        seconds = dict.fromkeys(d.methods, 0.0)
        loader = DataLoader(
            CTCBatches(tokenizer),
            sampler=DynamicCutSampler(cuts, max_duration=d.max_duration, shuffle=False),
            batch_size=None,
        )
        bar = tqdm(
            total=len(cuts), desc=f"decode {split}", unit="utt", disable=not cfg.progress_bar
        )
        with torch.no_grad():
            for batch in loader:
                start = time.perf_counter()
                log_probs, lens = model(batch["feats"].to(device), batch["feat_lens"].to(device))
                forward_s = time.perf_counter() - start
                for m, decode in decoders.items():
                    start = time.perf_counter()
                    hyps[m].update(
                        zip(batch["ids"], decode(log_probs.float().cpu(), lens.cpu()), strict=True)
                    )
                    seconds[m] += forward_s + time.perf_counter() - start
                bar.update(len(batch["ids"]))
        bar.close()
        for m in d.methods:
            ids = sorted(refs)
            atomic_write_text(out[split, m] / "refs.tsv", "".join(f"{i}\t{refs[i]}\n" for i in ids))
            atomic_write_text(
                out[split, m] / "hyps.tsv", "".join(f"{i}\t{hyps[m][i]}\n" for i in ids)
            )
            rtf = seconds[m] / max(audio_s, 1e-9)
            atomic_write_json(out[split, m] / "decode.json", {"rtf": rtf, "audio_s": audio_s})
            mark_done(out[split, m], key)
            log.info("%s %s %s: %d utterances, RTF %.4f", run_dir.name, split, m, len(ids), rtf)


def _read_tsv(path: Path) -> dict[str, str]:
    rows = (line.split("\t", 1) for line in path.read_text(encoding="utf-8").splitlines())
    return {r[0]: (r[1] if len(r) > 1 else "") for r in rows}


def overlap_flags(manifest_dir: Path, split: str) -> dict[str, bool]:
    """Cut id -> whether its segment is overlapped (:mod:`reslstm.scoring.overlap`)."""
    overlapped = overlapped_ids(supervision_segments(split_supervisions(manifest_dir, split)))
    cuts_path = manifest_dir / f"cuts_{split}.jsonl.gz"
    if not cuts_path.is_file():
        raise ReslstmError(f"missing {cuts_path}: run stage 0 (data) first")
    return {c.id: c.supervisions[0].id in overlapped for c in load_cuts(cuts_path)}


def score_run(cfg: DictConfig) -> None:
    """Stage 5: score every finished decode directory of one run and print its WER lines.

    Each split is scored on all segments and on the overlapped and non-overlapped ones.
    """
    run_dir, d = Path(cfg.paths.run_dir), cfg.decode
    found = False
    for split in d.splits:
        flags: dict[str, bool] | None = None
        for m in d.methods:
            out = run_dir / "decode" / f"{split}_{m}"
            if not is_done(out):
                log.warning("%s: no finished decode in %s (run stage 4)", run_dir.name, out)
                continue
            found = True
            if flags is None:
                flags = overlap_flags(Path(cfg.paths.manifest_dir), split)
            refs, hyps = _read_tsv(out / "refs.tsv"), _read_tsv(out / "hyps.tsv")
            subsets = {}
            for name, want in zip(SUBSETS, (True, False), strict=True):
                ids = {i for i in refs if flags.get(i, False) == want}
                subsets[name] = score(
                    {i: refs[i] for i in ids},
                    {i: h for i, h in hyps.items() if i in ids},
                    normalization=d.normalization,
                )
            scores = score(refs, hyps, normalization=d.normalization)
            write_scores(scores, out, subsets)
            print(f"{run_dir.name} {split} {m}: {(out / 'wer').read_text().strip()}")
    if not found:
        raise ReslstmError(f"nothing to score in {run_dir / 'decode'}: run stage 4 (decode) first")
