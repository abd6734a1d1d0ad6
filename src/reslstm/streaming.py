"""Streaming recognition with a unidirectional model: audio in chunks, words out once final.

Each stage carries its context from one chunk to the next, so that a stream cut anywhere
computes what the whole recording computes:

* features: kaldifeat's ``OnlineFbank`` with the training fbank's options keeps the samples a
  frame still needs (window overlap, the edge reflection at the end);
* front end: frames wait until ``subsampling`` of them can be stacked;
* LSTM stack: each layer's ``(h, c)`` after the last frame (:meth:`LSTMStack.stream`);
* greedy CTC: the last frame's best token (repeats collapse across chunks), and the tokens of
  the word in progress: a word is final once a token that starts the next word follows it.

>>> from reslstm import Transcriber                                     # doctest: +SKIP
>>> stream = Transcriber.from_dir("models/residual10", method="greedy").stream()  # doctest: +SKIP
>>> for chunk in chunks:  # float32 samples at the model's rate, any length  # doctest: +SKIP
...     for w in stream.accept(chunk):
...         print(w.word, w.start, w.end)
>>> last = stream.finish()                                            # doctest: +SKIP

The GEMMs of the input side see chunks of other sizes, so a chunked stream's log-probabilities
may differ from the whole recording's in the last bit (~1e-7); its words are the same unless
two tokens tie to that precision.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import kaldifeat
import numpy as np
import torch
from torch import Tensor

from reslstm.ctc import TimedWord, group_words
from reslstm.errors import ReslstmError
from reslstm.features.fbank import fbank_config
from reslstm.models import CTCModel
from reslstm.models.recurrent import State
from reslstm.tokens import Tokenizer

# Fbank frames the online extractor keeps (Kaldi's max_feature_vectors): a stream reads each
# frame once, right after it is ready, so its memory stays bounded on a whole meeting.
KEEP_FRAMES = 1000


def online_fbank(cfg: Mapping[str, Any]) -> kaldifeat.OnlineFbank:
    """kaldifeat's online extractor with the options of the training fbank
    (:func:`reslstm.features.fbank.fbank_config`, one place for both), keeping
    ``KEEP_FRAMES`` frames."""
    opts = kaldifeat.FbankOptions.from_dict(fbank_config(cfg).to_dict())
    opts.frame_opts.max_feature_vectors = KEEP_FRAMES
    return kaldifeat.OnlineFbank(opts)


def rechunk(blocks: Iterable[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """The samples of ``blocks`` again, ``size`` at a time (the last chunk may be shorter):
    a file read in blocks, fed to a stream in chunks of any size."""
    if size < 1:
        raise ReslstmError(f"a chunk needs at least one sample, got {size}")
    rest = np.empty(0, dtype=np.float32)
    for block in blocks:
        buf = np.concatenate([rest, block]) if len(rest) else block
        whole = len(buf) // size * size
        for start in range(0, whole, size):
            yield buf[start : start + size]
        rest = buf[whole:]
    if len(rest):
        yield rest


def check_finite(samples: Tensor, name: str, start_s: float, rate: float) -> None:
    """Refuse samples that hold NaN or infinities (the fbank of such audio is NaN, and it would
    be transcribed as silence); ``start_s``: the time of ``samples[0]`` in ``name``."""
    bad = ~torch.isfinite(samples)
    if bool(bad.any()):
        first = int(bad.nonzero()[0, 0])
        found = (("NaN", samples.isnan()), ("infinite", samples.isinf()))
        kinds = [kind for kind, where in found if bool(where.any())]
        raise ReslstmError(
            f"{name} holds {' and '.join(kinds)} samples (the first at "
            f"{start_s + first / rate:.2f} s): audio must be finite numbers"
        )


class StreamEncoder:
    """Audio samples in chunks -> the model's CTC log-probabilities of the frames they complete;
    ``name`` (a file's) is what an error about the samples calls them."""

    def __init__(
        self,
        model: CTCModel,
        features: Mapping[str, Any],
        device: torch.device,
        name: str = "the stream",
    ) -> None:
        if model.encoder.num_directions != 1:
            raise ReslstmError("a bidirectional model reads the future: it cannot stream")
        self.model, self.device, self.name = model, device, name
        self.rate = float(features["sampling_rate"])
        self.samples_read = 0  # samples accepted so far
        # samples handed to the extractor at a time: it keeps KEEP_FRAMES frames for us to read
        self.piece = int(self.rate * features["frame_shift"]) * (KEEP_FRAMES // 2)
        self.fbank = online_fbank(features)
        self.frames_read = 0  # fbank frames taken from the extractor
        self.waiting = torch.empty(0, int(features["num_mel_bins"]))  # frames not yet stacked
        self.states: list[State] | None = None
        self.finished = False

    @torch.no_grad()
    def accept(self, samples: np.ndarray | Tensor) -> Tensor:
        """Log-probabilities ``[T', V]`` of the output frames these samples complete."""
        if self.finished:
            raise ReslstmError("the stream is finished: start a new one")
        chunk = torch.as_tensor(samples, dtype=torch.float32)
        if chunk.dim() != 1:
            raise ReslstmError(f"a stream takes mono samples [N], got shape {tuple(chunk.shape)}")
        check_finite(chunk, self.name, self.samples_read / self.rate, self.rate)
        self.samples_read += len(chunk)
        new = []
        for start in range(0, len(chunk), self.piece):
            self.fbank.accept_waveform(self.rate, chunk[start : start + self.piece])
            new += self._ready_frames()
        return self._advance(new)

    @torch.no_grad()
    def finish(self) -> Tensor:
        """The log-probabilities of the last frames (the end of the audio is known now)."""
        self.fbank.input_finished()
        out = self._advance(self._ready_frames())
        self.finished = True
        return out

    def _ready_frames(self) -> list[Tensor]:
        ready = self.fbank.num_frames_ready
        new = [self.fbank.get_frame(i) for i in range(self.frames_read, ready)]
        self.frames_read = ready
        return new

    def _advance(self, new: list[Tensor]) -> Tensor:
        feats = torch.cat([self.waiting, *new])
        k = self.model.frontend.subsampling
        usable = len(feats) // k * k  # a remainder waits for its stack (dropped at the end)
        self.waiting = feats[usable:]
        if usable == 0:
            return torch.empty(0, self.model.output.out_features)
        x = feats[None, :usable].to(self.device)
        x, _ = self.model.frontend(x, torch.tensor([usable], device=self.device))
        out, self.states = self.model.encoder.stream(x, self.states)
        return torch.log_softmax(self.model.output(out), dim=-1)[0].float().cpu()


class GreedyWords:
    """Greedy CTC over successive log-probability frames: the same words as
    :func:`reslstm.ctc.greedy_decode` on all of them, each returned as soon as it is final."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self.prev = tokenizer.blank_id  # the previous frame's best token
        self.frame = 0  # output frames seen
        self.tokens: list[int] = []  # emitted tokens of the words not yet final
        self.frames: list[int] = []

    def push(self, log_probs: Tensor) -> list[TimedWord]:
        """Read ``[T, V]`` more frames; return the words that became final."""
        for token in log_probs.argmax(dim=-1).tolist():
            if token != self.prev and token != self.tokenizer.blank_id:
                self.tokens.append(token)
                self.frames.append(self.frame)
            self.prev = token
            self.frame += 1
        start = self._last_word_start()
        if start == 0:
            return []
        words = group_words(self.tokens[:start], self.frames[:start], self.tokenizer)
        del self.tokens[:start], self.frames[:start]
        return words

    def finish(self) -> list[TimedWord]:
        """The words still open at the end of the stream."""
        words = group_words(self.tokens, self.frames, self.tokenizer)
        self.tokens, self.frames = [], []
        return words

    def _last_word_start(self) -> int:
        """Index of the last token that ends the words before it (the word separator, or a
        token that starts a word); 0 if none."""
        tok = self.tokenizer
        for i in range(len(self.tokens) - 1, 0, -1):
            t = self.tokens[i]
            if t == tok.sep_id or (tok.word_start and tok.tokens[t].startswith(tok.word_start)):
                return i
        return 0
