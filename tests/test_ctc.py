"""The CTC pieces training and decoding share: the loss, the frames a target needs, word
grouping (greedy search itself: tests/decode/test_search.py)."""

from __future__ import annotations

import torch

from reslstm.ctc import TimedWord, ctc_loss, ctc_min_frames, group_words
from reslstm.tokens import CharTokenizer

TOKENIZER = CharTokenizer.from_texts(["AB BA"])  # <blk> | A B


def test_the_loss_is_per_target_token() -> None:
    torch.manual_seed(0)
    log_probs = torch.randn(2, 6, 4).log_softmax(-1)
    targets, target_lens = torch.tensor([2, 3, 3, 2, 1]), torch.tensor([3, 2])
    out_lens = torch.tensor([6, 4])
    summed = torch.nn.functional.ctc_loss(
        log_probs.transpose(0, 1), targets, out_lens, target_lens, reduction="sum"
    )
    loss = ctc_loss(log_probs, out_lens, targets, target_lens, blank_id=0)
    torch.testing.assert_close(loss, summed / 5)


def test_a_repeated_token_needs_a_blank_between() -> None:
    assert ctc_min_frames([2, 3]) == 2
    assert ctc_min_frames([2, 2, 3, 3, 3]) == 8
    assert ctc_min_frames([]) == 0


def test_words_split_at_the_separator_and_keep_their_frames() -> None:
    a, b, sep = 2, 3, TOKENIZER.sep_id
    tokens, frames = [sep, a, b, sep, sep, b, a, sep], [0, 1, 3, 4, 5, 7, 9, 10]
    assert group_words(tokens, frames, TOKENIZER) == [TimedWord("AB", 1, 4), TimedWord("BA", 7, 10)]
    assert group_words([], [], TOKENIZER) == []
