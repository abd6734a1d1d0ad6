"""Bad input through the real entry points: one clear ``error:`` line, exit status 2, and no
partial output; or, where the input is usable, a count in the stage's summary."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from lhotse import CutSet, load_manifest
from lhotse.utils import fastcopy

from reslstm.io import mark_done
from reslstm.lang.prepare import prepare_lang
from tests.data.test_errors import CASES
from tests.helpers import run_sh, run_stage, tiny_training

from .helpers import error_lines

pytestmark = pytest.mark.slow
CLI_CASES = ["missing corpus dir", "missing meetings.xml", "stray file in words", "corrupt wav",
             "zero-length wav", "stereo wav", "wrong sample rate"]  # fmt: skip


@pytest.mark.parametrize("case", CLI_CASES)
def test_bad_corpus_through_run_sh(case: str, tiny_corpus_dir: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(tiny_corpus_dir, corpus)
    mutate, expected = CASES[case]
    mutate(corpus)  # the tiny corpus is laid out as AMI: prepare it as a real AMI download
    out = run_sh(
        "--stage",
        "0",
        "--stop-stage",
        "2",
        "data=ami_sdm",
        f"data.corpus_dir={corpus}",
        f"paths.data_dir={tmp_path}/data",
    )
    assert out.returncode == 2
    (line,) = error_lines(out)
    assert expected in line
    assert "Traceback" not in out.stdout + out.stderr
    assert not (tmp_path / "data" / "manifests" / "ami_sdm").exists()
    assert "=== stage 1" not in out.stdout


def test_unusable_model_config_through_run_sh() -> None:
    out = run_sh("--stage", "3", "model.cell_dim=64", "model.proj_dim=128")
    assert out.returncode == 2
    (line,) = error_lines(out)
    assert "proj_dim (128) must not exceed cell_dim (64)" in line


def test_bpe_vocabulary_larger_than_the_text_allows(
    tiny_manifests: Path, tiny_data_dir: Path, tmp_path: Path
) -> None:
    out = run_stage(
        "tokens",
        "data=mini_tiny",
        f"paths.data_dir={tiny_data_dir}",
        f"paths.lang_dir={tmp_path}/lang",
        "lang=bpe",
        "lang.bpe_vocab_size=100000",
    )
    assert out.returncode == 2
    (line,) = error_lines(out)
    assert re.fullmatch(r"error: lang\.bpe_vocab_size=100000: the training transcripts allow "
                        r"at most \d+ pieces", line)  # fmt: skip
    assert "Traceback" not in out.stdout
    assert not (tmp_path / "lang").exists()


def test_empty_transcript_is_dropped_and_counted(tiny_corpus_dir: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(tiny_corpus_dir, corpus)
    words = corpus / "ami_public_manual_1.6.2" / "words" / "ES2002a.A.words.xml"
    text = words.read_text()  # the first segment's words become punctuation only
    for word in ("should", "it", "be", "new"):
        text = text.replace(f">{word}</w>", ">--</w>", 1)
    words.write_text(text)
    out = run_sh(
        "--stage",
        "0",
        "--stop-stage",
        "0",
        "data=mini_tiny",
        f"data.corpus_dir={corpus}",
        f"paths.data_dir={tmp_path}/data",
    )
    assert out.returncode == 0, out.stderr[-2000:]
    summary = json.loads((tmp_path / "data/manifests/mini_tiny_sdm/summary.json").read_text())
    assert summary["train"]["dropped"]["empty_text"] == 1


def test_characters_outside_the_token_set_are_counted(
    tiny_manifests: Path, tmp_path: Path, tiny_config
) -> None:
    manifests = tmp_path / "manifests"
    shutil.copytree(tiny_manifests, manifests)
    dev = load_manifest(manifests / "cuts_dev.jsonl.gz")
    odd = [
        fastcopy(c, supervisions=[fastcopy(c.supervisions[0], text=c.supervisions[0].text + " ÆØ")])
        for c in dev
    ]
    CutSet.from_cuts(odd).to_file(manifests / "cuts_dev.jsonl.gz")
    mark_done(manifests, "edited")
    cfg = tiny_config()
    summary = prepare_lang(cfg.lang, manifests, tmp_path / "lang")
    assert summary["dev"]["oov_chars"] == {"Æ": len(dev), "Ø": len(dev)}
    assert summary["test"]["oov_chars"] == {}


def test_unknown_microphone_through_run_sh(tmp_path: Path) -> None:
    """run.sh checks the microphones before any stage (each message: tests/data/test_mics.py)."""
    out = run_sh(
        "data=mini_tiny",
        "data.train_mics=[sdm,mdm]",
        f"paths.data_dir={tmp_path}/data",
        f"paths.exp_dir={tmp_path}/exp",
    )
    assert out.returncode == 2
    (line,) = error_lines(out)
    assert "unknown microphone 'mdm' in data.train_mics" in line
    assert "Traceback" not in out.stdout + out.stderr
    assert list(tmp_path.iterdir()) == []


def test_pooled_condition_without_manifests_at_stage_3(tiny_prepared: Path, tmp_path: Path) -> None:
    """SDM is prepared, IHM is not: stage 3 names the missing stage and writes nothing."""
    data = tmp_path / "data"
    for part in ("manifests", "fbank", "lang"):
        shutil.copytree(tiny_prepared / part / "mini_tiny_sdm", data / part / "mini_tiny_sdm")
    out = run_sh(
        "--stage",
        "3",
        "--stop-stage",
        "3",
        *tiny_training(data, tmp_path / "exp", "data.train_mics=[sdm,ihm]"),
    )
    assert out.returncode == 2
    (line,) = error_lines(out)
    assert line == f"error: missing {data}/manifests/mini_tiny_ihm/.done: run stage 0 (data) first"
    assert not (tmp_path / "exp" / "mini_tiny_sdm+ihm").exists()


def test_train_value_of_the_wrong_type_at_stage_3(tiny_prepared: Path, tmp_path: Path) -> None:
    """A ``train`` value of the wrong type (src/reslstm/schemas.py) stops the stage script
    alone while Hydra composes the config: the key and the reason, no traceback, nothing
    written (every typed key's message: tests/test_configs.py, the run.sh check)."""
    exp = tmp_path / "exp"
    out = run_stage("train", *tiny_training(tiny_prepared, exp, "train.keep_features_mb=abc"))
    assert out.returncode == 1
    assert "could not be converted to Float" in out.stdout
    assert "full_key: train.keep_features_mb" in out.stdout
    assert "Traceback" not in out.stdout
    assert not exp.exists()


def test_negative_kept_features_budget_at_stage_3(tiny_prepared: Path, tmp_path: Path) -> None:
    """``train.keep_features_mb`` below 0: one line, and nothing written but Hydra's own log."""
    exp = tmp_path / "exp"
    out = run_stage("train", *tiny_training(tiny_prepared, exp, "train.keep_features_mb=-1"))
    assert out.returncode == 2
    (line,) = error_lines(out)
    assert "train.keep_features_mb must be a number of MB, at least 0" in line
    assert "Traceback" not in out.stdout
    assert [p.name for p in exp.iterdir()] == [".hydra"]
