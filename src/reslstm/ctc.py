"""CTC, shared by training (stage 3) and decoding (stage 4): the loss, the frames a target
needs, and greedy (best-path) search with its detokenisation into timed words.

A decoder returns, per utterance, :class:`TimedWord` s whose ``start``/``end`` are output-frame
indices of the model (after frame stacking): ``start`` is the frame of the word's first token,
``end`` one past the frame of its last token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from reslstm.tokens import Tokenizer


@dataclass(frozen=True)
class TimedWord:
    """A hypothesis word and the output frames ``[start, end)`` its tokens were emitted in."""

    word: str
    start: int
    end: int


def ctc_loss(
    log_probs: torch.Tensor,
    out_lens: torch.Tensor,
    targets: torch.Tensor,
    target_lens: torch.Tensor,
    blank_id: int,
) -> torch.Tensor:
    """CTC loss summed over the batch, divided by the number of target tokens.

    ``log_probs`` ``[B, T, V]``, ``out_lens`` ``[B]``, ``targets`` the concatenated token ids,
    ``target_lens`` ``[B]`` (the batch contract of :mod:`reslstm.batches`).
    """
    device = log_probs.device
    loss = F.ctc_loss(
        log_probs.float().transpose(0, 1),
        targets.to(device),
        out_lens,
        target_lens.to(device),
        blank=blank_id,
        reduction="sum",
    )
    return loss / target_lens.sum().clamp(min=1).to(loss.device)


def ctc_min_frames(token_ids: list[int]) -> int:
    """Frames CTC needs for this target: one per token plus a blank between repeats."""
    repeats = sum(a == b for a, b in zip(token_ids, token_ids[1:], strict=False))
    return len(token_ids) + repeats


def best_path(
    log_probs: torch.Tensor, lengths: torch.Tensor, blank_id: int
) -> list[tuple[list[int], list[int]]]:
    """Per utterance, the best-path token ids (frame argmax, repeats collapsed, blanks dropped)
    and the frame each kept token was first emitted in.

    ``log_probs`` is ``[B, T, V]`` (any monotone scores work); frames past ``lengths[b]`` are
    ignored.
    """
    best = log_probs.argmax(dim=-1).cpu()
    hyps = []
    for frames, length in zip(best, lengths.tolist(), strict=True):
        path = frames[: int(length)]
        if len(path) == 0:
            hyps.append(([], []))
            continue
        starts = torch.ones_like(path, dtype=torch.bool)
        starts[1:] = path[1:] != path[:-1]  # first frame of each run of the same token
        keep = starts & (path != blank_id)
        hyps.append((path[keep].tolist(), keep.nonzero().flatten().tolist()))
    return hyps


def group_words(
    tokens: Sequence[int], frames: Sequence[int], tokenizer: Tokenizer
) -> list[TimedWord]:
    """Split emitted tokens (and their frames) into words at the word separator and before a
    token that starts a word (BPE's ``▁``): the one detokenisation of a CTC token sequence."""
    words: list[TimedWord] = []
    parts: list[str] = []
    first = last = 0
    start = tokenizer.word_start

    def close() -> None:
        if word := "".join(parts):
            words.append(TimedWord(word, first, last + 1))
        parts.clear()

    for token, frame in zip(tokens, frames, strict=True):
        if token == tokenizer.sep_id:
            close()
            continue
        text = tokenizer.tokens[token]
        if start and text.startswith(start):
            close()
            text = text[len(start) :]  # may leave "": the word still begins at this frame
            first = frame
        elif not parts:
            first = frame
        parts.append(text)
        last = frame
    close()
    return words


def greedy_decode(
    log_probs: torch.Tensor, lengths: torch.Tensor, tokenizer: Tokenizer
) -> list[list[TimedWord]]:
    """Greedy CTC search: per utterance, its words timed by the frames of their tokens."""
    found = best_path(log_probs, lengths, tokenizer.blank_id)
    return [group_words(ids, frames, tokenizer) for ids, frames in found]


def text_of(words: Sequence[TimedWord]) -> str:
    """The transcript of a decoded utterance: its words joined by single spaces."""
    return " ".join(w.word for w in words)
