"""Overlapped and non-overlapped segments, the two subsets the paper reports WER on.

The rule: a segment is *overlapped* when a segment of another speaker in the same recording
(meeting) intersects it in time, i.e. ``a.start < b.end and b.start < a.end`` (segments that
only touch do not overlap). Every segment of the split's supervisions counts as a possible
overlapper, including those the data stage dropped from training and scoring (too short, too
long), because their speech is in the audio all the same.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lhotse import SupervisionSet

from reslstm.errors import ReslstmError

SUBSETS = ("overlapped", "non_overlapped")


@dataclass(frozen=True)
class Segment:
    """One speaker's segment of a recording, in seconds from the recording's start (an STM
    line, when it has its words)."""

    id: str
    recording: str
    speaker: str
    start: float
    end: float
    text: str = ""


def overlapped_ids(segments: Iterable[Segment]) -> set[str]:
    """Ids of the segments that another speaker's segment of the same recording intersects."""
    by_recording: dict[str, list[Segment]] = defaultdict(list)
    for seg in segments:
        by_recording[seg.recording].append(seg)
    found: set[str] = set()
    for segs in by_recording.values():
        segs.sort(key=lambda s: s.start)
        for i, a in enumerate(segs):
            for b in segs[i + 1 :]:  # sorted by start: stop at the first one starting after a
                if b.start >= a.end:
                    break
                if b.speaker != a.speaker:
                    found.update((a.id, b.id))
    return found


def supervision_segments(path: Path) -> list[Segment]:
    """The segments of a lhotse supervision manifest (one per supervision)."""
    try:
        sups = SupervisionSet.from_file(path)
    except Exception as e:  # noqa: BLE001 - any unreadable manifest gets the same one line
        raise ReslstmError(f"cannot read supervisions {path}: {e}") from e
    return [Segment(s.id, s.recording_id, s.speaker or "", s.start, s.end) for s in sups]
