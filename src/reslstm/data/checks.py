"""Check an AMI-layout corpus before lhotse reads it, so bad input fails with one clear line.

lhotse's AMI recipe crashes with bare tracebacks (ValueError, KeyError, assertion) on a stray
file in ``words/`` or ``segments/``, a segments file without its words file, or a missing
directory; it silently skips multi-channel files. These checks turn each case into a
:class:`CorpusError` that names the file and the fix.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import soundfile as sf
from lhotse.recipes.ami import PARTITIONS

from reslstm.data.ami_format import ANNOTATIONS, AUDIO_GLOBS, SAMPLE_RATE
from reslstm.data.errors import CorpusError
from reslstm.io import atomic_path

FIX_AMI = (
    "download AMI with `data.download=true` or point data.corpus_dir at an extracted amicorpus"
)


def annotations_dir(corpus_dir: Path, fix: str = FIX_AMI) -> Path:
    """The extracted annotations directory (unpacking lhotse's downloaded zip if needed)."""
    directory = corpus_dir / ANNOTATIONS
    archive = corpus_dir / f"{ANNOTATIONS}.zip"
    if not directory.is_dir() and archive.is_file():
        try:
            with zipfile.ZipFile(archive) as z, atomic_path(directory) as tmp:
                z.extractall(tmp)
        except zipfile.BadZipFile as e:
            raise CorpusError(f"corrupt annotation archive {archive}: delete it and {fix}") from e
    if not directory.is_dir():
        raise CorpusError(f"missing annotation directory {directory}: {fix}")
    return directory


def check_corpus(corpus_dir: Path, mic: str, partition: str, fix: str = FIX_AMI) -> Path:
    """Raise :class:`CorpusError` unless ``corpus_dir`` is a usable AMI corpus for ``mic`` (one
    of :data:`AUDIO_GLOBS`, checked by :func:`reslstm.data.mics.training_mics`).

    Returns the annotations directory to pass to lhotse.
    """
    if partition not in PARTITIONS:
        raise CorpusError(f"unknown data.partition={partition!r}: use one of {sorted(PARTITIONS)}")
    if not corpus_dir.is_dir():
        raise CorpusError(f"missing corpus directory {corpus_dir}: {fix}")
    ann = annotations_dir(corpus_dir, fix)
    agents = _meeting_agents(ann / "corpusResources" / "meetings.xml", fix)
    segment_keys = _annotation_files(ann / "segments", "segments", fix)
    word_keys = _annotation_files(ann / "words", "words", fix)
    missing = sorted(segment_keys & agents - word_keys)
    if missing:
        meeting, agent = missing[0]
        raise CorpusError(
            f"missing annotation file {ann / 'words' / f'{meeting}.{agent}.words.xml'} "
            f"(its segments file exists): {fix}"
        )
    meetings = _check_audio(corpus_dir, mic, fix)
    annotated = {meeting for meeting, _ in segment_keys & agents}
    for split, ids in PARTITIONS[partition].items():
        if not set(ids) & meetings & annotated:
            raise CorpusError(
                f"no annotated {mic} recording of the {split} split under {corpus_dir} "
                f"(lhotse's {partition} {split} meetings include {', '.join(ids[:3])}, ...): {fix}"
            )
    return ann


def _meeting_agents(path: Path, fix: str) -> set[tuple[str, str]]:
    """(meeting, agent) pairs listed in meetings.xml, checking the attributes lhotse reads."""
    if not path.is_file():
        raise CorpusError(f"missing annotation file {path}: {fix}")
    try:
        root = ET.parse(path).getroot()
        pairs = set()
        for meeting in root:
            for speaker in meeting:
                int(speaker.attrib["channel"])
                speaker.attrib["global_name"]  # noqa: B018 - lhotse reads it
                pairs.add((meeting.attrib["observation"], speaker.attrib["nxt_agent"]))
    except (ET.ParseError, KeyError, ValueError) as e:
        raise CorpusError(f"malformed annotation file {path} ({e!r}): {fix}") from e
    return pairs


def _annotation_files(directory: Path, kind: str, fix: str) -> set[tuple[str, str]]:
    """(meeting, agent) of each ``<MEETING>.<AGENT>.<kind>.xml``; anything else is an error."""
    if not directory.is_dir():
        raise CorpusError(f"missing annotation directory {directory}: {fix}")
    keys = set()
    for path in sorted(directory.iterdir()):
        parts = path.name.split(".")
        if not path.is_file() or len(parts) != 4 or parts[2:] != [kind, "xml"]:
            raise CorpusError(
                f"unexpected entry {path} (lhotse's AMI parser reads every file in "
                f"{directory.name}/ and needs names like ES2002a.A.{kind}.xml): move it out of "
                "that directory"
            )
        keys.add((parts[0], parts[1]))
    return keys


def _check_audio(corpus_dir: Path, mic: str, fix: str) -> set[str]:
    """Check every wav lhotse would read for ``mic``; return the meeting ids that have audio."""
    paths = sorted(corpus_dir.rglob(AUDIO_GLOBS[mic]))
    if not paths:
        raise CorpusError(f"no {mic} audio ({AUDIO_GLOBS[mic]}) under {corpus_dir}: {fix}")
    meetings = set()
    for path in paths:
        try:
            info = sf.info(str(path))
        except (RuntimeError, sf.LibsndfileError) as e:
            reason = str(e).rsplit(": ", 1)[-1].rstrip(".")
            raise CorpusError(
                f"unreadable audio file {path} ({reason}): replace it, or {fix}"
            ) from e
        problem = (
            "is empty (0 samples)" if info.frames == 0
            else f"has {info.channels} channels, expected mono" if info.channels != 1
            else f"is sampled at {info.samplerate} Hz, expected {SAMPLE_RATE}"
            if info.samplerate != SAMPLE_RATE else None
        )  # fmt: skip
        if problem:
            raise CorpusError(f"audio file {path} {problem}: replace it, or {fix}")
        if path.parent.name != "audio" or not path.name.startswith(path.parts[-3]):
            raise CorpusError(
                f"audio file {path} is not at <MEETING>/audio/<MEETING>.*.wav as lhotse expects"
            )
        meetings.add(path.parts[-3])
    return meetings


def find_bad_xml(ann: Path) -> Path | None:
    """The first annotation file that is not well-formed XML (used after lhotse fails)."""
    for path in sorted([*(ann / "segments").iterdir(), *(ann / "words").iterdir()]):
        try:
            ET.parse(path)
        except ET.ParseError:
            return path
    return None
