"""Microphone conditions (data/mics.py): which a run trains on, the config and directories of
each, for the mini corpus and real AMI alike; stages 0-1 prepare each condition once."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from reslstm.cli.compose import compose_config
from reslstm.data.errors import CorpusError
from reslstm.data.mics import conditions, training_mics
from reslstm.data.prepare import manifest_key
from reslstm.layout import ManifestDir
from tests.helpers import run_stage


def _data(**changes: object) -> dict:
    return {"corpus": "mini", "mic": "sdm", "train_mics": None} | changes


@pytest.mark.parametrize(
    "changes, mics",
    [
        ({}, ["sdm"]),
        ({"train_mics": ["sdm"]}, ["sdm"]),
        ({"train_mics": ["sdm", "ihm"]}, ["sdm", "ihm"]),
        ({"train_mics": ["ihm", "sdm", "ihm"]}, ["sdm", "ihm"]),  # data.mic first, each once
        ({"mic": "ihm", "train_mics": ["sdm", "ihm"]}, ["ihm", "sdm"]),
        ({"corpus": "ami", "train_mics": ["sdm", "ihm", "mdm"]}, ["sdm", "ihm", "mdm"]),
    ],
)
def test_training_mics(changes: dict, mics: list[str]) -> None:
    assert training_mics(_data(**changes)) == mics


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"mic": "array"}, "unknown microphone 'array' in data.mic: the mini corpus has sdm, ihm"),
        ({"train_mics": ["sdm", "mdm"]}, "unknown microphone 'mdm' in data.train_mics"),
        ({"corpus": "ami", "train_mics": ["sdm", "ihm-mix"]}, "the ami corpus has sdm, ihm, mdm"),
        ({"train_mics": ["ihm"]}, "data.train_mics=['ihm'] lacks data.mic='sdm'"),
        ({"train_mics": "sdm+ihm"}, "give a list, e.g. data.train_mics=[sdm,ihm]"),
        ({"corpus": "timit"}, "unknown data.corpus='timit'"),
    ],
)
def test_bad_microphones_are_one_line(changes: dict, message: str) -> None:
    with pytest.raises(CorpusError) as e:
        training_mics(_data(**changes))
    assert message in str(e.value) and "\n" not in str(e.value)


def _stage0_key(cfg) -> dict:
    return manifest_key(OmegaConf.to_container(cfg.data, resolve=True))


@pytest.mark.parametrize(
    "corpus, other",
    [
        (["data=mini"], ["data=mini", "data.mic=ihm"]),
        (["data=mini_tiny"], ["data=mini_tiny", "data.mic=ihm"]),
        (["data=ami_sdm"], ["data=ami_ihm"]),
    ],
)
def test_a_pooled_condition_is_that_microphone_s_own_config(
    corpus: list[str], other: list[str]
) -> None:
    """``data=ami_sdm data.train_mics=[sdm,ihm]`` reads the manifests ``data=ami_ihm`` makes
    (same directories, same stage-0 config), and likewise for the mini corpus."""
    pooled = compose_config([*corpus, "data.train_mics=[sdm,ihm]"])
    sdm, ihm = conditions(pooled)
    alone = compose_config(other)
    assert ihm.paths.manifest_dir == alone.paths.manifest_dir
    assert ihm.paths.fbank_dir == alone.paths.fbank_dir
    assert _stage0_key(ihm) == _stage0_key(alone)
    assert sdm.paths.manifest_dir == pooled.paths.manifest_dir  # data.mic's: dev, test, lang
    assert Path(ihm.paths.manifest_dir).name.endswith("_ihm")


def test_a_data_name_without_the_mic_cannot_pool() -> None:
    cfg = compose_config(["data.name=meetings", "data.train_mics=[sdm,ihm]"])
    with pytest.raises(CorpusError, match=r"keep \$\{data.mic\} in it"):
        conditions(cfg)


def test_stages_0_and_1_prepare_each_condition_once(
    tiny_manifests: Path, tiny_data_dir: Path
) -> None:
    """A second microphone adds its own directories and leaves the first one's as they were."""
    sdm = ManifestDir(tiny_manifests)
    before = sdm.cuts("train").stat().st_mtime_ns
    overrides = ["data=mini_tiny", f"paths.data_dir={tiny_data_dir}", "data.train_mics=[sdm,ihm]"]
    for stage in ("data", "features"):
        out = run_stage(stage, *overrides)
        assert out.returncode == 0, out.stdout[-3000:]
    assert sdm.cuts("train").stat().st_mtime_ns == before
    assert run_stage("data", *overrides).stdout.count("stage 0 already done") == 2
    ihm = tiny_data_dir / "fbank" / "mini_tiny_ihm"
    assert (ihm / "cuts_train.jsonl.gz").is_file() and (ihm / "cmvn.json").is_file()
    assert (tiny_data_dir / "fbank" / "mini_tiny_sdm" / "cmvn.json").is_file()
