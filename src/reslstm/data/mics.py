"""Microphone conditions: which ones a corpus has, and which ones a run trains on.

``data.mic`` is the condition a run is validated, decoded and scored on; ``data.train_mics``
(``null``: ``data.mic`` alone) lists the conditions whose training cuts stage 3 pools, e.g.
``[sdm,ihm]`` for the paper's Table 2. Each condition keeps its own stage 0-1 directories
(``data.name`` holds ``data.mic``): the config of a condition is the run's config with
``data.mic`` set to it, so it is prepared once and shared by every run that trains on it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig

from reslstm.data.ami_format import AUDIO_GLOBS
from reslstm.data.errors import CorpusError

CORPUS_MICS = {"mini": ("sdm", "ihm"), "ami": tuple(AUDIO_GLOBS)}


def training_mics(data: Mapping[str, Any]) -> list[str]:
    """The microphones a run trains on: ``data.mic`` first, then each other one of
    ``data.train_mics``; a one-line :class:`CorpusError` for any the corpus does not have."""
    corpus, mic, pooled = data["corpus"], data["mic"], data["train_mics"]
    if corpus not in CORPUS_MICS:
        raise CorpusError(f"unknown data.corpus={corpus!r}: use one of {', '.join(CORPUS_MICS)}")
    known = CORPUS_MICS[corpus]

    def unknown(where: str, name: object) -> CorpusError:
        return CorpusError(
            f"unknown microphone {name!r} in {where}: the {corpus} corpus has {', '.join(known)}"
        )

    if mic not in known:
        raise unknown("data.mic", mic)
    if pooled is None:
        return [mic]
    if isinstance(pooled, str) or not all(isinstance(m, str) for m in pooled):
        raise CorpusError(f"data.train_mics={pooled!r}: give a list, e.g. data.train_mics=[sdm,ihm]")
    for name in pooled:
        if name not in known:
            raise unknown("data.train_mics", name)
    if mic not in pooled:
        raise CorpusError(
            f"data.train_mics={list(pooled)} lacks data.mic={mic!r}: dev and test are scored on "
            "data.mic, so it must be one of the training conditions"
        )
    return [mic, *(m for m in dict.fromkeys(pooled) if m != mic)]


def condition(cfg: DictConfig, mic: str) -> DictConfig:
    """The root config ``cfg`` for microphone ``mic``: its ``paths`` name that condition's
    manifests and features."""
    out = copy.deepcopy(cfg)
    out.data.mic = mic
    return out


def conditions(cfg: DictConfig) -> list[DictConfig]:
    """The root config of every condition a run trains on (:func:`training_mics`' order)."""
    mics = training_mics(cfg.data)
    configs = [condition(cfg, mic) for mic in mics]
    if len({c.paths.manifest_dir for c in configs}) < len(configs):
        raise CorpusError(
            f"data.name={cfg.data.name!r} names one directory for every microphone: keep "
            f"${{data.mic}} in it to train on {', '.join(mics)}"
        )
    return configs
