"""Shared fixtures: a tiny generated mini corpus and its prepared SDM manifests (session-wide),
model configs from conf/model/, and LSTM stacks for the model tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from omegaconf import DictConfig, OmegaConf

from reslstm.cli.compose import compose_config
from reslstm.data.mini import generate_corpus
from reslstm.data.prepare import prepare_data
from reslstm.models import LSTMStack

# LSTMStack settings of the model tests: no dropout, so that outputs are deterministic.
STACK_SETTINGS = {
    "peepholes": True,
    "bidirectional": False,
    "dropout": 0.0,
    "residual_output_peephole": "none",
    "impl": "fused",
    "init": "glorot",
}


@pytest.fixture(scope="session")
def model_config() -> Callable[[str], dict[str, Any]]:
    """``model_config("residual")``: ``conf/model/residual_lstm.yaml`` resolved, the only source
    of model settings (tests change them with ``| {...}``)."""

    def make(cell: str) -> dict[str, Any]:
        return OmegaConf.to_container(compose_config([f"model={cell}_lstm"]).model, resolve=True)

    return make


@pytest.fixture(scope="session")
def lstm_stack() -> Callable[..., LSTMStack]:
    """``lstm_stack(cell, layers, input_size, cell_size, proj_size, **settings)``: an
    :class:`LSTMStack` with :data:`STACK_SETTINGS` unless ``settings`` say otherwise."""

    def make(*sizes: Any, **settings: Any) -> LSTMStack:
        return LSTMStack(*sizes, **(STACK_SETTINGS | settings))

    return make


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``paths.data_dir`` of the session's tiny corpus and manifests."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def tiny_config(tiny_data_dir: Path) -> Callable[..., DictConfig]:
    """``tiny_config("data.mic=ihm", ...)``: the root config with ``data=mini_tiny``."""

    def make(*overrides: str) -> DictConfig:
        return compose_config(["data=mini_tiny", f"paths.data_dir={tiny_data_dir}", *overrides])

    return make


@pytest.fixture(scope="session")
def tiny_corpus_dir(tiny_config: Callable[..., DictConfig]) -> Path:
    """The mini_tiny corpus, generated once per session (a few seconds)."""
    cfg = tiny_config()
    generate_corpus(cfg.data.corpus_dir, cfg.data.mini)
    return Path(cfg.data.corpus_dir)


@pytest.fixture(scope="session")
def tiny_manifests(tiny_corpus_dir: Path, tiny_config: Callable[..., DictConfig]) -> Path:
    """Stage 0 run on the tiny corpus for the SDM mic; returns the manifest directory."""
    cfg = tiny_config()
    prepare_data(cfg.data, cfg.paths.manifest_dir)
    return Path(cfg.paths.manifest_dir)


@pytest.fixture(scope="session")
def tiny_prepared(tiny_manifests: Path, tiny_config: Callable[..., DictConfig]) -> Path:
    """Stages 1-2 (features, lang dir) on the tiny SDM manifests; returns ``paths.data_dir``."""
    from reslstm.features.extract import compute_features
    from reslstm.lang.prepare import prepare_lang

    cfg = tiny_config()
    compute_features(cfg.features, tiny_manifests, Path(cfg.paths.fbank_dir), progress=False)
    prepare_lang(cfg.lang, tiny_manifests, Path(cfg.paths.lang_dir))
    return Path(cfg.paths.data_dir)
