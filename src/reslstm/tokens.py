"""CTC token sets: characters (the default) or sentencepiece BPE pieces, both with the CTC
blank at id 0 and the beam search's silence token at id 1.

Characters: ``tokens.txt`` holds one ``<token> <id>`` per line. Id 0 is the CTC blank ``<blk>``,
id 1 the word separator ``|`` (emitted between words, flashlight's default silence token).

BPE: the sentencepiece model ``bpe.model`` (:mod:`reslstm.lang.bpe` trains it) holds the pieces.
Id 0 is ``<blk>``, id 1 sentencepiece's ``<unk>``; a piece starting with :data:`WORD_START`
begins a word, so no separator token is emitted. ``<unk>`` is never a training target (unknown
characters are dropped, as for characters), so as the beam search's silence token it is a
token the model learns never to emit, not a word boundary.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol

import sentencepiece as spm

from reslstm.errors import ReslstmError
from reslstm.layout import LangDir, require

BLANK = "<blk>"
WORD_SEP = "|"
UNK = "<unk>"
WORD_START = "\u2581"  # sentencepiece's "▁", the first character of a word's first piece
TOKEN_TYPES = ("char", "bpe")  # lang.tokens


class Tokenizer(Protocol):
    """What training and decoding need of a token set."""

    @property
    def tokens(self) -> tuple[str, ...]:
        """Every token's text, by id."""
        ...

    @property
    def blank_id(self) -> int: ...

    @property
    def sep_id(self) -> int:
        """The beam search's silence token, skipped when tokens are joined into words."""
        ...

    @property
    def word_start(self) -> str:
        """The prefix of a token that begins a word (empty: words end at ``sep_id`` only)."""
        ...

    @property
    def vocab_size(self) -> int: ...

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``; unknown characters are dropped."""
        ...

    def spell(self, word: str) -> list[str]:
        """A word's token spelling (its lexicon entry)."""
        ...

    def oov_chars(self, text: str) -> set[str]:
        """Characters of ``text`` that no token covers."""
        ...


class _TokenIds:
    """What every token set has in common: the CTC blank at id 0 and the beam search's silence
    token at id 1."""

    tokens: tuple[str, ...]

    @property
    def blank_id(self) -> int:
        return 0

    @property
    def sep_id(self) -> int:
        return 1

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)


@dataclass(frozen=True)
class CharTokenizer(_TokenIds):
    """Maps normalised transcripts to character token ids and back."""

    tokens: tuple[str, ...]

    @property
    def word_start(self) -> str:
        return ""

    @cached_property
    def _index(self) -> dict[str, int]:
        return {tok: i for i, tok in enumerate(self.tokens)}

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


class BpeTokenizer(_TokenIds):
    """Maps normalised transcripts to the pieces of a sentencepiece model and back."""

    def __init__(self, model: bytes) -> None:
        """``model``: a serialised sentencepiece model with ``<blk>`` at id 0, ``<unk>`` at 1."""
        try:  # (the constructor would load nothing, silently, from empty bytes)
            self._sp = spm.SentencePieceProcessor()
            self._sp.LoadFromSerializedProto(model)
        except RuntimeError as e:
            raise ValueError("not a sentencepiece model") from e
        self.tokens = tuple(self._sp.id_to_piece(i) for i in range(self._sp.get_piece_size()))
        if self.tokens[:2] != (BLANK, UNK) or self._sp.unk_id() != 1:
            raise ValueError(f"ids 0 and 1 must be {BLANK} and {UNK}")

    @classmethod
    def from_file(cls, path: Path) -> BpeTokenizer:
        """The model in ``path``; a one-line error if it is not one that stage 2 wrote."""
        try:
            return cls(path.read_bytes())
        except ValueError as e:
            raise ReslstmError(f"{path}: {e}; redo stage 2 (tokens) with force=true") from e

    @property
    def word_start(self) -> str:
        return WORD_START

    def encode(self, text: str) -> list[int]:
        """Piece ids of ``text``; characters no piece covers (``<unk>``) are dropped."""
        return [i for i in self._sp.encode(text) if i != self.sep_id]

    def spell(self, word: str) -> list[str]:
        """A word's pieces, as in any sentence (sentencepiece splits at spaces first)."""
        return [self.tokens[i] for i in self._sp.encode(word)]

    def oov_chars(self, text: str) -> set[str]:
        """Characters of ``text`` that are not pieces (with full character coverage, those
        missing from the training transcripts)."""
        unk = self.sep_id
        return {c for c in text if not c.isspace() and self._sp.piece_to_id(c) == unk}


def load_tokenizer(kind: str, lang: LangDir) -> Tokenizer:
    """The token set of type ``kind`` (``lang.tokens``) that stage 2 wrote to ``lang``."""
    if kind == "char":
        return CharTokenizer.from_file(require(lang.tokens, 2))
    if kind == "bpe":
        return BpeTokenizer.from_file(require(lang.bpe_model, 2))
    raise ReslstmError(f"lang.tokens={kind!r}: use one of {', '.join(TOKEN_TYPES)}")
