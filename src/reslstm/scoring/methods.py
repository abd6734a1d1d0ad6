"""Scoring methods by the name ``score.methods`` uses: one :class:`ScoringMethod` entry each.

Stage 5 runs the methods named in ``score.methods`` (and only those) on every decode and merges
what each returns into the decode's ``scores.json``; the results table's "Scoring methods
compared" columns and ``score.primary`` are read from the same entries. Another method is one
:func:`register_scoring_method` call (docs/architecture.md, "How to add a scorer").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from reslstm.errors import ReslstmError
from reslstm.layout import DecodeDir
from reslstm.scoring.meeting import asclite, find_sctk, meeteval_scores
from reslstm.scoring.overlap import SUBSETS
from reslstm.scoring.report import summary_json, write_reports
from reslstm.scoring.wer import score

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoreInputs:
    """One decode to score: references and hypotheses by cut id (as decoded, not normalised),
    the split's STM, the decode's directory (its CTM and speaker-attributed SegLST), each cut's
    overlap flag and the ``score`` config."""

    refs: Mapping[str, str]
    hyps: Mapping[str, str]
    stm: Path
    out: DecodeDir
    overlapped: Mapping[str, bool]
    cfg: DictConfig


@dataclass(frozen=True)
class ScoringMethod:
    """One scoring method: its scorer (a decode -> the entries it adds to ``scores.json``),
    its columns in the results table (title -> path in ``scores.json``) and where its headline
    WER sits (what ``score.primary=<name>`` puts in the table's "all" column)."""

    name: str
    score: Callable[[ScoreInputs], dict[str, Any]]
    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    primary: tuple[str, ...] = ()


SCORING_METHODS: dict[str, ScoringMethod] = {}
ASCLITE_MISSING = (
    "NIST SCTK (Debian package sctk) is not installed, so asclite did not score; "
    "jiwer and meeteval did (apt-get install sctk, or scripts/setup_env.sh as root)"
)


def register_scoring_method(method: ScoringMethod) -> ScoringMethod:
    """Make ``method`` available in ``score.methods`` and the results table; returns it."""
    SCORING_METHODS[method.name] = method
    return method


def scoring_methods(names: list[str]) -> list[ScoringMethod]:
    """The registered methods ``names``; one line naming the known ones for any other."""
    unknown = [n for n in names if n not in SCORING_METHODS]
    if unknown:
        known = ", ".join(SCORING_METHODS)
        raise ReslstmError(f"score.methods: unknown method {unknown[0]!r} ({known})")
    return [SCORING_METHODS[n] for n in names]


def _jiwer(inputs: ScoreInputs) -> dict[str, Any]:
    """Per-segment WER/CER on all segments and on the overlapped / non-overlapped ones; also
    writes ``per_utt.tsv``, ``errors.txt`` and ``wer`` (scoring/report.py)."""
    normalization = inputs.cfg.normalization
    scores = score(inputs.refs, inputs.hyps, normalization=normalization)
    summary = summary_json(scores)
    for name, want in zip(SUBSETS, (True, False), strict=True):
        ids = {i for i in inputs.refs if inputs.overlapped.get(i, False) == want}
        subset = score(
            {i: inputs.refs[i] for i in ids},
            {i: h for i, h in inputs.hyps.items() if i in ids},
            normalization=normalization,
        )
        summary[name] = summary_json(subset)
    write_reports(scores, inputs.out.path, inputs.overlapped)
    return summary


def _asclite(inputs: ScoreInputs) -> dict[str, Any]:
    """NIST asclite; without SCTK installed, a note instead (the other methods still score)."""
    if find_sctk("asclite") is None:
        log.warning("asclite skipped: %s", ASCLITE_MISSING)
        return {"asclite": {"skipped": ASCLITE_MISSING}}
    return {"asclite": asclite(inputs.stm, inputs.out.ctm, inputs.cfg.asclite_overlap_limit)}


def _meeteval(inputs: ScoreInputs) -> dict[str, Any]:
    found = meeteval_scores(
        inputs.stm, inputs.out.seglst, inputs.out.ctm, inputs.cfg.meeteval_collar
    )
    return {"meeteval": found}


register_scoring_method(
    ScoringMethod("jiwer", _jiwer, {"jiwer (per segment)": ("wer",)}, primary=("wer",))
)
register_scoring_method(
    ScoringMethod("asclite", _asclite, {"asclite o4": ("asclite", "wer")}, ("asclite", "wer"))
)
register_scoring_method(
    ScoringMethod(
        "meeteval",
        _meeteval,
        {
            "meeteval cpWER": ("meeteval", "cpwer", "wer"),
            "meeteval tcORC": ("meeteval", "tcorc", "wer"),
        },
        primary=("meeteval", "tcorc", "wer"),
    )
)
