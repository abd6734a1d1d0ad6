"""SIGKILL during data preparation, feature extraction and decoding: the re-run completes and
equals a clean run, and no stage ever reports done on partial output."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from lhotse import load_manifest

from reslstm.io import is_done
from tests.helpers import run_stage, start_stage

from .helpers import alive, kill_when

pytestmark = pytest.mark.slow


def tree_hash(root: Path, pattern: str) -> str:
    h = hashlib.sha256()
    for path in sorted(root.rglob(pattern)):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def cut_rows(path: Path) -> list[tuple]:
    return [(c.id, c.start, c.duration, c.supervisions[0].text) for c in load_manifest(path)]


def test_killed_data_prep_reruns_to_the_clean_result(
    tiny_corpus_dir: Path, tiny_manifests: Path, tmp_path: Path
) -> None:
    args = ["data=mini_tiny", f"paths.data_dir={tmp_path}"]
    corpora = tmp_path / "corpora"
    proc = start_stage("data", *args)
    workers = kill_when(proc, lambda: corpora.is_dir() and any(corpora.rglob("*.wav")))
    assert workers, "the generator finished (or had no workers) before the kill"
    assert not alive(workers), "generator workers outlived the stage"
    manifests = tmp_path / "manifests" / "mini_tiny_sdm"
    assert not is_done(manifests) and not (manifests / "cuts_train.jsonl.gz").exists()

    out = run_stage("data", *args, "data.mini.num_workers=1")  # another worker count
    assert out.returncode == 0, out.stdout[-2000:]
    for pattern in ("*.wav", "*.xml"):  # the same seed gives byte-identical audio, annotations
        assert tree_hash(corpora / "mini_tiny", pattern) == tree_hash(tiny_corpus_dir, pattern)
    for split in ("train", "dev", "test"):
        name = f"cuts_{split}.jsonl.gz"
        assert cut_rows(manifests / name) == cut_rows(tiny_manifests / name)


def test_killed_feature_extraction_reruns_to_the_clean_result(
    tiny_prepared: Path, tmp_path: Path
) -> None:
    shutil.copytree(tiny_prepared / "manifests", tmp_path / "manifests")
    args = ["data=mini_tiny", f"paths.data_dir={tmp_path}"]  # the cuts point at the fixture audio
    fbank = tmp_path / "fbank" / "mini_tiny_sdm"
    proc = start_stage("features", *args)
    workers = kill_when(proc, lambda: any(fbank.glob("feats_train/*.lca")))
    assert workers, "feature extraction finished (or had no workers) before the kill"
    assert not alive(workers), "feature workers outlived the stage"
    assert not is_done(fbank)

    out = run_stage("features", *args)
    assert out.returncode == 0, out.stdout[-2000:]
    clean = tiny_prepared / "fbank" / "mini_tiny_sdm"
    for split in ("train", "dev", "test"):
        ours = load_manifest(fbank / f"cuts_{split}.jsonl.gz")
        theirs = load_manifest(clean / f"cuts_{split}.jsonl.gz")
        assert [c.id for c in ours] == [c.id for c in theirs]
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(a.load_features(), b.load_features())
    assert (fbank / "cmvn.json").read_text() == (clean / "cmvn.json").read_text()


def test_killed_decoding_reruns_to_the_clean_result(tiny_prepared: Path, tmp_path: Path) -> None:
    """Greedy decoding, whose output depends on no tie-breaking of equal beam scores (every
    split and method has its own marker, so beam + LM resumes the same way)."""
    args = [
        "data=mini_tiny",
        f"paths.data_dir={tiny_prepared}",
        f"paths.exp_dir={tmp_path}",
        "model.num_layers=1",
        "train.max_epochs=1",
        "train.max_duration=10",
        "decode.methods=[greedy]",
    ]
    assert run_stage("train", *args).returncode == 0
    (run,) = (tmp_path / "mini_tiny_sdm").iterdir()
    clean = run_stage("decode", *args)
    assert clean.returncode == 0, clean.stdout[-2000:]
    clean_hyps = {p.parent.name: p.read_text() for p in run.glob("decode/*/hyps.tsv")}
    assert sorted(clean_hyps) == ["dev_greedy", "test_greedy"]
    assert any(line.split("\t")[1] for line in clean_hyps["test_greedy"].splitlines())
    shutil.rmtree(run / "decode")

    proc = start_stage("decode", *args)
    assert kill_when(proc, lambda: (run / "decode" / "dev_greedy" / ".done").is_file()) is not None
    assert not is_done(run / "decode" / "test_greedy"), "decoding finished before the kill"
    out = run_stage("decode", *args)
    assert out.returncode == 0, out.stdout[-2000:]
    assert {p.parent.name: p.read_text() for p in run.glob("decode/*/hyps.tsv")} == clean_hyps
