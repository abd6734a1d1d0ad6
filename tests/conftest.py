"""Shared fixtures: a tiny generated mini corpus and its prepared SDM manifests (session-wide;
IHM too for pooled training), model configs from conf/model/, and LSTM stacks for the model
tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from lhotse import SupervisionSet
from lhotse.utils import fastcopy
from omegaconf import DictConfig, OmegaConf

from reslstm.checkpoint import save_training
from reslstm.cli.compose import compose_config
from reslstm.data.mini import generate_corpus
from reslstm.data.prepare import prepare_data
from reslstm.io import mark_done
from reslstm.lang.prepare import prepare_lang
from reslstm.layout import Layout
from reslstm.models import LSTMStack, build_model
from reslstm.tokens import CharTokenizer
from tests.helpers import ddp_training, feature_cuts, start_stage


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "beam_ties: compares beam-search words of log-probabilities that may differ in the last "
        "bit (batched against single); flashlight breaks ties between equal beams its own way",
    )


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

    cfg = tiny_config()
    compute_features(cfg.features, tiny_manifests, Path(cfg.paths.fbank_dir), progress=False)
    prepare_lang(cfg.lang, tiny_manifests, Path(cfg.paths.lang_dir))
    return Path(cfg.paths.data_dir)


@pytest.fixture(scope="session")
def tiny_pooled(tiny_prepared: Path, tiny_config: Callable[..., DictConfig]) -> Path:
    """Stages 0-1 also for the tiny corpus's headsets (IHM), so that a run can pool SDM and IHM
    training data (``data.train_mics=[sdm,ihm]``); returns ``paths.data_dir``."""
    from reslstm.features.extract import compute_features

    cfg = tiny_config("data.mic=ihm")
    prepare_data(cfg.data, cfg.paths.manifest_dir)
    compute_features(
        cfg.features, Path(cfg.paths.manifest_dir), Path(cfg.paths.fbank_dir), progress=False
    )
    return tiny_prepared


@pytest.fixture(scope="session")
def ddp_reference(tiny_prepared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run directory of :func:`tests.helpers.ddp_training` on one node with two processes
    for 2 epochs, uninterrupted: what the multi-node and the killed-torchrun tests must equal."""
    exp = tmp_path_factory.mktemp("ddp_reference")
    proc = start_stage("train", *ddp_training(tiny_prepared, exp, "train.max_epochs=2"), nproc=2)
    out = proc.communicate(timeout=600)[0]
    assert proc.returncode == 0, out[-3000:]
    return exp / "mini_tiny_sdm" / "residual_lstm_L2"


# Each split of a made-up run: three cuts of one meeting; the first two (speakers A and B)
# overlap in time, the third overlaps nothing.
MADE_TEXTS = {
    "train": ["THE CAT SAT", "ON THE MAT", "THE MAT SAT ON THE CAT"],
    "dev": ["THE CAT SAT ON THE MAT", "THE CAT", "ON THE MAT"],
    "test": ["THE MAT", "THE CAT SAT ON", "THE CAT SAT ON THE MAT"],
}
MADE_FRAMES = [150, 90, 200]  # cuts at 0-1.5 s, 1-1.9 s and 2-4 s of the meeting


@pytest.fixture
def made_run(tmp_path: Path) -> DictConfig:
    """The config of a run whose stages 0-3 were made on the fly in ``tmp_path`` (seconds):
    stage-0 manifests with the meeting's supervisions, cuts with random features (no audio:
    stage 4 decodes the stored features), the real stage 2 on them, and an untrained 1-layer
    model as its one epoch (best, last and avg alike)."""
    cfg = compose_config(
        [
            f"paths.data_dir={tmp_path / 'data'}",
            f"paths.exp_dir={tmp_path / 'exp'}",
            "model.num_layers=1",
            "model.cell_dim=16",
            "model.proj_dim=8",
            "decode.beam_size=5",
            "decode.features=stored",
            "score.methods=[jiwer]",
            "progress_bar=false",
        ]
    )
    layout = Layout.of(cfg)
    for split, texts in MADE_TEXTS.items():
        cuts = feature_cuts(layout.fbank.storage(split), texts, MADE_FRAMES, f"ES20{split}")
        layout.fbank.path.mkdir(parents=True, exist_ok=True)
        layout.manifests.raw.mkdir(parents=True, exist_ok=True)
        cuts.to_file(layout.fbank.cuts(split))
        cuts.to_file(layout.manifests.cuts(split))
        in_meeting = [fastcopy(c.supervisions[0], start=c.start) for c in cuts]
        SupervisionSet.from_segments(in_meeting).to_file(
            layout.manifests.raw / f"made_supervisions_{split}.jsonl.gz"
        )
    mark_done(layout.manifests.path, "made")
    prepare_lang(cfg.lang, layout.manifests.path, layout.lang.path)
    model_cfg = OmegaConf.to_container(cfg.model, resolve=True)
    vocab_size = CharTokenizer.from_file(layout.lang.tokens).vocab_size
    torch.manual_seed(0)
    model = build_model(model_cfg, 80, vocab_size)
    ckpt = {"model": model.state_dict(), "model_cfg": model_cfg}
    ckpt |= {"input_dim": 80, "vocab_size": vocab_size}
    save_training(ckpt, layout.run.checkpoints, epoch=1, best=True, keep_last=3)
    return cfg
