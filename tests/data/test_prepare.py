"""Stage 0 on the tiny mini corpus, through lhotse's real prepare_ami, for SDM and IHM."""

from __future__ import annotations

import itertools
import json
import re
import shutil
from pathlib import Path

import pytest
from lhotse import CutSet, load_manifest
from lhotse.recipes.ami import PARTITIONS
from omegaconf import OmegaConf

from reslstm.cli.compose import compose_config
from reslstm.data.prepare import manifest_key, prepare_data
from reslstm.io import is_done
from reslstm.layout import SPLITS

NORMALISED = re.compile(r"^[A-Z0-9'-]+( [A-Z0-9'-]+)*$")


def _cuts(manifest_dir: Path) -> dict[str, CutSet]:
    return {split: load_manifest(manifest_dir / f"cuts_{split}.jsonl.gz") for split in SPLITS}


def _check_cuts(cuts: dict[str, CutSet], mic: str) -> None:
    speakers = {}
    for split, cut_set in cuts.items():
        assert len(cut_set) > 0
        for cut in cut_set:
            (sup,) = cut.supervisions
            assert cut.recording_id in PARTITIONS["full-corpus-asr"][split]
            assert NORMALISED.match(sup.text), sup.text
            assert isinstance(cut.channel, int) and sup.channel == cut.channel
            assert sup.start == 0 and abs(sup.duration - cut.duration) < 1e-6
            assert 0 <= cut.start and cut.end <= cut.recording.duration + 1e-6
            assert 0.3 <= cut.duration <= 20.0
            source = next(s for s in cut.recording.sources if cut.channel in s.channels)
            assert ("Array1-01" if mic == "sdm" else "Headset-") in source.source
            assert not sup.alignment
        speakers[split] = {cut.supervisions[0].speaker for cut in cut_set}
    assert not speakers["train"] & (speakers["dev"] | speakers["test"])
    assert not speakers["dev"] & speakers["test"]


def test_sdm_manifests(tiny_manifests: Path) -> None:
    cuts = _cuts(tiny_manifests)
    _check_cuts(cuts, "sdm")
    summary = json.loads((tiny_manifests / "summary.json").read_text())
    for split in SPLITS:
        assert summary[split]["segments"] == len(cuts[split])
        assert summary[split]["speakers"] == 2
    assert sorted(p.name for p in (tiny_manifests / "raw").iterdir())[0].startswith("ami-sdm_")
    audio = cuts["dev"][0].load_audio()
    assert audio.shape == (1, cuts["dev"][0].num_samples)


def test_held_out_text(tiny_manifests: Path) -> None:
    """Dev and test transcripts never occur in train (the grammar splits sentences by hash)."""
    texts = {
        split: {c.supervisions[0].text for c in cs} for split, cs in _cuts(tiny_manifests).items()
    }
    assert not texts["train"] & (texts["dev"] | texts["test"])


def test_ihm_manifests(tiny_corpus_dir: Path, tiny_config) -> None:
    cfg = tiny_config("data.mic=ihm")
    summary = prepare_data(cfg.data, cfg.paths.manifest_dir)
    manifest_dir = Path(cfg.paths.manifest_dir)
    assert manifest_dir.name == "mini_tiny_ihm"
    cuts = _cuts(manifest_dir)
    _check_cuts(cuts, "ihm")
    assert all(summary[s]["segments"] == len(cuts[s]) for s in SPLITS)


def test_done_marker_skips_work(tiny_manifests: Path, tiny_config, capsys) -> None:
    cfg = tiny_config()
    key = manifest_key(OmegaConf.to_container(cfg.data, resolve=True))
    assert is_done(tiny_manifests, key)
    before = (tiny_manifests / "cuts_train.jsonl.gz").stat().st_mtime_ns
    summary = prepare_data(cfg.data, cfg.paths.manifest_dir)
    assert "already done" in capsys.readouterr().out
    assert (tiny_manifests / "cuts_train.jsonl.gz").stat().st_mtime_ns == before
    assert summary == json.loads((tiny_manifests / "summary.json").read_text())
    assert not is_done(tiny_manifests, {**key, "min_duration": 0.5})


@pytest.mark.parametrize("name", ["mini", "mini_tiny", "ami_sdm", "ami_ihm", "ami_mdm"])
def test_data_configs(name: str, tiny_config) -> None:
    data = tiny_config(f"data={name}").data
    keys = {"name", "corpus", "corpus_dir", "mic", "partition", "normalize_text",
            "max_words_per_segment", "min_duration", "max_segment_duration",
            "download", "train_mics"}  # fmt: skip
    assert keys <= set(data)
    assert data.mic in data.name


def test_mdm_views(tiny_corpus_dir: Path, tiny_manifests: Path, tmp_path: Path) -> None:
    """MDM: eight Array1 views per train segment, Array1-01 alone in dev and test."""
    corpus = tmp_path / "amicorpus"
    shutil.copytree(tiny_corpus_dir, corpus)
    for sdm in corpus.glob("*/audio/*.Array1-01.wav"):
        for array, channel in list(itertools.product((1, 2), range(1, 9)))[1:]:
            shutil.copy(
                sdm, sdm.with_name(sdm.name.replace("Array1-01", f"Array{array}-0{channel}"))
            )
    cfg = compose_config(
        ["data=ami_mdm", f"paths.data_dir={tmp_path}", f"data.corpus_dir={corpus}"]
    )
    summary = prepare_data(cfg.data, cfg.paths.manifest_dir)
    sdm = json.loads((tiny_manifests / "summary.json").read_text())
    cuts = _cuts(Path(cfg.paths.manifest_dir))
    assert summary["train"]["segments"] == 8 * sdm["train"]["segments"]
    assert summary["dev"]["segments"] == sdm["dev"]["segments"]
    sources = {c.recording.sources[c.channel].source.rsplit(".", 2)[1] for c in cuts["train"]}
    assert sources == {f"Array1-0{k}" for k in range(1, 9)}
    assert all(".Array1-01." in c.recording.sources[c.channel].source for c in cuts["test"])


def test_force_rebuild_removes_killed_leftovers(tiny_manifests: Path, tiny_config) -> None:
    """A temporary left by a killed run is cleaned up; a forced rebuild ends complete."""
    stale = tiny_manifests.parent / f".{tiny_manifests.name}.tmp-killed"
    (stale / "raw").mkdir(parents=True)
    cfg = tiny_config()
    prepare_data(cfg.data, cfg.paths.manifest_dir, force=True)
    assert not stale.exists()
    assert is_done(tiny_manifests, manifest_key(OmegaConf.to_container(cfg.data, resolve=True)))
