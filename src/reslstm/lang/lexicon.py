"""The flashlight lexicon: one ``WORD W O R D`` line per word (its character spelling)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from reslstm.io import atomic_write_text
from reslstm.tokens import CharTokenizer


def lexicon_text(words: Iterable[str], tokenizer: CharTokenizer) -> str:
    """Lexicon lines for the distinct ``words`` (sorted) that the tokenizer can spell.

    Spellings carry no trailing ``|``: the acoustic model emits ``|`` only *between* words, and
    the decoder inserts the silence token ``|`` between words by itself. With a trailing ``|``
    the last word of an utterance could only be completed by a ``|`` the model never emits.
    Words with characters outside the token set are skipped.
    """
    lines = []
    for word in sorted(set(words)):
        if word and not tokenizer.oov_chars(word):
            lines.append(f"{word} {' '.join(tokenizer.spell(word))}\n")
    return "".join(lines)


def write_lexicon(words: Iterable[str], tokenizer: CharTokenizer, path: str | Path) -> int:
    """Write the lexicon of ``words`` to ``path`` atomically; returns the number of entries."""
    text = lexicon_text(words, tokenizer)
    atomic_write_text(path, text)
    return text.count("\n")
