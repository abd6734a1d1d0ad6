"""Lexicon-constrained CTC beam search with an optional word n-gram LM (flashlight-text)."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torchaudio.models.decoder import ctc_decoder

from reslstm.ctc import TimedWord
from reslstm.decode.timing import spell_out
from reslstm.tokens import Tokenizer


class LexiconBeamDecoder:
    """torchaudio's ``ctc_decoder`` over the tokens of a :class:`reslstm.tokens.Tokenizer`.

    The lexicon spells each word in those tokens (characters, or BPE pieces whose first one
    carries the word start ``▁``). The decoder's silence token, optional between words, is the
    tokenizer's id 1: the word separator ``|`` for characters; for BPE ``<unk>``, a token the
    model is never trained to emit (fairseq's flashlight decoder uses its never-emitted
    end-of-sentence token the same way for word-piece dictionaries).

    Hypotheses are sequences of lexicon words; ``lm_file`` is an ARPA (or KenLM binary) word LM,
    ``None`` for lexicon-only search. A hypothesis scores ``acoustic (natural log) + lm_weight *
    LM (log10, KenLM's scores as they are) + word_score * words``; ``beam_threshold`` prunes
    hypotheses that far below the best one.
    """

    def __init__(
        self,
        tokenizer: Tokenizer,
        lexicon_file: str | Path,
        lm_file: str | Path | None,
        beam_size: int = 50,
        lm_weight: float = 2.0,
        word_score: float = 0.0,
        beam_threshold: float = 25.0,
        *,
        beam_size_token: int | None = None,
        sil_score: float = 0.0,
        unk_score: float = -math.inf,
        nbest: int = 1,
    ) -> None:
        tokens = list(tokenizer.tokens)
        self._tokenizer = tokenizer
        self._decoder = ctc_decoder(
            lexicon=str(lexicon_file),
            tokens=tokens,
            lm=None if lm_file is None else str(lm_file),
            nbest=nbest,
            beam_size=beam_size,
            beam_size_token=beam_size_token,
            beam_threshold=beam_threshold,
            lm_weight=lm_weight,
            word_score=word_score,
            unk_score=unk_score,
            sil_score=sil_score,
            blank_token=tokens[tokenizer.blank_id],
            sil_token=tokens[tokenizer.sep_id],
        )

    def decode_nbest(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[str]]:
        """The ``nbest`` best transcripts (words joined by single spaces) per utterance."""
        emissions = log_probs.detach().to("cpu", torch.float32).contiguous()
        hyps = self._decoder(emissions, lengths.detach().to("cpu", torch.int64))
        return [[" ".join(h.words) for h in utt] for utt in hyps]

    def decode(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[str]:
        """The best transcript per utterance; ``log_probs`` ``[B, T, V]``, ``lengths`` ``[B]``."""
        return [nbest[0] if nbest else "" for nbest in self.decode_nbest(log_probs, lengths)]

    def decode_timed(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[TimedWord]]:
        """The best hypothesis per utterance as words with the frames of their tokens."""
        emissions = log_probs.detach().to("cpu", torch.float32).contiguous()
        hyps = self._decoder(emissions, lengths.detach().to("cpu", torch.int64))
        # flashlight's timesteps count from 1 (step 0 holds the leading silence token it adds)
        return [
            spell_out(
                utt[0].words,
                utt[0].tokens.tolist(),
                [max(0, t - 1) for t in utt[0].timesteps.tolist()],
                self._tokenizer,
            )
            if utt
            else []
            for utt in hyps
        ]
