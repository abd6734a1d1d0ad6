"""Transcribe audio with a trained run, from Python (``reslstm-transcribe`` uses it too).

>>> from reslstm import Transcriber                                     # doctest: +SKIP
>>> asr = Transcriber.from_dir("models/residual10")  # reslstm-export's  # doctest: +SKIP
>>> [(w.word, w.start, w.end) for w in asr.transcribe("meeting.wav")]  # doctest: +SKIP
[('OKAY', 0.27, 0.54), ('SO', 0.6, 0.72), ...]

``from_dir`` reads a directory that ``reslstm-export`` wrote and needs nothing else;
``from_run`` reads a run directory and the lang directory it was trained with (its
``config.yaml`` names it), so run it from the recipe root that trained the model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torchaudio
from lhotse import Recording
from omegaconf import DictConfig, OmegaConf

from reslstm.checkpoint import load_trained_model
from reslstm.decode.methods import Decoder, make_decoders
from reslstm.decode.timing import to_seconds
from reslstm.errors import ReslstmError
from reslstm.export import is_model_dir, load_model_dir
from reslstm.features.fbank import make_extractor
from reslstm.io import is_done
from reslstm.layout import LangDir, RunDir
from reslstm.models import CTCModel
from reslstm.runtime import resolve_device
from reslstm.tokens import load_tokenizer

log = logging.getLogger("reslstm.transcribe")


@dataclass(frozen=True)
class Word:
    """A recognised word and its time in the audio, in seconds."""

    word: str
    start: float
    end: float


class Transcriber:
    """A trained model with its features, token set and one decoding method."""

    def __init__(self, model: CTCModel, cfg: DictConfig, decode: Decoder, device: str) -> None:
        self.model, self.cfg, self.decode = model, cfg, decode
        self.device = torch.device(device)
        self.extractor = make_extractor(cfg.features)
        self.rate = int(cfg.features.sampling_rate)

    @classmethod
    def from_run(
        cls,
        run_dir: str | Path,
        method: str = "beam_lm",
        checkpoint: str = "best",
        device: str = "auto",
    ) -> Transcriber:
        """The model of the run in ``run_dir`` (``best``, ``last`` or ``avg`` checkpoint)
        decoding with ``method`` (``greedy`` or ``beam_lm``)."""
        run = RunDir(Path(run_dir))
        if not run.config.is_file():
            raise ReslstmError(f"{run.path} is not a trained run (no {run.config.name})")
        cfg = OmegaConf.load(run.config)
        cfg.decode.methods = [method]
        target = resolve_device(device)
        model = load_trained_model(run.path, checkpoint, cfg.decode.avg_last).to(target)
        lang = LangDir(Path(cfg.paths.lang_dir))
        if not is_done(lang.path):
            raise ReslstmError(
                f"missing {lang.path}: run from the recipe root that trained the model"
            )
        decode = make_decoders(cfg, load_tokenizer(cfg.lang.tokens, lang))[method]
        return cls(model, cfg, decode, str(target))

    @classmethod
    def from_dir(
        cls, model_dir: str | Path, method: str = "beam_lm", device: str = "auto"
    ) -> Transcriber:
        """The model of a directory ``reslstm-export`` wrote (needs nothing else on disk),
        decoding with ``method`` (``greedy`` or ``beam_lm``)."""
        model, cfg = load_model_dir(model_dir)
        cfg.decode.methods = [method]
        target = resolve_device(device)
        lang = LangDir(Path(cfg.paths.lang_dir))
        decode = make_decoders(cfg, load_tokenizer(cfg.lang.tokens, lang))[method]
        return cls(model.to(target), cfg, decode, str(target))

    @classmethod
    def load(cls, path: str | Path, method: str = "beam_lm", device: str = "auto") -> Transcriber:
        """:meth:`from_dir` for a model directory, :meth:`from_run` (best checkpoint) for a run."""
        if is_model_dir(path):
            return cls.from_dir(path, method, device)
        return cls.from_run(path, method, "best", device)

    def features(
        self, audio: str | Path | np.ndarray, sample_rate: int | None = None
    ) -> torch.Tensor:
        """Fbank features ``(T, F)`` of a file or of samples at ``sample_rate``, as the model
        saw them in training. Another sample rate is resampled (with a warning); of several
        channels the first is used."""
        if isinstance(audio, np.ndarray):
            if sample_rate is None:
                raise ReslstmError("audio given as samples needs its sample_rate")
            name, rate = "the samples", int(sample_rate)
            samples = np.atleast_2d(np.asarray(audio, dtype=np.float32))
        else:
            path = Path(audio)
            if not path.is_file():
                raise ReslstmError(f"no such audio file: {path}")
            try:
                rec = Recording.from_file(path)
            except Exception as e:  # noqa: BLE001 - soundfile raises several types for bad files
                raise ReslstmError(f"cannot read audio {path}: {e}") from e
            name, rate = str(path), self.rate
            if rec.sampling_rate != self.rate:
                log.warning("%s: resampling %d Hz to %d Hz", path, rec.sampling_rate, self.rate)
                rec = rec.resample(self.rate)
            samples = rec.load_audio()
        if samples.shape[0] > 1:
            log.warning("%s: %d channels, using the first", name, samples.shape[0])
        if samples.shape[1] == 0:
            raise ReslstmError(f"{name} holds no audio samples")
        first = torch.from_numpy(np.ascontiguousarray(samples[:1]))
        if rate != self.rate:
            log.warning("%s: resampling %d Hz to %d Hz", name, rate, self.rate)
            first = torchaudio.functional.resample(first, rate, self.rate)
        return torch.from_numpy(self.extractor.extract(first.numpy(), self.rate))

    @torch.no_grad()
    def transcribe(
        self, audio: str | Path | np.ndarray, sample_rate: int | None = None
    ) -> list[Word]:
        """The words of an audio file, or of an array of samples at ``sample_rate``."""
        feats = self.features(audio, sample_rate).to(self.device)
        log_probs, lens = self.model(feats[None], torch.tensor([len(feats)], device=self.device))
        words = self.decode(log_probs.float().cpu(), lens.cpu())[0]
        shift, stack = self.cfg.features.frame_shift, self.model.frontend.subsampling
        return [
            Word(w.word, to_seconds(w.start, shift, stack), to_seconds(w.end, shift, stack))
            for w in words
        ]
