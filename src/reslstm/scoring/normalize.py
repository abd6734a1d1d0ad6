"""AMI text normalisation, delegated to lhotse so references and hypotheses match the manifests."""

from __future__ import annotations

from lhotse.recipes.utils import normalize_text_ami

METHODS = ("kaldi", "upper", "none")


def normalize(text: str, method: str = "kaldi") -> str:
    """Normalise ``text`` as lhotse's AMI recipe does, with whitespace collapsed.

    ``kaldi``: uppercase, punctuation to spaces, ``MM-HMM``/``UH-HUH``/``OK`` joined;
    ``upper``: uppercase only; ``none``: unchanged.
    """
    if method not in METHODS:
        raise ValueError(f"unknown normalisation {method!r}; expected one of {METHODS}")
    return " ".join(normalize_text_ami(text, normalize=method).split())
