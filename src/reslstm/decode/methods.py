"""Decoding methods by the name ``decode.methods`` uses: one :class:`DecodeMethod` entry each.

A method turns the model's output into words with their output frames; stage 4 runs every
method named in ``decode.methods`` on the same forward pass, and the results table titles each
method's table with its ``description``. Another method is one :func:`register_decode_method`
call (docs/architecture.md, "How to add a decoder").
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from omegaconf import DictConfig

from reslstm.ctc import TimedWord, greedy_decode
from reslstm.decode.beam import LexiconBeamDecoder
from reslstm.errors import ReslstmError
from reslstm.layout import LangDir, require
from reslstm.tokens import Tokenizer

# (log_probs [B, T, V], lengths [B]) -> per utterance, its words with their output frames
Decoder = Callable[[torch.Tensor, torch.Tensor], list[list[TimedWord]]]


@dataclass(frozen=True)
class DecodeMethod:
    """One decoding method: its name, a one-line description, and how to build its decoder
    from the run's config and token set."""

    name: str
    description: str
    make: Callable[[DictConfig, Tokenizer], Decoder]


DECODE_METHODS: dict[str, DecodeMethod] = {}


def register_decode_method(method: DecodeMethod) -> DecodeMethod:
    """Make ``method`` available in ``decode.methods``; returns it."""
    DECODE_METHODS[method.name] = method
    return method


def make_decoders(cfg: DictConfig, tokenizer: Tokenizer) -> dict[str, Decoder]:
    """The decoders of the methods named in ``decode.methods``, by name."""
    unknown = [m for m in cfg.decode.methods if m not in DECODE_METHODS]
    if unknown:
        known = ", ".join(DECODE_METHODS)
        raise ReslstmError(f"decode.methods: unknown method {unknown[0]!r} ({known})")
    return {m: DECODE_METHODS[m].make(cfg, tokenizer) for m in cfg.decode.methods}


def _greedy(cfg: DictConfig, tokenizer: Tokenizer) -> Decoder:
    return functools.partial(greedy_decode, tokenizer=tokenizer)


def _beam_lm(cfg: DictConfig, tokenizer: Tokenizer) -> Decoder:
    """Stage 2's lexicon and word LM (``paths.lang_dir``) with the ``decode`` beam settings."""
    lang, decode = LangDir(Path(cfg.paths.lang_dir)), cfg.decode
    return LexiconBeamDecoder(
        tokenizer,
        require(lang.lexicon, 2),
        require(lang.lm, 2),
        beam_size=decode.beam_size,
        lm_weight=decode.lm_weight,
        word_score=decode.word_score,
        beam_threshold=decode.beam_threshold,
        nbest=decode.nbest,
    ).decode_timed


register_decode_method(DecodeMethod("greedy", "greedy CTC best path, no LM", _greedy))
register_decode_method(
    DecodeMethod("beam_lm", "lexicon-constrained CTC beam search with the word n-gram LM", _beam_lm)
)
