"""Every config group option composes and resolves; bad overrides fail clearly."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from reslstm.cli.check import check_overrides
from reslstm.cli.compose import compose_config
from reslstm.layout import CONFIG_DIR, parse_run_name
from reslstm.schemas import SCHEMAS

GROUPS = ["data", "features", "lang", "model", "model/size", "train", "decode", "score"]
GROUPS += ["experiment"]
SHARED = {"model": ["common"]}  # what other options of the group build on, not an option itself


def _options(group: str) -> list[str]:
    names = sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))
    return [n for n in names if n not in SHARED.get(group, [])]


def _compose(overrides: list[str]):
    cfg = compose_config(overrides)
    OmegaConf.resolve(cfg)
    return cfg


@pytest.mark.parametrize(
    "override", [f"{g}={o}" for g in GROUPS for o in _options(g)], ids=lambda s: s
)
def test_every_option_composes(override: str) -> None:
    cfg = _compose([override])
    assert cfg.paths.run_dir.startswith(cfg.paths.exp_dir)


def test_default_is_mini_corpus_small_model() -> None:
    cfg = _compose([])
    assert cfg.data.corpus == "mini"
    assert cfg.model.name == "residual_lstm"
    assert cfg.paths.manifest_dir == f"data/manifests/{cfg.data.name}"


def test_run_dir_follows_model_and_depth() -> None:
    cfg = _compose(["model=plain_lstm", "model.num_layers=10", "tag=_x"])
    assert cfg.paths.run_dir.endswith("/plain_lstm_L10_x")


def test_bpe_tokens_name_their_lang_and_run_directories() -> None:
    char, bpe = _compose([]), _compose(["lang=bpe", "lang.bpe_vocab_size=300", "tag=_x"])
    assert bpe.lang.tokens == "bpe" and char.lang.tokens == "char"
    assert bpe.paths.lang_dir == f"{char.paths.lang_dir}_bpe300"
    assert bpe.paths.run_dir == f"{char.paths.run_dir}_bpe300_x"
    assert parse_run_name(Path(bpe.paths.run_dir).name) == ("residual_lstm", 3, "_bpe300_x")


@pytest.mark.parametrize(
    "override", ["model.no_such_key=1", "data=no_such_corpus", "train.lr=[oops"]
)
def test_bad_override_is_one_line(override: str) -> None:
    message = check_overrides([override])
    assert message is not None and "\n" not in message
    assert override.split("=")[0].split(".")[-1] in message or "no_such_corpus" in message


@pytest.mark.parametrize(
    ("override", "why"),
    [
        ("train.max_duration=abc", "could not be converted to Float"),
        ("train.max_epochs=2.5", "could not be converted to Integer"),
        ("train.spec_augment=maybe", "is not a valid bool"),
        ("train.keep_features_mb=true", "could not be converted to Float"),
        ("train.lr=null", "is not Optional"),
        ("decode.beam_size=wide", "could not be converted to Integer"),
        ("decode.splits=dev", "Invalid value assigned: str is not a ListConfig"),
        ("score.confidence=high", "could not be converted to Float"),
    ],
)
def test_typed_values_are_checked_in_one_line(override: str, why: str) -> None:
    message = check_overrides([override])
    assert message is not None and "\n" not in message
    assert why in message and f"full_key: {override.split('=')[0]}" in message


@pytest.mark.parametrize("group", sorted(SCHEMAS))
def test_each_schema_types_every_key_of_its_group(group: str) -> None:
    """conf/<group>/default.yaml and its schema name the same keys, and none is left unset."""
    values = compose_config([])[group]
    assert set(values) == {f.name for f in dataclasses.fields(SCHEMAS[group])}
    assert not OmegaConf.missing_keys(values)


def test_typed_values_are_converted() -> None:
    cfg = _compose(["train.max_duration=45", "train.max_epochs=7", "decode.splits=[dev]"])
    assert cfg.train.max_duration == 45.0 and isinstance(cfg.train.max_epochs, int)
    assert list(cfg.decode.splits) == ["dev"]


def test_unusable_model_config_is_one_line() -> None:
    message = check_overrides(["model.cell_dim=64", "model.proj_dim=128"])
    assert message is not None and "\n" not in message and "proj_dim" in message


def test_good_overrides_pass() -> None:
    assert check_overrides(["model=highway_lstm", "train.lr=1e-3"]) is None


def test_model_defaults_come_from_common_yaml() -> None:
    common = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "model" / "common.yaml"))
    for name in _options("model"):
        model = OmegaConf.to_container(_compose([f"model={name}"]).model)
        assert set(model) == set(common), name
        assert all(model[k] == v for k, v in common.items() if v != "???"), name
    message = check_overrides(["model=common"])  # name and cell are the model config's to set
    assert message is not None and "\n" not in message and "Missing mandatory value" in message


def test_renamed_keys_are_gone() -> None:
    cfg = _compose([])
    assert "max_duration" not in cfg.data and cfg.data.max_segment_duration == 20.0
    assert "lm_order" not in cfg.decode and cfg.lang.lm_order == 3
    assert "tokens" not in cfg and cfg.lang.tokens == "char"
    message = check_overrides(["data.max_duration=10"])
    assert message is not None and "max_duration" in message


def test_pooled_training_composes_for_mini_and_ami() -> None:
    assert check_overrides(["data.train_mics=[sdm,ihm]"]) is None
    assert check_overrides(["data=ami_sdm", "data.train_mics=[sdm,ihm]"]) is None
    assert check_overrides(["data=ami_mdm", "data.train_mics=[mdm,sdm]"]) is None
