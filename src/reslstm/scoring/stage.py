"""Stage 5 for one trained run: score every finished decode of stage 4.

For each split it writes the references as NIST STM (``decode/<split>.stm``, normalised with
``score.normalization``), then runs the methods of ``score.methods`` (scoring/methods.py) on
each decode: their numbers go into the decode directory's ``scores.json``, jiwer's reports
beside it (``per_utt.tsv``, ``errors.txt``, ``wer``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from lhotse import CutSet
from omegaconf import DictConfig

from reslstm.batches import load_cuts
from reslstm.errors import ReslstmError
from reslstm.io import atomic_write_json, atomic_write_text, is_done
from reslstm.layout import DecodeDir, Layout, ManifestDir, require, run_first
from reslstm.scoring.meeting import stm_text
from reslstm.scoring.methods import ScoreInputs, ScoringMethod, scoring_methods
from reslstm.scoring.normalize import normalize
from reslstm.scoring.overlap import Segment, overlapped_ids, supervision_segments

log = logging.getLogger(__name__)


def score_run(cfg: DictConfig) -> None:
    """Stage 5: score every finished decode directory of one run and print its WER lines."""
    layout = Layout.of(cfg)
    run = layout.run
    methods = scoring_methods(list(cfg.score.methods))
    found = False
    for split in cfg.decode.splits:
        flags: dict[str, bool] | None = None
        for m in cfg.decode.methods:
            out = run.decode(split, m)
            if not is_done(out.path):
                log.warning("%s: no finished decode in %s (%s)", run.name, out.path, run_first(4))
                continue
            found = True
            if flags is None:
                cuts = load_cuts(require(layout.manifests.cuts(split), 0))
                flags = overlap_flags(layout.manifests, split, cuts)
                segments = ref_segments(cuts, cfg.score.normalization)
                atomic_write_text(run.stm(split), stm_text(segments))
            line = score_decode(out, run.stm(split), flags, methods, cfg.score)
            print(f"{run.name} {split} {m}: {line}")
    if not found:
        raise ReslstmError(f"nothing to score in {run.decode_root}: {run_first(4)}")


def score_decode(
    out: DecodeDir,
    stm: Path,
    flags: dict[str, bool],
    methods: list[ScoringMethod],
    score_cfg: DictConfig,
) -> str:
    """Score one decode directory with ``methods`` (references ``stm``, overlap ``flags`` by
    cut id); write its ``scores.json`` and return its line of WERs."""
    inputs = ScoreInputs(_read_tsv(out.refs), _read_tsv(out.hyps), stm, out, flags, score_cfg)
    found: dict[str, Any] = {}
    for method in methods:
        found.update(method.score(inputs))
    atomic_write_json(out.scores, found)
    names = {m.name for m in methods}
    parts = [out.wer.read_text().strip()] if "jiwer" in names else []
    for method in methods:
        for title, path in method.columns.items():
            value = _at(found, path)
            if method.name != "jiwer" and value is not None:
                parts.append(f"%WER[{title.replace(' ', '_')}] {value:.2f}")
    return " ".join(parts)


def _at(tree: dict[str, Any], path: tuple[str, ...]) -> float | None:
    value: Any = tree
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, (int, float)) else None


def ref_segments(cuts: CutSet, normalization: str) -> list[Segment]:
    """The STM segments of the scored cuts: speaker, times in the recording, normalised text."""
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


def overlap_flags(
    manifests: ManifestDir, split: str, cuts: CutSet | None = None
) -> dict[str, bool]:
    """Cut id -> whether its segment is overlapped (:mod:`reslstm.scoring.overlap`); ``cuts``
    are the split's stage-0 cuts (read when not given)."""
    overlapped = overlapped_ids(supervision_segments(manifests.supervisions(split)))
    if cuts is None:
        cuts = load_cuts(require(manifests.cuts(split), 0))
    return {c.id: c.supervisions[0].id in overlapped for c in cuts}


def _read_tsv(path: Path) -> dict[str, str]:
    rows = (line.split("\t", 1) for line in path.read_text(encoding="utf-8").splitlines())
    return {r[0]: (r[1] if len(r) > 1 else "") for r in rows}
