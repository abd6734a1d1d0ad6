"""Generate one synthetic meeting: turns of TTS speech on a timeline, headsets and distant mic."""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reslstm.data.mini import grammar
from reslstm.data.mini.room import Acoustics, simulate
from reslstm.data.ami_format import SAMPLE_RATE
from reslstm.data.mini.voices import Speaker, synthesize
from reslstm.data.mini.writer import (
    Participant,
    Segment,
    Word,
    audio_dir,
    write_annotations,
    write_audio,
)

GRID = SAMPLE_RATE // 100  # utterances start on a 10 ms grid, so 2-decimal times are exact
LEAD_S = 0.5  # silence before the first and after the last turn
TURN_BATCH = 24  # at most this many turns are drawn (and synthesised) at a time
TURN_S = 4.0  # rough turn length, to draw only as many turns as the meeting still needs


@dataclass(frozen=True)
class Conversation:
    """How turns are drawn and laid out."""

    sentences_per_turn: tuple[int, int]
    pause_s: tuple[float, float]
    sentence_pause_s: tuple[float, float]
    overlap_share: float
    overlap_s: tuple[float, float]
    filler_prob: float


@dataclass(frozen=True)
class MeetingPlan:
    """Everything a worker needs to generate one meeting."""

    meeting: str
    split: str
    speakers: tuple[Speaker, ...]
    target_s: float
    seed: int
    conversation: Conversation
    acoustics: Acoustics


@dataclass
class _Turn:
    speaker: int
    sentences: list[list[str]]


def meeting_rng(seed: int, meeting: str) -> np.random.Generator:
    """The meeting's own RNG: independent of which worker runs it or in which order."""
    return np.random.default_rng([seed, zlib.crc32(meeting.encode())])


def _grid(seconds: float) -> int:
    return int(round(seconds * SAMPLE_RATE / GRID)) * GRID


def _text(tokens: list[str]) -> str:
    """TTS input: words separated by spaces, punctuation attached to the word before."""
    out = ""
    for t in tokens:
        out += t if t in grammar.PUNCTUATION or not out else " " + t
    return out


def _word_times(tokens: list[str], start: int, length: int) -> list[Word]:
    """Spread a sentence's words over its audio in proportion to their letters.

    The first word starts and the last word ends exactly at the audio's edges (so supervisions
    are exact); boundaries inside a sentence are an approximation on a 10 ms grid.
    """
    words = grammar.words_of(tokens)
    weights = np.array([len(w) + 1 for w in words], dtype=float)
    edges = start + np.concatenate([[0.0], np.cumsum(weights) / weights.sum()]) * length
    ticks = np.round(edges / GRID).astype(int)
    ticks = np.maximum(ticks, ticks[0] + np.arange(len(ticks)))  # strictly increasing
    ticks[-1] = max(ticks[-1], (start + length) // GRID)
    out: list[Word] = []
    i = 0
    for token in tokens:
        if token in grammar.PUNCTUATION:
            t = out[-1].end if out else ticks[0] * GRID / SAMPLE_RATE
            out.append(Word(token, t, t, punc=True))
            continue
        out.append(Word(token, ticks[i] * GRID / SAMPLE_RATE, ticks[i + 1] * GRID / SAMPLE_RATE))
        i += 1
    return out


def _draw_turns(
    plan: MeetingPlan,
    rng: np.random.Generator,
    sentences: Iterator[list[str]],
    previous: int,
    count: int,
) -> list[_Turn]:
    """``count`` turns; consecutive turns go to different speakers."""
    lo, hi = plan.conversation.sentences_per_turn
    turns = []
    for _ in range(count):
        speaker = int(rng.integers(len(plan.speakers)))
        if speaker == previous and len(plan.speakers) > 1:
            speaker = (speaker + 1 + int(rng.integers(len(plan.speakers) - 1))) % len(plan.speakers)
        turns.append(
            _Turn(speaker, [next(sentences) for _ in range(int(rng.integers(lo, hi + 1)))])
        )
        previous = speaker
    return turns


def _synthesize_turns(plan: MeetingPlan, turns: list[_Turn]) -> list[list[np.ndarray]]:
    """Audio of each sentence of each turn, synthesised speaker by speaker."""
    by_speaker: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for t, turn in enumerate(turns):
        by_speaker[turn.speaker].extend((t, s) for s in range(len(turn.sentences)))
    audio: list[list[np.ndarray]] = [[None] * len(turn.sentences) for turn in turns]
    for speaker, keys in sorted(by_speaker.items()):
        texts = [_text(turns[t].sentences[s]) for t, s in keys]
        for (t, s), wav in zip(keys, synthesize(plan.speakers[speaker], texts), strict=True):
            audio[t][s] = wav
    return audio


def generate_meeting(plan: MeetingPlan, root: Path) -> dict:
    """Generate, simulate and write one meeting; returns its metadata."""
    rng = meeting_rng(plan.seed, plan.meeting)
    conv = plan.conversation
    sentences = grammar.sentences_for(plan.split, rng, conv.filler_prob)
    n = len(plan.speakers)
    placed: list[tuple[int, int, np.ndarray]] = []  # (speaker, start sample, audio)
    segments: list[list[Segment]] = [[] for _ in range(n)]
    speaker_free = [_grid(LEAD_S)] * n
    cursor, previous, target = _grid(LEAD_S), -1, _grid(LEAD_S + plan.target_s)
    while cursor < target:
        count = min(TURN_BATCH, 1 + int((target - cursor) / SAMPLE_RATE / TURN_S))
        turns = _draw_turns(plan, rng, sentences, previous, count)
        for turn, audio in zip(turns, _synthesize_turns(plan, turns), strict=True):
            start = cursor + _grid(rng.uniform(*conv.pause_s))
            if previous >= 0 and rng.random() < conv.overlap_share:
                start = cursor - _grid(rng.uniform(*conv.overlap_s))
            start = max(start, speaker_free[turn.speaker], _grid(LEAD_S))
            words: list[Word] = []
            for k, (tokens, wav) in enumerate(zip(turn.sentences, audio, strict=True)):
                if k:
                    start += _grid(rng.uniform(*conv.sentence_pause_s))
                length = -(-len(wav) // GRID) * GRID
                placed.append((turn.speaker, start, wav))
                words.extend(_word_times(tokens, start, length))
                start += length
            segments[turn.speaker].append(Segment(chr(ord("A") + turn.speaker), tuple(words)))
            speaker_free[turn.speaker] = start
            cursor = max(cursor, start)
            previous = turn.speaker
            if cursor >= target:
                break
    total = cursor + _grid(LEAD_S)
    tracks = [np.zeros(total, dtype=np.float32) for _ in range(n)]
    for speaker, start, wav in placed:
        tracks[speaker][start : start + len(wav)] += wav
    distant, room_info = simulate(tracks, plan.acoustics, rng)
    distant *= 0.7 / (float(np.abs(distant).max()) or 1.0)
    directory = audio_dir(root, plan.meeting)
    write_audio(directory / f"{plan.meeting}.Array1-01.wav", distant)
    participants = []
    for k, (speaker, track) in enumerate(zip(plan.speakers, tracks, strict=True)):
        agent = chr(ord("A") + k)
        # A faint noise floor: real headsets are never digitally silent.
        headset = track + 1e-4 * rng.standard_normal(total).astype(np.float32)
        write_audio(directory / f"{plan.meeting}.Headset-{k}.wav", headset)
        write_annotations(root, plan.meeting, agent, segments[k])
        participants.append(Participant(agent, speaker.global_name, k))
    return {
        "meeting": plan.meeting,
        "split": plan.split,
        "duration_s": round(total / SAMPLE_RATE, 2),
        "segments": sum(len(s) for s in segments),
        "participants": participants,
        "speakers": [s.global_name for s in plan.speakers],
        "voices": [f"{s.voice.engine}:{s.voice.name}" for s in plan.speakers],
        **room_info,
    }
