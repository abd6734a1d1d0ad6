"""Scoring of references and hypotheses made by any tool: a NIST STM against a NIST CTM, or
against a meeteval SegLST JSON that names each word's speaker
(``reslstm-score --ref REF.stm --hyp HYP.ctm|HYP.json``).

Both files are read as NIST defines them: STM ``;;`` comments, the optional ``<o,f0,male>``
label field and ``IGNORE_TIME_SEGMENT_IN_SCORING`` segments (hypothesis words whose middle
falls inside one are not scored); CTM rows in any order, with or without a confidence. A CTM
is first checked by SCTK's own ``ctmValidator.pl`` where it is installed, then by our reader;
a malformed file gets one line naming the file and line. Words are normalised the same way on
both sides (``normalization``, hesitations dropped, as stage 5 does), so case does not count.

Methods:

- ``asclite``: NIST asclite with Kaldi AMI s5b's options on the normalised files;
- ``meeteval``: time-constrained ORC-WER (tcORC) per recording, summed, and cpWER when the
  hypothesis names its speakers (SegLST). A CTM says nothing of speakers: it is one stream
  per recording, and ORC-WER replaces cpWER; one stream cannot hold two overlapping speakers'
  words in order, so on overlapped speech only asclite (and a SegLST) score it properly;
- ``jiwer``: per-segment WER, each hypothesis word given to the reference segment of its
  recording (and of its speaker, when named) whose span holds the word's middle (the nearest
  segment when none does; in an overlapped stretch the segment that started last). Exact
  without overlap, an approximation with it: asclite and tcORC align overlapped speech
  properly. Where reference segments of different speakers overlap and the hypothesis does
  not give each word its reference speaker (a CTM), jiwer's result says so (``approximate``)
  and ``reslstm-score`` prints why beside its number.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from reslstm.errors import ReslstmError
from reslstm.scoring.meeting import (
    HypWord,
    asclite,
    ctm_text,
    find_sctk,
    lexical,
    read_ctm,
    read_stm,
    stm_text,
)
from reslstm.scoring.normalize import normalize
from reslstm.scoring.overlap import Segment, overlapped_ids
from reslstm.scoring.wer import ErrorCounts, score

IGNORE = "IGNORE_TIME_SEGMENT_IN_SCORING"
FILE_METHODS = ("jiwer", "asclite", "meeteval")


def validate_ctm(path: Path) -> None:
    """SCTK's ``ctmValidator.pl`` on ``path`` (skipped where SCTK is not installed)."""
    validator = find_sctk("ctmValidator.pl")
    if validator is None:
        return
    out = subprocess.run(["perl", validator, "-i", str(path)], capture_output=True, text=True)
    if out.returncode != 0:
        first = re.search(r"ERROR: \[line (\d+)\] (.*)", out.stdout + out.stderr)
        where = f"{path}:{first.group(1)}" if first else str(path)
        detail = first.group(2) if first else (out.stdout + out.stderr).strip()[-200:]
        raise ReslstmError(f"{where}: {detail} (ctmValidator.pl)")


def _middle(word: HypWord) -> float:
    return word.start + word.duration / 2


def split_ignored(refs: list[Segment], words: list[HypWord]) -> tuple[list[Segment], list[HypWord]]:
    """The scored reference segments and hypothesis words: ``IGNORE_TIME_SEGMENT_IN_SCORING``
    segments go, and so do the words whose middle falls inside one of them."""
    ignored = defaultdict(list)
    for r in refs:
        if r.text.strip() == IGNORE:
            ignored[r.recording].append((r.start, r.end))
    kept = [r for r in refs if r.text.strip() != IGNORE]
    scored = [
        w for w in words if not any(a <= _middle(w) <= b for a, b in ignored.get(w.recording, ()))
    ]
    return kept, scored


def segment_hyps(refs: list[Segment], words: list[HypWord]) -> dict[str, str]:
    """Each segment's hypothesis: the words given to it by time (see the module docstring)."""
    by_recording: dict[str, list[Segment]] = defaultdict(list)
    for r in refs:
        by_recording[r.recording].append(r)
    hyps: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for w in words:
        segments = by_recording.get(w.recording)
        if not segments:
            continue  # a recording without references: asclite and meeteval count it
        t = _middle(w)
        own = [s for s in segments if s.speaker == w.speaker]
        segments = own or segments  # a speaker-attributed word goes to its speaker's segments
        holding = [s for s in segments if s.start <= t <= s.end]
        if holding:
            chosen = max(holding, key=lambda s: s.start)
        else:
            chosen = min(segments, key=lambda s: min(abs(t - s.start), abs(t - s.end)))
        hyps[chosen.id].append((w.start, w.word))
    return {k: " ".join(word for _, word in sorted(v)) for k, v in hyps.items()}


def jiwer_caveat(refs: list[Segment], words: list[HypWord]) -> str | None:
    """Why jiwer's WER is an approximation on these files, or None where it is exact: reference
    segments of different speakers overlap, and not every hypothesis word names a speaker of
    its recording's references (so some words were given to a segment by time alone)."""
    overlapping = len(overlapped_ids(refs))
    speakers = {(r.recording, r.speaker) for r in refs}
    if not overlapping or (words and all((w.recording, w.speaker) in speakers for w in words)):
        return None
    return (
        f"approximate: {overlapping} of {len(refs)} reference segments overlap another "
        "speaker's, and the hypothesis names no speakers, so each word went to one segment by "
        "its time; asclite aligns overlapped speech"
    )


def _meeteval(refs: list[Segment], words: list[HypWord], collar: float) -> dict[str, Any]:
    """tcORC-WER per recording, summed, and cpWER where the hypothesis names its speakers
    (SegLST input): each hypothesis speaker is one stream. A CTM is one stream per recording,
    for which ORC-WER is given instead of cpWER."""
    import meeteval
    from meeteval.io import SegLST

    speakers = all(w.speaker for w in words) and bool(words)
    sessions = sorted({r.recording for r in refs} | {w.recording for w in words})

    def seglst(rows: list[dict], present: set[str], speaker: str) -> Any:
        empty = [
            {"session_id": s, "speaker": speaker, "start_time": 0.0, "end_time": 0.0, "words": ""}
            for s in sessions
            if s not in present
        ]
        return SegLST(rows + empty)

    ref = seglst(
        [
            {"session_id": r.recording, "speaker": r.speaker, "start_time": r.start,
             "end_time": r.end, "words": r.text}
            for r in refs
        ],
        {r.recording for r in refs},
        "ref",
    )  # fmt: skip
    hyp = seglst(
        [
            {"session_id": w.recording, "speaker": w.speaker if speakers else "hyp",
             "start_time": w.start, "end_time": w.start + w.duration, "words": w.word}
            for w in words
        ],
        {w.recording for w in words},
        "hyp",
    )  # fmt: skip
    results: dict[str, Any] = {"collar": collar}
    other = (
        ("cpwer", meeteval.wer.cpwer(ref, hyp))
        if speakers
        else ("orc", meeteval.wer.orcwer(ref, hyp))
    )
    for name, per_session in (
        ("tcorc", meeteval.wer.tcorcwer(ref, hyp, collar=collar)),
        other,
    ):
        total = ErrorCounts()
        for rate in per_session.values():
            total.add(ErrorCounts(rate.length, rate.substitutions, rate.deletions, rate.insertions))
        results[name] = {"wer": total.rate, "errors": total.errors, **asdict(total)}
    return results


def read_seglst(path: Path) -> list[HypWord]:
    """Hypothesis words with their speakers from a meeteval SegLST JSON file (what stage 4
    writes as ``hyp.seglst.json``); a segment's words share its span evenly."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        words = []
        for row in rows:
            tokens = str(row["words"]).split()
            start, end = float(row["start_time"]), float(row["end_time"])
            step = (end - start) / max(len(tokens), 1)
            words += [
                HypWord(str(row["session_id"]), start + k * step, step, t, str(row["speaker"]))
                for k, t in enumerate(tokens)
            ]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ReslstmError(f"{path}: not a SegLST file ({e})") from e
    return words


def _normalised(refs: Iterable[Segment], words: Iterable[HypWord], normalization: str):
    refs = [
        Segment(
            r.id, r.recording, r.speaker, r.start, r.end, lexical(normalize(r.text, normalization))
        )
        if r.text.strip() != IGNORE
        else r
        for r in refs
    ]
    words = [
        HypWord(w.recording, w.start, w.duration, normalize(w.word, normalization), w.speaker)
        for w in words
    ]
    return refs, [w for w in words if w.word and lexical(w.word)]


def score_files(
    ref: Path,
    hyp: Path,
    methods: Iterable[str] = FILE_METHODS,
    normalization: str = "kaldi",
    overlap_limit: int = 4,
    collar: float = 5.0,
) -> dict[str, Any]:
    """Score the CTM ``hyp`` against the STM ``ref`` with ``methods``; what each returns, by
    method name. Raises :class:`ReslstmError` (one line) on a bad file or method."""
    unknown = sorted(set(methods) - set(FILE_METHODS))
    if unknown:
        raise ReslstmError(f"--methods: unknown {unknown[0]!r} (use {', '.join(FILE_METHODS)})")
    if hyp.suffix == ".json":
        hyp_words = read_seglst(hyp)
    else:
        validate_ctm(hyp)
        hyp_words = read_ctm(hyp)
    refs, words = _normalised(read_stm(ref), hyp_words, normalization)
    if not [r for r in refs if r.text.strip() != IGNORE]:
        raise ReslstmError(f"{ref}: no reference segments to score")
    out: dict[str, Any] = {}
    if "asclite" in methods:
        with tempfile.TemporaryDirectory() as tmp:
            stm, ctm = Path(tmp) / "ref.stm", Path(tmp) / "hyp.ctm"
            stm.write_text(stm_text(refs))
            ctm.write_text(ctm_text(words))
            out["asclite"] = asclite(stm, ctm, overlap_limit)
    kept, scored = split_ignored(refs, words)
    if "meeteval" in methods:
        out["meeteval"] = _meeteval(kept, scored, collar)
    if "jiwer" in methods:
        result = score(
            {r.id: r.text for r in kept}, segment_hyps(kept, scored), normalization="none"
        )
        out["jiwer"] = {"wer": result.wer, "num_words": result.words.ref_len,
                        "errors": result.words.errors}  # fmt: skip
        if caveat := jiwer_caveat(kept, scored):
            out["jiwer"]["approximate"] = caveat
    return out
