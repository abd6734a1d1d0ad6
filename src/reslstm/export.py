"""A trained run as a self-contained model directory (``reslstm-export RUN OUT_DIR``).

The directory holds everything transcription needs, so it works from any directory once the
recipe's ``data/`` and ``exp/`` are gone:

- ``model.safetensors``: the weights and the CMVN statistics (a ``state_dict``) in the
  safetensors format, which stores tensors only and cannot run code when loaded;
- ``model.json``: the model config, the feature config, the token type, the decoding settings
  and where it came from;
- the token set (``tokens.txt``, or ``bpe.model``), ``lexicon.txt`` and the word LM
  ``lm.arpa``, under the names stage 2 gives them (so the directory is also a lang directory);
- ``README.md``: a model card with the run's rows of the results table.

It is written into a temporary sibling and renamed into place with a ``.done`` marker last: a
half-written directory is never loadable.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from reslstm.checkpoint import load_trained_model
from reslstm.errors import ReslstmError
from reslstm.io import (
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    is_done,
    mark_done,
    remove_stale_tmp,
)
from reslstm.layout import LangDir, RunDir
from reslstm.models import CTCModel, build_model

WEIGHTS = "model.safetensors"
CONFIG = "model.json"
CARD = "README.md"
FORMAT = 1  # model.json's "format": bumped when the directory's contents change


def token_files(tokens: str) -> list[str]:
    """The lang files a model directory carries for token type ``tokens``."""
    lang = LangDir(Path())
    first = lang.bpe_model if tokens == "bpe" else lang.tokens
    return [first.name, lang.lexicon.name, lang.lm.name]


def _model_card(run: RunDir, meta: dict[str, Any]) -> str:
    name, layers = meta["model"]["name"], meta["model"]["num_layers"]
    table = run.path.parent / "RESULTS.md"
    rows = []
    if table.is_file():
        lines = table.read_text(encoding="utf-8").splitlines()
        head = next(
            (i for i, line in enumerate(lines) if line.startswith("| Model | Layers")), None
        )
        if head is not None:
            rows = (
                lines[head : head + 2]
                + [line for line in lines[head + 2 :] if line.startswith(f"| {name} | {layers} |")][
                    :1
                ]
            )
    return "\n".join(
        [
            f"# {name}, {layers} layers ({meta['model']['cell']} LSTM, CTC over "
            f"{meta['tokens']} tokens)",
            "",
            f"Exported by `reslstm-export {run.path} <dir>` from the run's `{meta['checkpoint']}` "
            f"checkpoint; trained by `./run.sh model={name} model.num_layers={layers} "
            f"seed={meta['seed']}` (the whole config: `{CONFIG}`).",
            "",
            "Its row of the run's results table (WER %, beam + LM unless stated):",
            "",
            *(rows or ["(no RESULTS.md beside the run)"]),
            "",
            "Use: `reslstm-transcribe <this dir> audio.wav`, or from Python "
            "`reslstm.Transcriber.from_dir('<this dir>').transcribe('audio.wav')`.",
            "",
        ]
    )


def export_model(
    run_dir: str | Path,
    out_dir: str | Path,
    checkpoint: str | None = None,
    avg_last: int | None = None,
) -> Path:
    """Write the model directory of the run in ``run_dir`` to ``out_dir`` (atomically), from
    ``checkpoint`` (``best``, ``last``, ``avg`` of the last ``avg_last`` epochs; by default the
    run's own ``decode.checkpoint`` and ``decode.avg_last``: the model its stage 4 scored)."""
    run, out = RunDir(Path(run_dir)), Path(out_dir)
    if not run.config.is_file():
        raise ReslstmError(f"{run.path} is not a trained run (no {run.config.name})")
    cfg = OmegaConf.load(run.config)
    lang = LangDir(Path(cfg.paths.lang_dir))
    if not is_done(lang.path):
        raise ReslstmError(f"missing {lang.path}: run from the recipe root that trained the model")
    checkpoint = checkpoint or cfg.decode.checkpoint
    avg_last = avg_last or cfg.decode.avg_last
    model = load_trained_model(run.path, checkpoint, avg_last)
    meta = {
        "format": FORMAT,
        "model": OmegaConf.to_container(cfg.model, resolve=True),
        "input_dim": model.frontend.input_dim,
        "vocab_size": model.output.out_features,
        "features": OmegaConf.to_container(cfg.features, resolve=True),
        "tokens": cfg.lang.tokens,
        "decode": OmegaConf.to_container(cfg.decode, resolve=True),
        "checkpoint": checkpoint if checkpoint != "avg" else f"avg of the last {avg_last}",
        "seed": cfg.seed,
        "run": str(run.path),
    }
    from safetensors.torch import save

    remove_stale_tmp(out)
    with atomic_path(out) as tmp:
        tmp.mkdir()
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        # safetensors' save_file creates its file with mode 600: written here like every other
        # file, with the mode the user's umask gives (a copied model directory stays readable)
        atomic_write_bytes(tmp / WEIGHTS, save(state, metadata={"format": "pt"}))
        atomic_write_text(tmp / CONFIG, json.dumps(meta, indent=2) + "\n")
        for name in token_files(cfg.lang.tokens):
            shutil.copyfile(lang.path / name, tmp / name)
        atomic_write_text(tmp / CARD, _model_card(run, meta))
        mark_done(tmp, FORMAT)
    return out


def load_model_dir(path: str | Path) -> tuple[CTCModel, DictConfig]:
    """The model of a directory :func:`export_model` wrote, and a config for transcription
    (``features``, ``lang.tokens``, ``decode``, ``paths.lang_dir`` = the directory itself)."""
    path = Path(path)
    if not is_done(path, FORMAT):
        raise ReslstmError(f"{path} is not a complete model directory (no {FORMAT=} marker)")
    try:
        meta = json.loads((path / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ReslstmError(f"cannot read {path / CONFIG}: {e}") from e
    missing = [
        n for n in [WEIGHTS, *token_files(meta.get("tokens", ""))] if not (path / n).is_file()
    ]
    if missing:
        raise ReslstmError(f"{path} is missing {', '.join(missing)}: export it again")
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        weights = load_file(str(path / WEIGHTS))
        model = build_model(meta["model"], meta["input_dim"], meta["vocab_size"])
        model.load_state_dict(weights)
    except (SafetensorError, OSError, ValueError, RuntimeError, KeyError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ReslstmError(f"{path / WEIGHTS}: not loadable ({first})") from e
    cfg = OmegaConf.create(
        {
            "features": meta["features"],
            "lang": {"tokens": meta["tokens"]},
            "decode": meta["decode"],
            "paths": {"lang_dir": str(path)},
        }
    )
    return model.eval(), cfg


def is_model_dir(path: str | Path) -> bool:
    """``path`` looks like a model directory (rather than a run directory)."""
    return (Path(path) / CONFIG).is_file() or (Path(path) / WEIGHTS).is_file()
