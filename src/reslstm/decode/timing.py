"""Words with CTC frame positions: what the CTM of a decode is made of.

A decoder returns, per utterance, :class:`TimedWord` s whose ``start``/``end`` are output-frame
indices of the model (after frame stacking): ``start`` is the frame of the word's first token,
``end`` one past the frame of its last token. :func:`to_seconds` turns them into times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class TimedWord:
    """A hypothesis word and the output frames ``[start, end)`` its tokens were emitted in."""

    word: str
    start: int
    end: int


def group_words(
    tokens: Sequence[int], frames: Sequence[int], sep_id: int, spell: dict[int, str]
) -> list[TimedWord]:
    """Split emitted tokens (and their frames) into words at the word separator ``sep_id``."""
    words: list[TimedWord] = []
    chars: list[str] = []
    first = last = 0
    for token, frame in zip(tokens, frames, strict=True):
        if token == sep_id:
            if chars:
                words.append(TimedWord("".join(chars), first, last + 1))
                chars = []
            continue
        if not chars:
            first = frame
        chars.append(spell[token])
        last = frame
    if chars:
        words.append(TimedWord("".join(chars), first, last + 1))
    return words


def spell_out(
    words: Sequence[str], tokens: Sequence[int], frames: Sequence[int], sep_id: int
) -> list[TimedWord]:
    """Times of lexicon ``words`` from the emitted ``tokens`` that spell them, one character
    token per letter, word separators (emitted between some words, not all) skipped."""
    spelled = [f for t, f in zip(tokens, frames, strict=True) if t != sep_id]
    timed, at = [], 0
    for word in words:
        span = spelled[at : at + len(word)]
        if not span:  # cannot happen for a lexicon-constrained path; keep the word, zero length
            last = spelled[-1] + 1 if spelled else 0
            timed.append(TimedWord(word, last, last))
            continue
        timed.append(TimedWord(word, span[0], span[-1] + 1))
        at += len(word)
    return timed


def text_of(words: Sequence[TimedWord]) -> str:
    return " ".join(w.word for w in words)


def to_seconds(frame: int, frame_shift: float, subsampling: int) -> float:
    """Seconds from the segment start of output frame ``frame``."""
    return frame * frame_shift * subsampling
