"""Transcribe audio files with a trained run.

    reslstm-transcribe exp/mini_sdm/residual_lstm_L10 a.wav b.flac [--method greedy]

Prints ``<file>\\t<transcript>`` per file. Audio at another sample rate is resampled to the
rate the model was trained on (with a warning); multi-channel audio uses its first channel.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import torch
from lhotse import Recording
from lhotse.features import FeatureExtractor
from omegaconf import OmegaConf

from reslstm.checkpoint import load_trained_model
from reslstm.ctc import text_of
from reslstm.decode.methods import make_decoders
from reslstm.errors import ReslstmError
from reslstm.features.fbank import make_extractor
from reslstm.io import is_done
from reslstm.layout import LangDir, RunDir
from reslstm.runtime import resolve_device, set_threads
from reslstm.tokens import load_tokenizer

log = logging.getLogger("reslstm.transcribe")


def load_features(path: Path, features_cfg, extractor: FeatureExtractor) -> torch.Tensor:
    """Fbank features ``(T, F)`` of an audio file, as the model saw them in training."""
    if not path.is_file():
        raise ReslstmError(f"no such audio file: {path}")
    try:
        rec = Recording.from_file(path)
    except Exception as e:  # noqa: BLE001 - soundfile raises several types for bad files
        raise ReslstmError(f"cannot read audio {path}: {e}") from e
    rate = features_cfg.sampling_rate
    if rec.sampling_rate != rate:
        log.warning("%s: resampling %d Hz to %d Hz", path, rec.sampling_rate, rate)
        rec = rec.resample(rate)
    audio = rec.load_audio()
    if audio.shape[0] > 1:
        log.warning("%s: %d channels, using the first", path, audio.shape[0])
    if audio.shape[1] == 0:
        raise ReslstmError(f"{path} holds no audio samples")
    return torch.from_numpy(extractor.extract(audio[:1], rate))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "run_dir", type=Path, help="a trained run, e.g. exp/mini_sdm/residual_lstm_L3"
    )
    parser.add_argument("audio", type=Path, nargs="+", help="audio files (wav, flac, ...)")
    parser.add_argument("--method", choices=["greedy", "beam_lm"], default="beam_lm")
    parser.add_argument("--checkpoint", choices=["best", "last", "avg"], default="best")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    set_threads(1)
    try:
        run = RunDir(args.run_dir)
        if not run.config.is_file():
            raise ReslstmError(f"{run.path} is not a trained run (no {run.config.name})")
        cfg = OmegaConf.load(run.config)
        cfg.decode.methods = [args.method]
        device = resolve_device(args.device)
        model = load_trained_model(run.path, args.checkpoint, cfg.decode.avg_last).to(device)
        lang = LangDir(Path(cfg.paths.lang_dir))
        if not is_done(lang.path):
            raise ReslstmError(
                f"missing {lang.path}: run from the recipe root that trained the model"
            )
        decode = make_decoders(cfg, load_tokenizer(cfg.lang.tokens, lang))[args.method]
        extractor = make_extractor(cfg.features)
        for path in args.audio:
            feats = load_features(path, cfg.features, extractor)
            with torch.no_grad():
                log_probs, lens = model(
                    feats[None].to(device), torch.tensor([len(feats)], device=device)
                )
            words = decode(log_probs.float().cpu(), lens.cpu())[0]
            print(f"{path}\t{text_of(words)}", flush=True)
    except ReslstmError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
