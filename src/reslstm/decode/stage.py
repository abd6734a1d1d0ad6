"""Stages 4 and 5 for one trained run: decode dev/test with each method, then score.

Outputs per split and method in ``<run_dir>/decode/<split>_<method>/``: ``hyps.tsv`` and
``refs.tsv`` (stage 4, with a completion marker keyed on the checkpoint and the decode config),
then ``per_utt.tsv``, ``errors.txt``, ``wer`` and ``scores.json`` (stage 5).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from pathlib import Path

import torch
from lhotse import CutSet
from lhotse.dataset import DynamicCutSampler
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader
from tqdm import tqdm

from reslstm.batches import CTCBatches, load_cuts
from reslstm.checkpoint import checkpoint_identity, load_trained_model
from reslstm.ctc import TimedWord, greedy_decode, text_of
from reslstm.decode.beam import LexiconBeamDecoder
from reslstm.decode.timing import to_seconds
from reslstm.errors import ReslstmError
from reslstm.io import atomic_write_json, atomic_write_text, clear_done, is_done, mark_done
from reslstm.runtime import resolve_device
from reslstm.scoring import normalize, score, write_scores
from reslstm.scoring.meeting import (
    HypWord,
    ctm_text,
    meeting_scores,
    meeting_wers,
    seglst_json,
    stm_text,
)
from reslstm.scoring.overlap import (
    SUBSETS,
    Segment,
    overlapped_ids,
    split_supervisions,
    supervision_segments,
)
from reslstm.tokens import CharTokenizer

log = logging.getLogger(__name__)
DECODE_OUTPUTS = ["refs.tsv", "hyps.tsv", "hyp.ctm", "hyp.seglst.json", "decode.json"]

# (log_probs [B, T, V], lengths [B]) -> per utterance, its words with their output frames
Decoder = Callable[[torch.Tensor, torch.Tensor], list[list[TimedWord]]]


def make_decoders(cfg: DictConfig, tokenizer: CharTokenizer) -> dict[str, Decoder]:
    """The decoding methods named in ``decode.methods``."""
    lang = Path(cfg.paths.lang_dir)
    d = cfg.decode
    decoders: dict[str, Decoder] = {}
    for method in d.methods:
        if method == "greedy":
            decoders[method] = functools.partial(greedy_decode, tokenizer=tokenizer)
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
            ).decode_timed
        else:
            raise ReslstmError(f"decode.methods: unknown method {method!r} (greedy, beam_lm)")
    return decoders


def decode_run(cfg: DictConfig) -> None:
    """Stage 4: decode ``decode.splits`` of one run with every method (skips finished ones)."""
    run_dir, d = Path(cfg.paths.run_dir), cfg.decode
    key = {
        "outputs": DECODE_OUTPUTS,  # a decode of an older layout is redone
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
        hyps: dict[str, dict[str, list[TimedWord]]] = {m: {} for m in d.methods}
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
        frame_s = to_seconds(1, cfg.features.frame_shift, model.frontend.subsampling)
        atomic_write_text(
            run_dir / "decode" / f"{split}.stm", stm_text(ref_segments(cuts, d.normalization))
        )
        for m in d.methods:
            ids = sorted(refs)
            atomic_write_text(out[split, m] / "refs.tsv", "".join(f"{i}\t{refs[i]}\n" for i in ids))
            atomic_write_text(
                out[split, m] / "hyps.tsv", "".join(f"{i}\t{text_of(hyps[m][i])}\n" for i in ids)
            )
            words = hyp_words(cuts, hyps[m], frame_s)
            atomic_write_text(out[split, m] / "hyp.ctm", ctm_text(words))
            atomic_write_text(out[split, m] / "hyp.seglst.json", seglst_json(words))
            rtf = seconds[m] / max(audio_s, 1e-9)
            atomic_write_json(out[split, m] / "decode.json", {"rtf": rtf, "audio_s": audio_s})
            mark_done(out[split, m], key)
            log.info("%s %s %s: %d utterances, RTF %.4f", run_dir.name, split, m, len(ids), rtf)


def ref_segments(cuts: CutSet, normalization: str) -> list[Segment]:
    """The STM segments of the decoded cuts: speaker, times in the recording, normalised text."""
    return [
        Segment(
            c.id,
            c.recording_id,
            c.supervisions[0].speaker or "",
            c.start,
            c.end,
            normalize(c.supervisions[0].text, normalization),
        )
        for c in cuts
    ]


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

    Each split is scored with jiwer on all segments and on the overlapped and non-overlapped
    ones, and with the meeting-level methods of ``score.methods`` (asclite, meeteval).
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
            sc = cfg.score
            meeting = meeting_scores(
                run_dir / "decode" / f"{split}.stm",
                out / "hyp.ctm",
                out / "hyp.seglst.json",
                sc.methods,
                sc.asclite_overlap_limit,
                sc.meeteval_collar,
            )
            write_scores(scores, out, subsets, meeting)
            line = (out / "wer").read_text().strip()
            for name, wer in meeting_wers(meeting).items():
                line += f" %WER[{name}] {wer:.2f}"
            print(f"{run_dir.name} {split} {m}: {line}")
    if not found:
        raise ReslstmError(f"nothing to score in {run_dir / 'decode'}: run stage 4 (decode) first")
