"""Write meetings to disk exactly as the AMI corpus lays them out (see docs/mini_corpus.md).

``<root>/<MEETING>/audio/<MEETING>.{Array1-01,Headset-<n>}.wav`` and
``<root>/ami_public_manual_1.6.2/{corpusResources/meetings.xml, segments/, words/}`` in the NITE
XML format that lhotse's AMI recipe parses.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from reslstm.data.ami_format import ANNOTATIONS, SAMPLE_RATE

NITE = "http://nite.sourceforge.net/"
ET.register_namespace("nite", NITE)


@dataclass(frozen=True)
class Word:
    """A word or punctuation token with its times in seconds."""

    text: str
    start: float
    end: float
    punc: bool = False


@dataclass(frozen=True)
class Segment:
    """A transcriber segment: consecutive sentences of one speaker."""

    agent: str
    words: tuple[Word, ...]

    @property
    def start(self) -> float:
        return self.words[0].start

    @property
    def end(self) -> float:
        return self.words[-1].end


@dataclass(frozen=True)
class Participant:
    """A meeting participant as meetings.xml lists it."""

    agent: str
    global_name: str
    channel: int


def _nite(name: str) -> str:
    return f"{{{NITE}}}{name}"


def _time(t: float) -> str:
    return f"{t:.2f}"


def _write_xml(root: ET.Element, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.indent(root, space="   ")
    ET.ElementTree(root).write(path, encoding="UTF-8", xml_declaration=True)


def write_audio(path: Path, audio: np.ndarray) -> None:
    """Write mono 16 kHz 16-bit PCM wav (clipped to [-1, 1])."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.clip(audio, -1.0, 1.0), SAMPLE_RATE, subtype="PCM_16", format="WAV")


def audio_dir(root: Path, meeting: str) -> Path:
    return root / meeting / "audio"


def write_annotations(root: Path, meeting: str, agent: str, segments: list[Segment]) -> None:
    """Write ``segments/<M>.<A>.segments.xml`` and ``words/<M>.<A>.words.xml`` of one speaker."""
    base = root / ANNOTATIONS
    words_id = f"{meeting}.{agent}.words"
    words_root = ET.Element(_nite("root"), {_nite("id"): words_id})
    segs_root = ET.Element(_nite("root"), {_nite("id"): f"{meeting}.{agent}.segs"})
    index = 0
    for seg_index, segment in enumerate(segments):
        seg = ET.SubElement(segs_root, "segment", {
            _nite("id"): f"{meeting}.segment.{agent}.{seg_index}",
            "transcriber_start": _time(segment.start),
            "transcriber_end": _time(segment.end),
        })  # fmt: skip
        first = index
        for word in segment.words:
            attrs = {_nite("id"): f"{words_id}{index}", "starttime": _time(word.start),
                     "endtime": _time(word.end)}  # fmt: skip
            if word.punc:
                attrs["punc"] = "true"
            ET.SubElement(words_root, "w", attrs).text = word.text
            index += 1
        href = f"{words_id}.xml#id({words_id}{first})..id({words_id}{index - 1})"
        ET.SubElement(seg, _nite("child"), {"href": href})
    _write_xml(segs_root, base / "segments" / f"{meeting}.{agent}.segments.xml")
    _write_xml(words_root, base / "words" / f"{meeting}.{agent}.words.xml")


def write_meetings_xml(root: Path, meetings: dict[str, list[Participant]]) -> None:
    """Write ``corpusResources/meetings.xml`` listing every meeting's participants."""
    top = ET.Element("meetings")
    for meeting, participants in sorted(meetings.items()):
        node = ET.SubElement(top, "meeting", {
            _nite("id"): meeting, "observation": meeting, "type": "scenario",
        })  # fmt: skip
        for p in participants:
            ET.SubElement(node, "speaker", {
                _nite("id"): f"{meeting}.speaker.{p.agent}", "channel": str(p.channel),
                "nxt_agent": p.agent, "global_name": p.global_name,
            })  # fmt: skip
    _write_xml(top, root / ANNOTATIONS / "corpusResources" / "meetings.xml")
