"""The mini corpus: synthetic meetings (TTS speech + simulated room acoustics) in AMI's layout."""

from reslstm.data.mini.generate import generate_corpus

__all__ = ["generate_corpus"]
