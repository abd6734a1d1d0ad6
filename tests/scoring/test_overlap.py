"""The overlap rule: which segments count as overlapped (paper's over / non-over WER split)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from lhotse import SupervisionSegment, SupervisionSet

from reslstm.errors import ReslstmError
from reslstm.layout import ManifestDir
from reslstm.scoring.overlap import (
    Segment,
    overlapped_ids,
    supervision_segments,
)


def seg(i: str, spk: str, start: float, end: float, rec: str = "ES2011a") -> Segment:
    return Segment(i, rec, spk, start, end)


def test_another_speakers_intersecting_segment_makes_both_overlapped() -> None:
    segs = [seg("a", "A", 0.0, 2.0), seg("b", "B", 1.5, 3.0), seg("c", "C", 5.0, 6.0)]
    assert overlapped_ids(segs) == {"a", "b"}


def test_touching_segments_and_the_same_speaker_do_not_overlap() -> None:
    segs = [
        seg("a", "A", 0.0, 2.0),
        seg("b", "B", 2.0, 3.0),  # starts where a ends
        seg("c", "A", 2.5, 4.0),  # intersects b... but is checked against a too (same speaker)
        seg("d", "A", 1.0, 1.5),  # inside a, same speaker
    ]
    assert overlapped_ids(segs) == {"b", "c"}


def test_only_segments_of_the_same_recording_overlap() -> None:
    segs = [seg("a", "A", 0.0, 2.0, "ES2011a"), seg("b", "B", 0.5, 1.0, "ES2011b")]
    assert overlapped_ids(segs) == set()


def test_a_long_segment_overlaps_a_later_one_past_shorter_ones() -> None:
    segs = [seg("long", "A", 0.0, 10.0), seg("x", "A", 1.0, 2.0), seg("late", "B", 9.0, 11.0)]
    assert overlapped_ids(segs) == {"long", "late"}


def test_segments_are_read_from_a_lhotse_supervision_manifest(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    sups = SupervisionSet.from_segments(
        [
            SupervisionSegment("s1", "ES2011a", 1.0, 2.0, speaker="A", text="HELLO"),
            SupervisionSegment("s2", "ES2011a", 2.5, 1.0, speaker="B", text="YES"),
        ]
    )
    sups.to_file(raw / "ami-sdm_supervisions_dev.jsonl.gz")
    path = ManifestDir(tmp_path).supervisions("dev")
    segs = supervision_segments(path)
    assert [(s.id, s.start, s.end) for s in segs] == [("s1", 1.0, 3.0), ("s2", 2.5, 3.5)]
    assert overlapped_ids(segs) == {"s1", "s2"}


def test_missing_or_malformed_supervisions_fail_with_one_line(tmp_path: Path) -> None:
    with pytest.raises(ReslstmError, match="run stage 0"):
        ManifestDir(tmp_path).supervisions("test")
    (tmp_path / "raw").mkdir()
    bad = tmp_path / "raw" / "ami-sdm_supervisions_test.jsonl.gz"
    with gzip.open(bad, "wt") as f:
        f.write('{"id": "s1", "recording_id": \n')
    with pytest.raises(ReslstmError, match="cannot read supervisions") as err:
        supervision_segments(bad)
    assert "\n" not in str(err.value).strip()
