"""Word times of a decode: the lexicon decoder's words timed by its tokens, and output frames
in seconds (what the CTM of a decode is made of; :class:`reslstm.ctc.TimedWord`)."""

from __future__ import annotations

from collections.abc import Sequence

from reslstm.ctc import TimedWord
from reslstm.tokens import Tokenizer


def spell_out(
    words: Sequence[str], tokens: Sequence[int], frames: Sequence[int], tokenizer: Tokenizer
) -> list[TimedWord]:
    """Times of lexicon ``words`` from the emitted ``tokens`` that spell them (as
    ``tokenizer.spell`` does: one token per letter, or the word's BPE pieces), silence tokens
    (emitted between some words, not all) skipped."""
    spelled = [f for t, f in zip(tokens, frames, strict=True) if t != tokenizer.sep_id]
    timed, at = [], 0
    for word in words:
        length = len(tokenizer.spell(word))
        span = spelled[at : at + length]
        if not span:  # cannot happen for a lexicon-constrained path; keep the word, zero length
            last = spelled[-1] + 1 if spelled else 0
            timed.append(TimedWord(word, last, last))
            continue
        timed.append(TimedWord(word, span[0], span[-1] + 1))
        at += length
    return timed


def to_seconds(frame: int, frame_shift: float, subsampling: int) -> float:
    """Seconds from the segment start of output frame ``frame``."""
    return frame * frame_shift * subsampling
