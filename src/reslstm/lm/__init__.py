"""Word n-gram language models for the lexicon beam decoder (stage 2)."""

from reslstm.lm.ngram import NgramLM, train_ngram, write_arpa

__all__ = ["NgramLM", "train_ngram", "write_arpa"]
