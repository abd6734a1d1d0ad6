"""Stage paths: the config's directories, the names inside them, and the one wording of a
missing input."""

from __future__ import annotations

from pathlib import Path

import pytest

from reslstm.cli import layout as layout_cli
from reslstm.cli.compose import compose_config
from reslstm.errors import ReslstmError
from reslstm.layout import Layout, RunDir, parse_run_name, require, require_done, train_name


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ([], ("residual_lstm", 3, "")),
        (["model=plain_lstm", "model.num_layers=10", "tag=_lr1e-3"], ("plain_lstm", 10, "_lr1e-3")),
        (["model=highway_lstm", "model.num_layers=5", "tag=_seed2"], ("highway_lstm", 5, "_seed2")),
    ],
)
def test_the_run_dir_of_the_config_reads_back(overrides: list[str], expected: tuple) -> None:
    layout = Layout.of(compose_config(overrides))
    assert parse_run_name(layout.run.name) == expected
    assert layout.run.path.parent == layout.results.path


def test_other_names_are_not_runs() -> None:
    assert parse_run_name(".hydra") is None and parse_run_name("lm") is None


def test_layout_cli_prints_what_the_stages_use(capsys: pytest.CaptureFixture[str]) -> None:
    overrides = ["model=plain_lstm", "model.num_layers=3", "paths.exp_dir=/x"]
    layout_cli.main(["run-dir", *overrides])
    assert capsys.readouterr().out == f"{Layout.of(compose_config(overrides)).run.path}\n"
    with pytest.raises(SystemExit):
        layout_cli.main(["no-such-dir"])
    assert "usage" in capsys.readouterr().err


def test_a_missing_input_names_the_stage_that_makes_it(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "plain_lstm_L3")
    with pytest.raises(ReslstmError, match=r"^missing .*best\.pt: run stage 3 \(train\) first$"):
        require(run.checkpoints.named("best"), 3)
    with pytest.raises(ReslstmError, match=r"^missing .*\.done: run stage 0 \(data\) first$"):
        require_done(tmp_path, 0)
    assert require(tmp_path, 0) == tmp_path


def test_decode_dirs_are_found_and_named(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    for split, method in [("test", "greedy"), ("dev", "beam_lm")]:
        run.decode(split, method).path.mkdir(parents=True)
    run.stm("dev").write_text("")  # the split's references sit beside the decode dirs
    assert [d.split_method for d in run.decodes()] == [("dev", "beam_lm"), ("test", "greedy")]


@pytest.mark.parametrize(
    "overrides, corpus",
    [
        ([], "mini_sdm"),
        (["data.train_mics=[sdm]"], "mini_sdm"),
        (["data.train_mics=[sdm,ihm]"], "mini_sdm+ihm"),
        (["data.train_mics=[ihm,sdm]"], "mini_sdm+ihm"),  # the same training data, one name
        (["data.mic=ihm", "data.train_mics=[sdm,ihm]"], "mini_ihm+sdm"),  # scored on IHM
        (["data=mini_tiny", "data.train_mics=[sdm,ihm]"], "mini_tiny_sdm+ihm"),
        (["data=ami_sdm", "data.train_mics=[sdm,ihm]"], "ami_sdm+ihm"),
        (["data=ami_mdm", "data.train_mics=[mdm,sdm,ihm]"], "ami_mdm+sdm+ihm"),
    ],
)
def test_the_run_dir_shows_pooled_training(overrides: list[str], corpus: str) -> None:
    """Pooled runs have a corpus directory of their own (their stage 6 table beside them);
    their data directories stay data.mic's, and their run names read back as any other."""
    cfg = compose_config([*overrides, "model.num_layers=10"])
    layout = Layout.of(cfg)
    assert layout.results.path == Path("exp") / corpus
    assert parse_run_name(layout.run.name) == ("residual_lstm", 10, "")
    assert layout.manifests.path.name == cfg.data.name == corpus.split("+")[0]


def test_train_name() -> None:
    assert train_name("ami_sdm", "sdm", None) == "ami_sdm"
    assert train_name("ami_sdm", "sdm", ["sdm", "ihm", "ihm"]) == "ami_sdm+ihm"
