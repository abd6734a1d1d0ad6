"""Transcribe audio with a trained run, from Python (``reslstm-transcribe`` uses it too).

>>> from reslstm import Transcriber                                     # doctest: +SKIP
>>> asr = Transcriber.from_dir("models/residual10")  # reslstm-export's  # doctest: +SKIP
>>> [(w.word, w.start, w.end) for w in asr.transcribe("meeting.wav")]  # doctest: +SKIP
[('OKAY', 0.27, 0.54), ('SO', 0.6, 0.72), ...]

``from_dir`` reads a directory that ``reslstm-export`` wrote and needs nothing else;
``from_run`` reads a run directory and the lang directory it was trained with (its
``config.yaml`` names it), so run it from the recipe root that trained the model.

A unidirectional model reads a recording in blocks of ``BLOCK_SECONDS``, carrying its state
from block to block (:mod:`reslstm.streaming`), so a whole meeting needs the memory of one
block of audio and of the network's activations; the decoder still reads the log-probabilities
of the whole recording (with characters, 29 floats per 30-ms frame: about 14 MB an hour, where
the audio would take 230 MB). :meth:`Transcriber.stream` takes live audio the same way.
A bidirectional model reads each recording whole.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import torch
import torchaudio
from lhotse import Recording
from omegaconf import DictConfig, OmegaConf

from reslstm.checkpoint import load_trained_model
from reslstm.ctc import TimedWord
from reslstm.decode.methods import Decoder, make_decoders
from reslstm.decode.timing import to_seconds
from reslstm.errors import ReslstmError
from reslstm.export import is_model_dir, load_model_dir
from reslstm.features.fbank import make_extractor
from reslstm.io import is_done
from reslstm.layout import LangDir, RunDir
from reslstm.models import CTCModel
from reslstm.runtime import resolve_device
from reslstm.streaming import GreedyWords, StreamEncoder, check_finite
from reslstm.tokens import Tokenizer, load_tokenizer

log = logging.getLogger("reslstm.transcribe")
BLOCK_SECONDS = 30.0  # audio read at a time by a unidirectional model


@dataclass(frozen=True)
class Word:
    """A recognised word and its time in the audio, in seconds."""

    word: str
    start: float
    end: float


class Transcriber:
    """A trained model with its features, token set and one decoding method."""

    def __init__(
        self,
        model: CTCModel,
        cfg: DictConfig,
        tokenizer: Tokenizer,
        method: str,
        device: str,
    ) -> None:
        self.model, self.cfg, self.tokenizer, self.method = model, cfg, tokenizer, method
        cfg.decode.methods = [method]
        self.decode: Decoder = make_decoders(cfg, tokenizer)[method]
        self.device = torch.device(device)
        self.extractor = make_extractor(cfg.features)
        self.rate = int(cfg.features.sampling_rate)
        self.streams = model.encoder.num_directions == 1

    @classmethod
    def from_run(
        cls,
        run_dir: str | Path,
        method: str = "beam_lm",
        checkpoint: str | None = None,
        device: str = "auto",
    ) -> Transcriber:
        """The model of the run in ``run_dir`` (``best``, ``last`` or ``avg`` checkpoint; by
        default the run's own ``decode.checkpoint``, the model its stage 4 scored) decoding with
        ``method`` (``greedy`` or ``beam_lm``)."""
        run = RunDir(Path(run_dir))
        if not run.config.is_file():
            raise ReslstmError(f"{run.path} is not a trained run (no {run.config.name})")
        cfg = OmegaConf.load(run.config)
        target = resolve_device(device)
        which = checkpoint or cfg.decode.checkpoint
        model = load_trained_model(run.path, which, cfg.decode.avg_last).to(target)
        lang = LangDir(Path(cfg.paths.lang_dir))
        if not is_done(lang.path):
            raise ReslstmError(
                f"missing {lang.path}: run from the recipe root that trained the model"
            )
        return cls(model, cfg, load_tokenizer(cfg.lang.tokens, lang), method, str(target))

    @classmethod
    def from_dir(
        cls, model_dir: str | Path, method: str = "beam_lm", device: str = "auto"
    ) -> Transcriber:
        """The model of a directory ``reslstm-export`` wrote (needs nothing else on disk),
        decoding with ``method`` (``greedy`` or ``beam_lm``)."""
        model, cfg = load_model_dir(model_dir)
        target = resolve_device(device)
        tokenizer = load_tokenizer(cfg.lang.tokens, LangDir(Path(cfg.paths.lang_dir)))
        return cls(model.to(target), cfg, tokenizer, method, str(target))

    @classmethod
    def load(cls, path: str | Path, method: str = "beam_lm", device: str = "auto") -> Transcriber:
        """:meth:`from_dir` for a model directory, :meth:`from_run` (the run's decoded
        checkpoint) for a run."""
        if is_model_dir(path):
            return cls.from_dir(path, method, device)
        return cls.from_run(path, method, device=device)

    def samples(
        self, audio: str | Path | np.ndarray, sample_rate: int | None = None
    ) -> tuple[str, np.ndarray]:
        """The first channel of a file, or of samples at ``sample_rate``, at the model's rate
        (another rate is resampled, with a warning): ``(name, samples [N])``."""
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
        first = torch.from_numpy(np.ascontiguousarray(samples[0]))
        check_finite(first, name, 0.0, rate)
        if rate != self.rate:
            log.warning("%s: resampling %d Hz to %d Hz", name, rate, self.rate)
            first = torchaudio.functional.resample(first, rate, self.rate)
        return name, first.numpy()

    def features(
        self, audio: str | Path | np.ndarray, sample_rate: int | None = None
    ) -> torch.Tensor:
        """Fbank features ``(T, F)`` of a whole file or array of samples at ``sample_rate``,
        computed as training computed them (see :meth:`samples`)."""
        _, samples = self.samples(audio, sample_rate)
        return torch.from_numpy(self.extractor.extract(samples[None], self.rate))

    def blocks(
        self, audio: str | Path | np.ndarray, sample_rate: int | None = None
    ) -> Iterator[np.ndarray]:
        """The first channel at the model's rate, ``BLOCK_SECONDS`` at a time; a file at the
        model's rate is read block by block, never whole."""
        size = int(BLOCK_SECONDS * self.rate)
        if not isinstance(audio, np.ndarray) and Path(audio).is_file():
            try:
                info = soundfile.info(str(audio))
            except Exception:  # noqa: BLE001 - not soundfile's format: samples() decodes it
                info = None
            if info is not None and info.samplerate == self.rate and info.frames > 0:
                if info.channels > 1:
                    log.warning("%s: %d channels, using the first", audio, info.channels)
                for block in soundfile.blocks(str(audio), size, dtype="float32", always_2d=True):
                    yield block[:, 0]
                return
        _, samples = self.samples(audio, sample_rate)
        for start in range(0, len(samples), size):
            yield samples[start : start + size]

    def stream(self, name: str = "the stream") -> Stream:
        """A live stream (unidirectional models, greedy decoding): see :class:`Stream`;
        ``name`` is what an error about its samples calls them."""
        if self.method != "greedy":
            raise ReslstmError(
                f"streaming decodes greedily; this transcriber uses {self.method!r}"
                " (load it with method='greedy')"
            )
        return Stream(self, name)

    def words(self, found: list[TimedWord]) -> list[Word]:
        """Words with output frames -> words with times in seconds."""
        shift, stack = self.cfg.features.frame_shift, self.model.frontend.subsampling
        return [
            Word(w.word, to_seconds(w.start, shift, stack), to_seconds(w.end, shift, stack))
            for w in found
        ]

    @torch.no_grad()
    def transcribe(
        self, audio: str | Path | np.ndarray, sample_rate: int | None = None
    ) -> list[Word]:
        """The words of an audio file, or of an array of samples at ``sample_rate``."""
        if self.streams:
            name = "the samples" if isinstance(audio, np.ndarray) else str(audio)
            encoder = StreamEncoder(self.model, self.cfg.features, self.device, name)
            parts = [encoder.accept(block) for block in self.blocks(audio, sample_rate)]
            log_probs = torch.cat([*parts, encoder.finish()])
            lens = torch.tensor([len(log_probs)])
            return self.words(self.decode(log_probs[None], lens)[0])
        feats = self.features(audio, sample_rate).to(self.device)
        log_probs, lens = self.model(feats[None], torch.tensor([len(feats)], device=self.device))
        return self.words(self.decode(log_probs.float().cpu(), lens.cpu())[0])


class Stream:
    """Live recognition: :meth:`accept` chunks of float32 samples at the model's rate (any
    length, even 10 ms) and get the words that became final; :meth:`finish` at the end.
    A chunk with NaN or infinite samples is refused and the stream goes on as before it.

    Greedy output on a chunked stream equals that of the whole recording (:mod:`.streaming`).
    """

    def __init__(self, transcriber: Transcriber, name: str = "the stream") -> None:
        self.transcriber = transcriber
        self.encoder = StreamEncoder(
            transcriber.model, transcriber.cfg.features, transcriber.device, name
        )
        self.greedy = GreedyWords(transcriber.tokenizer)

    def accept(self, samples: np.ndarray) -> list[Word]:
        """Read the next samples; return the words that became final."""
        return self.transcriber.words(self.greedy.push(self.encoder.accept(samples)))

    def finish(self) -> list[Word]:
        """End the stream; return its last words."""
        last = self.greedy.push(self.encoder.finish())
        return self.transcriber.words(last + self.greedy.finish())
