"""The flashlight lexicon: one line per word, the word and its token spelling (``WORD W O R D``
for characters, ``WORD ▁WO RD`` for BPE pieces)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from reslstm.io import atomic_write_text
from reslstm.tokens import Tokenizer


def lexicon_text(words: Iterable[str], tokenizer: Tokenizer) -> str:
    """Lexicon lines for the distinct ``words`` (sorted) that the tokenizer can spell.

    Spellings carry no trailing ``|``: the acoustic model emits ``|`` only *between* words, and
    the decoder inserts the silence token ``|`` between words by itself. With a trailing ``|``
    the last word of an utterance could only be completed by a ``|`` the model never emits.
    BPE spellings mark the word start in their first piece (``▁``) and need no separator.
    Words with characters outside the token set are skipped.
    """
    lines = []
    for word in sorted(set(words)):
        if word and not tokenizer.oov_chars(word):
            lines.append(f"{word} {' '.join(tokenizer.spell(word))}\n")
    return "".join(lines)


def write_lexicon(words: Iterable[str], tokenizer: Tokenizer, path: str | Path) -> int:
    """Write the lexicon of ``words`` to ``path`` atomically; returns the number of entries."""
    text = lexicon_text(words, tokenizer)
    atomic_write_text(path, text)
    return text.count("\n")
