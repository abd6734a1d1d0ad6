"""reslstm: plain, highway and residual LSTM stacks for distant speech recognition.

What a notebook needs, imported on first use (``import reslstm`` stays light):

- :func:`build_model` (``model`` config -> :class:`reslstm.models.CTCModel`);
- :func:`load_trained_model` (a run directory -> its best, last or averaged model);
- :class:`Transcriber` (a model directory of ``reslstm-export``, or a run directory -> words
  with times, from files or sample arrays).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"
_EXPORTS = {
    "build_model": "reslstm.models",
    "load_trained_model": "reslstm.checkpoint",
    "Transcriber": "reslstm.transcriber",
    "Word": "reslstm.transcriber",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'reslstm' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
