"""Turn lhotse's AMI recordings and supervisions into one-supervision mono cuts per segment."""

from __future__ import annotations

from collections import Counter

from lhotse import CutSet, RecordingSet, SupervisionSet, validate
from lhotse.cut import Cut, MultiCut
from lhotse.utils import fastcopy

from reslstm.data.errors import CorpusError


def build_cuts(
    recordings: RecordingSet,
    supervisions: SupervisionSet,
    split: str,
    min_duration: float,
    max_segment_duration: float,
) -> tuple[CutSet, Counter]:
    """One mono cut per supervision segment, filtered; returns the cuts and the drop counts.

    Drops segments whose normalised text is empty (punctuation-only) and those outside
    ``[min_duration, max_segment_duration]`` seconds, counting each reason.
    """
    cuts = (
        CutSet.from_manifests(recordings=recordings, supervisions=supervisions)
        .trim_to_supervisions(keep_overlapping=False)
        .drop_alignments()
    )
    dropped: Counter = Counter(empty_text=0, too_short=0, too_long=0)
    kept: list[Cut] = []
    for cut in cuts:
        if len(cut.supervisions) != 1:
            raise CorpusError(f"cut {cut.id} has {len(cut.supervisions)} supervisions, expected 1")
        if not cut.supervisions[0].text.strip():
            dropped["empty_text"] += 1
        elif cut.duration < min_duration:
            dropped["too_short"] += 1
        elif cut.duration > max_segment_duration:
            dropped["too_long"] += 1
        else:
            kept.extend(mono_views(cut, split))
    result = CutSet.from_cuts(kept)
    validate(result, read_data=False)
    return result, dropped


def mono_views(cut: Cut, split: str) -> list[Cut]:
    """Single-channel cuts with an integer channel, as the feature stage expects.

    SDM and IHM cuts are already single-channel. An MDM cut spans both arrays: train keeps one
    cut per Array1 microphone (eight views of the same speech), dev and test keep Array1-01
    only, so their scores are comparable with SDM.
    """
    if isinstance(cut, MultiCut):
        source_of = {c: s.source for s in cut.recording.sources for c in s.channels}
        array1 = [view for view in cut.to_mono() if ".Array1-" in source_of[view.channel]]
        return array1 if split == "train" else array1[:1]
    (channel,) = cut.channel if isinstance(cut.channel, list) else [cut.channel]
    return [
        fastcopy(
            cut, channel=channel, supervisions=[fastcopy(cut.supervisions[0], channel=channel)]
        )
    ]
