"""Character token set for CTC: blank, word separator and the characters of the transcripts.

``tokens.txt`` holds one ``<token> <id>`` per line. Id 0 is the CTC blank ``<blk>``, id 1 the
word separator ``|`` (flashlight's default silence token, so the lexicon decoder can use it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

BLANK = "<blk>"
WORD_SEP = "|"


@dataclass(frozen=True)
class CharTokenizer:
    """Maps normalised transcripts to token ids and back."""

    tokens: tuple[str, ...]

    @property
    def blank_id(self) -> int:
        return 0

    @property
    def sep_id(self) -> int:
        return 1

    @cached_property
    def _index(self) -> dict[str, int]:
        return {tok: i for i, tok in enumerate(self.tokens)}

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> CharTokenizer:
        """Build the token set from training transcripts (sorted, deterministic)."""
        chars = sorted({c for t in texts for c in t if not c.isspace()})
        if WORD_SEP in chars:
            raise ValueError(f"transcripts contain the reserved word separator {WORD_SEP!r}")
        return cls((BLANK, WORD_SEP, *chars))

    @classmethod
    def from_file(cls, path: str | Path) -> CharTokenizer:
        rows = [line.split() for line in Path(path).read_text(encoding="utf-8").splitlines()]
        tokens = [tok for tok, _ in sorted(rows, key=lambda r: int(r[1]))]
        if tokens[:2] != [BLANK, WORD_SEP]:
            raise ValueError(f"{path}: ids 0 and 1 must be {BLANK} and {WORD_SEP}")
        return cls(tuple(tokens))

    def to_text(self) -> str:
        """The ``tokens.txt`` contents."""
        return "".join(f"{tok} {i}\n" for i, tok in enumerate(self.tokens))

    def spell(self, word: str) -> list[str]:
        """A word's token spelling (its characters)."""
        return list(word)

    def oov_chars(self, text: str) -> set[str]:
        """Characters of ``text`` that are not in the token set."""
        return {c for c in text if not c.isspace() and c not in self._index}

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``: words separated by ``|``; unknown characters are dropped."""
        index = self._index
        ids: list[int] = []
        for word in text.split():
            if ids:
                ids.append(self.sep_id)
            ids.extend(index[c] for c in word if c in index)
        return ids
