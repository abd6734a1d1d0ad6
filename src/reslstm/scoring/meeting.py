"""Meeting-level scoring from time-marked files, as the AMI anchors score.

- References: an STM per split (``<recording> <channel> <speaker> <start> <end> <words>``),
  one line per scored segment, from the supervisions.
- Hypotheses: a CTM per split and method (``<recording> <channel> <start> <dur> <word>``), one
  line per hypothesis word, times from the CTC frames; and the same words as meeteval's SegLST
  JSON with the speaker of the segment each was decoded from.
- **asclite** (NIST SCTK, Debian's ``sctk``) aligns each meeting's CTM against all speakers at
  once with up to ``overlap_limit`` overlapping speakers, with the options Kaldi's AMI s5b
  ``local/score_asclite.sh`` passes through ``hubscr.pl -a -o4``.
- **meeteval** computes cpWER (speaker-attributed) and time-constrained ORC-WER (reference
  utterances assigned to the hypothesis streams optimally, words within the collar of their
  reference times) per meeting; the streams are the words of each speaker's decoded segments.

Both sides drop the hesitations Kaldi's AMI scoring removes from its CTMs.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from reslstm.errors import ReslstmError
from reslstm.scoring.overlap import Segment
from reslstm.scoring.wer import ErrorCounts

# Kaldi egs/ami/s5b/local/score_asclite.sh removes these from the CTM before scoring.
HESITATIONS = frozenset("ACH AH EEE EH ER EW HA HEE HM HMM HUH MM OOF UH UM".split())
CHANNEL = "1"
SCTK_DIRS = ("/usr/lib/sctk/bin",)  # where Debian's sctk puts its programs


@dataclass(frozen=True)
class HypWord:
    """One CTM line, with the speaker of the segment it was decoded from (for cpWER)."""

    recording: str
    start: float
    duration: float
    word: str
    speaker: str = ""


def lexical(text: str) -> str:
    """``text`` without hesitations."""
    return " ".join(w for w in text.split() if w not in HESITATIONS)


def stm_text(segments: Iterable[Segment]) -> str:
    """STM lines sorted by recording and start time (hesitations removed)."""
    rows = sorted(segments, key=lambda s: (s.recording, s.start, s.speaker))
    return "".join(
        f"{s.recording} {CHANNEL} {s.speaker} {s.start:.2f} {s.end:.2f} {lexical(s.text)}\n"
        for s in rows
    )


def _lexical_words(words: Iterable[HypWord], lexical: bool = True) -> list[HypWord]:
    """Words sorted by recording and time, without hesitations if ``lexical``."""
    kept = (w for w in words if not lexical or w.word not in HESITATIONS)
    return sorted(kept, key=lambda w: (w.recording, w.start))


def ctm_text(words: Iterable[HypWord], lexical: bool = True) -> str:
    """CTM lines sorted by recording and time (hesitations removed if ``lexical``: what
    scoring reads)."""
    return "".join(
        f"{w.recording} {CHANNEL} {w.start:.2f} {w.duration:.2f} {w.word}\n"
        for w in _lexical_words(words, lexical)
    )


def seglst_json(words: Iterable[HypWord]) -> str:
    """The hypothesis words as meeteval SegLST, one entry per word, with its speaker."""
    rows = [
        {
            "session_id": w.recording,
            "speaker": w.speaker,
            "start_time": round(w.start, 2),
            "end_time": round(w.start + w.duration, 2),
            "words": w.word,
        }
        for w in _lexical_words(words)
    ]
    return json.dumps(rows, indent=0) + "\n"


def _float(path: Path, line_no: int, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ReslstmError(f"{path}:{line_no}: {value!r} is not a time in seconds") from None


def read_stm(path: Path) -> list[Segment]:
    """Parse a NIST STM file (``;;`` comments skipped; the optional ``<o,f0,male>`` label field
    after the times is not part of the words); one line naming file and line on error."""
    segments = []
    for no, line in _lines(path):
        parts = line.split(maxsplit=5)
        if len(parts) < 5:
            raise ReslstmError(f"{path}:{no}: malformed STM line {line.strip()[:80]!r}")
        start, end = _float(path, no, parts[3]), _float(path, no, parts[4])
        if end < start:
            raise ReslstmError(f"{path}:{no}: segment ends before it starts")
        text = parts[5].strip() if len(parts) > 5 else ""
        if text.startswith("<"):  # the label field: <o,f0,male>
            label, _, text = text.partition(">")
            if " " in label:
                raise ReslstmError(f"{path}:{no}: unclosed label field {label[:40]!r}")
        segments.append(Segment(f"{path.name}:{no}", parts[0], parts[2], start, end, text.strip()))
    return segments


def read_ctm(path: Path) -> list[HypWord]:
    """Parse a CTM (5 or 6 fields a line, ``;;`` comments skipped); one line on error."""
    words = []
    for no, line in _lines(path):
        parts = line.split()
        if len(parts) not in (5, 6):
            raise ReslstmError(f"{path}:{no}: malformed CTM line {line.strip()[:80]!r}")
        start, dur = _float(path, no, parts[2]), _float(path, no, parts[3])
        if dur < 0:
            raise ReslstmError(f"{path}:{no}: negative duration")
        words.append(HypWord(parts[0], start, dur, parts[4]))
    return words


def _lines(path: Path) -> list[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ReslstmError(f"cannot read {path}: {e}") from e
    return [
        (i, line)
        for i, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.startswith(";;")
    ]


def find_sctk(tool: str) -> str | None:
    """The path of an SCTK program (``asclite``, ``sclite``, ``sc_stats``, ``ctmValidator.pl``):
    on PATH or where Debian's ``sctk`` puts it (/usr/lib/sctk/bin); ``None`` if absent."""
    return shutil.which(tool) or shutil.which(tool, path=":".join(SCTK_DIRS))


def find_asclite() -> str:
    """The asclite binary, or one line saying how to install it."""
    found = find_sctk("asclite")
    if found:
        return found
    raise ReslstmError(
        "asclite not found: install NIST SCTK (Debian: apt-get install sctk; "
        "scripts/setup_env.sh does) or set score.methods without asclite"
    )


_SUM = re.compile(r"^\|\s*Sum\s*\|\s*(\d+)\s+(\d+)\s*\|\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)")


def asclite(stm: Path, ctm: Path, overlap_limit: int = 4) -> dict[str, Any]:
    """Run asclite on ``stm``/``ctm`` (Kaldi AMI s5b's options) and parse its summary."""
    refs, words = read_stm(stm), read_ctm(ctm)  # one line for a malformed file, before asclite
    binary = find_asclite()
    if not words:  # asclite exits with status 5 on an empty CTM: every reference word is deleted
        ref = sum(len(r.text.split()) for r in refs)
        return {
            "wer": 100.0 if ref else None,
            **dict(num_words=ref, num_segments=len(refs), corr=0, sub=0, ins=0, errors=ref),
            "del": ref,
            "overlap_limit": overlap_limit,
            "note": "empty hypothesis: all deletions, counted without asclite",
        }
    with tempfile.TemporaryDirectory() as tmp:
        hyp = Path(tmp) / "hyp.ctm"
        shutil.copyfile(ctm, hyp)
        cmd = [
            binary, "-f", "0", "-overlap-limit", str(overlap_limit), "-adaptive-cost",
            "-time-prune", "100", "-word-time-align", "100", "-force-memory-compression",
            "-memory-compression", "8192", "-memory-limit", "1", "-difficulty-limit", "2",
            "-r", str(stm), "stm", "-h", str(hyp), "ctm", "-F", "-D", "-spkrautooverlap", "ref",
            "-o", "sum", "rsum", "-O", tmp,
        ]  # fmt: skip
        out = subprocess.run(cmd, capture_output=True, text=True)
        raw = Path(tmp) / "hyp.ctm.raw"
        if out.returncode != 0 or not raw.is_file():
            last = (out.stderr or out.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ReslstmError(f"asclite failed on {ctm} (exit {out.returncode}): {last[0]}")
        for line in raw.read_text().splitlines():
            if m := _SUM.match(line):
                segs, ref, corr, sub, dels, ins, err = map(int, m.groups())
                return {
                    "wer": 100.0 * err / ref if ref else None,
                    "num_words": ref,
                    "num_segments": segs,
                    "corr": corr,
                    "sub": sub,
                    "del": dels,
                    "ins": ins,
                    "errors": err,
                    "overlap_limit": overlap_limit,
                }
    raise ReslstmError(f"asclite wrote no summary line for {ctm}")


def _counts(rate: Any) -> ErrorCounts:
    """meeteval's error rate of one meeting as our error counts."""
    return ErrorCounts(rate.length, rate.substitutions, rate.deletions, rate.insertions)


def _summary(counts: ErrorCounts) -> dict[str, Any]:
    return {"wer": counts.rate, "errors": counts.errors, **asdict(counts)}


def meeteval_scores(stm: Path, seglst: Path, ctm: Path, collar: float = 5.0) -> dict[str, Any]:
    """cpWER and tcORC-WER of the ``seglst`` words (those of ``ctm``, with the speaker of the
    segment each was decoded from: one stream per speaker) against ``stm``, per meeting and
    summed, with meeteval's Python API. One stream for the whole meeting (the bare CTM) would
    turn every overlapped stretch into errors: ORC keeps each stream's words in time order."""
    import meeteval
    from meeteval.io import SegLST

    refs = read_stm(stm)
    ref = SegLST(
        [
            {
                "session_id": r.recording,
                "speaker": r.speaker,
                "start_time": Decimal(f"{r.start:.2f}"),
                "end_time": Decimal(f"{r.end:.2f}"),
                "words": r.text,
            }
            for r in refs
        ]
    )
    try:
        attributed = json.loads(seglst.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ReslstmError(f"cannot read {seglst}: {e}") from e
    read_ctm(ctm)  # the same words: a malformed CTM fails here too, with one line
    sessions = {r.recording for r in refs}
    results: dict[str, Any] = {"collar": collar}
    for name, per_meeting in (
        ("cpwer", meeteval.wer.cpwer(ref, _with_sessions(attributed, sessions))),
        (
            "tcorc",
            meeteval.wer.tcorcwer(ref, _with_sessions(attributed, sessions), collar=collar),
        ),
    ):
        meetings = {k: _counts(v) for k, v in per_meeting.items()}
        total = ErrorCounts()
        for counts in meetings.values():
            total.add(counts)
        results[name] = {
            **_summary(total),
            "meetings": {k: _summary(v) for k, v in sorted(meetings.items())},
        }
    return results


def _with_sessions(rows: list[dict], sessions: set[str]) -> Any:
    """A SegLST with an empty placeholder for every reference meeting the hypothesis lacks."""
    from meeteval.io import SegLST

    present = {r["session_id"] for r in rows}
    empty = [
        {"session_id": s, "speaker": "hyp", "start_time": 0.0, "end_time": 0.0, "words": ""}
        for s in sorted(sessions - present)
    ]
    return SegLST(list(rows) + empty)
