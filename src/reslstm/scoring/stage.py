"""Stage 5 for one trained run: score every finished decode of stage 4.

Each split is scored with jiwer on all segments and on the overlapped and non-overlapped ones,
and with the meeting-level methods of ``score.methods`` (asclite, meeteval); the results go
into the decode directory (``per_utt.tsv``, ``errors.txt``, ``wer``, ``scores.json``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from reslstm.batches import load_cuts
from reslstm.errors import ReslstmError
from reslstm.io import is_done
from reslstm.layout import DecodeDir, Layout, ManifestDir, require, run_first
from reslstm.scoring.meeting import meeting_scores, meeting_wers
from reslstm.scoring.overlap import SUBSETS, overlapped_ids, supervision_segments
from reslstm.scoring.report import write_scores
from reslstm.scoring.wer import score

log = logging.getLogger(__name__)


def score_run(cfg: DictConfig) -> None:
    """Stage 5: score every finished decode directory of one run and print its WER lines."""
    layout, d = Layout.of(cfg), cfg.decode
    run = layout.run
    found = False
    for split in d.splits:
        flags: dict[str, bool] | None = None
        for m in d.methods:
            out = run.decode(split, m)
            if not is_done(out.path):
                log.warning("%s: no finished decode in %s (%s)", run.name, out.path, run_first(4))
                continue
            found = True
            if flags is None:
                flags = overlap_flags(layout.manifests, split)
            line = score_decode(out, run.stm(split), flags, cfg)
            print(f"{run.name} {split} {m}: {line}")
    if not found:
        raise ReslstmError(f"nothing to score in {run.decode_root}: {run_first(4)}")


def score_decode(out: DecodeDir, stm: Path, flags: dict[str, bool], cfg: DictConfig) -> str:
    """Score one decode directory (references ``stm``, overlap ``flags`` by cut id); return
    its line of WERs."""
    normalization, sc = cfg.decode.normalization, cfg.score
    refs, hyps = _read_tsv(out.refs), _read_tsv(out.hyps)
    subsets = {}
    for name, want in zip(SUBSETS, (True, False), strict=True):
        ids = {i for i in refs if flags.get(i, False) == want}
        subsets[name] = score(
            {i: refs[i] for i in ids},
            {i: h for i, h in hyps.items() if i in ids},
            normalization=normalization,
        )
    scores = score(refs, hyps, normalization=normalization)
    meeting = meeting_scores(
        stm, out.ctm, out.seglst, sc.methods, sc.asclite_overlap_limit, sc.meeteval_collar
    )
    write_scores(scores, out.path, subsets, meeting, overlapped=flags)
    line = out.wer.read_text().strip()
    for name, wer in meeting_wers(meeting).items():
        line += f" %WER[{name}] {wer:.2f}"
    return line


def overlap_flags(manifests: ManifestDir, split: str) -> dict[str, bool]:
    """Cut id -> whether its segment is overlapped (:mod:`reslstm.scoring.overlap`)."""
    overlapped = overlapped_ids(supervision_segments(manifests.supervisions(split)))
    cuts = load_cuts(require(manifests.cuts(split), 0))
    return {c.id: c.supervisions[0].id in overlapped for c in cuts}


def _read_tsv(path: Path) -> dict[str, str]:
    rows = (line.split("\t", 1) for line in path.read_text(encoding="utf-8").splitlines())
    return {r[0]: (r[1] if len(r) > 1 else "") for r in rows}
