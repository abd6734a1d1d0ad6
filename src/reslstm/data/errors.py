"""Errors raised by the data stage."""

from __future__ import annotations

from reslstm.errors import ReslstmError


class CorpusError(ReslstmError):
    """The corpus (or its config) is missing or malformed; the message names the file and fix.

    A :class:`ReslstmError` (a ``RuntimeError``): stage entry points print it as one line.
    """
