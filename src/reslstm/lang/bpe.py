"""Stage 2's BPE pieces: a sentencepiece model trained on the training transcripts.

The model keeps the transcripts as they are (no Unicode normalisation), covers every character
of them, and reserves id 0 for the CTC blank ``<blk>`` and id 1 for ``<unk>`` (no sentence
begin/end pieces: CTC needs none); :class:`reslstm.tokens.BpeTokenizer` reads it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import sentencepiece as spm

from reslstm.errors import ReslstmError
from reslstm.tokens import BLANK

# sentencepiece's errors for a vocabulary the text cannot fill, and one it cannot fit in
TOO_HIGH = re.compile(r"Vocabulary size too high \(\d+\)\. Please set it to a value <= (\d+)")
TOO_LOW = re.compile(r"Vocabulary size is smaller than required_chars\. \d+ vs (\d+)")


def train_bpe(texts: Sequence[str], vocab_size: int) -> bytes:
    """The serialised model of ``vocab_size`` pieces (``<blk>`` and ``<unk>`` included); a
    one-line error naming ``lang.bpe_vocab_size`` if the transcripts do not allow that many."""
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(texts),
            model_writer=model,
            model_type="bpe",
            vocab_size=vocab_size,
            character_coverage=1.0,
            normalization_rule_name="identity",
            user_defined_symbols=[BLANK],
            unk_id=1,
            bos_id=-1,
            eos_id=-1,
            num_threads=1,
            minloglevel=2,
        )
    except RuntimeError as e:
        raise ReslstmError(f"lang.bpe_vocab_size={vocab_size}: {_reason(str(e))}") from e
    return model.getvalue()


def _reason(message: str) -> str:
    """sentencepiece's error in the recipe's words."""
    if high := TOO_HIGH.search(message):
        return f"the training transcripts allow at most {high[1]} pieces"
    if low := TOO_LOW.search(message):
        return (
            f"the training transcripts need at least {low[1]} pieces "
            f"(each character, {BLANK} and <unk>)"
        )
    return " ".join(message.split())
