"""Stage 0: corpus (generated mini corpus or real AMI) to validated lhotse cut manifests.

Output in ``manifest_dir``: ``raw/`` (lhotse's AMI recordings and supervisions),
``cuts_{train,dev,test}.jsonl.gz`` (one mono cut per segment, one supervision each, kaldi-
normalised text), ``summary.json`` and the ``.done`` marker keyed on the data config. The whole
directory is built in a temporary sibling and renamed into place, so an error or a kill leaves
no manifests and no marker behind.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lhotse.recipes.ami import download_ami, prepare_ami
from omegaconf import OmegaConf

from reslstm.data.checks import FIX_AMI, check_corpus, find_bad_xml
from reslstm.data.cuts import build_cuts
from reslstm.data.errors import CorpusError
from reslstm.data.mics import training_mics
from reslstm.data.mini import generate_corpus
from reslstm.data.summary import format_table, split_summary
from reslstm.layout import SPLITS, ManifestDir
from reslstm.io import remove_stale_tmp, atomic_path, atomic_write_json, is_done, mark_done


def prepare_data(
    data_cfg: Mapping[str, Any], manifest_dir: str | Path, force: bool = False
) -> dict:
    """Run stage 0 for ``data_cfg`` (the ``data`` config group); return the per-split summary.

    Skips all work when ``manifest_dir`` is complete for the same config, unless ``force``.
    ``force`` rebuilds the manifests; a complete mini corpus is reused (its generation is
    deterministic, so regenerating would write the same bytes).
    """
    cfg = (
        OmegaConf.to_container(data_cfg, resolve=True)
        if OmegaConf.is_config(data_cfg)
        else dict(data_cfg)
    )
    training_mics(cfg)
    key = manifest_key(cfg)
    manifest_dir = Path(manifest_dir)
    if not force and is_done(manifest_dir, key):
        summary = json.loads(ManifestDir(manifest_dir).summary.read_text())
        print(f"stage 0 already done: {manifest_dir}\n{format_table(summary)}")
        return summary
    corpus_dir = Path(cfg["corpus_dir"])
    annotations, fix = _corpus(cfg, corpus_dir)
    remove_stale_tmp(manifest_dir)
    with atomic_path(manifest_dir) as tmp:
        out = ManifestDir(tmp)
        manifests = _prepare_ami(cfg, corpus_dir, annotations, out.raw, fix)
        summary: dict[str, dict] = {}
        train_vocab: set[str] | None = None
        for split in SPLITS:
            cuts, dropped = build_cuts(
                manifests[split]["recordings"], manifests[split]["supervisions"], split,
                cfg["min_duration"], cfg["max_segment_duration"],
            )  # fmt: skip
            if len(cuts) == 0:
                raise CorpusError(
                    f"no segments left in the {split} split of {corpus_dir} after filtering: "
                    f"check data.min_duration/max_segment_duration ({cfg['min_duration']}/"
                    f"{cfg['max_segment_duration']} s)"
                )
            with atomic_path(out.cuts(split)) as path:
                cuts.to_file(path)
            summary[split] = split_summary(cuts, dropped, train_vocab)
            if split == "train":
                train_vocab = {w for cut in cuts for w in cut.supervisions[0].text.split()}
        atomic_write_json(out.summary, summary)
        mark_done(tmp, key, corpus=cfg["corpus"], mic=cfg["mic"])
    print(f"stage 0 done: {manifest_dir}\n{format_table(summary)}")
    return summary


def manifest_key(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """What stage 0's marker is keyed on: the resolved ``data`` group but ``train_mics``, which
    chooses what stage 3 trains on, not what one microphone's manifests hold."""
    return {k: v for k, v in cfg.items() if k != "train_mics"}


def _corpus(cfg: dict, corpus_dir: Path) -> tuple[Path, str]:
    """Make sure the corpus exists (generate or download it); return its annotations dir and
    the fix to suggest when something in it is wrong."""
    if cfg["corpus"] == "mini":
        generate_corpus(corpus_dir, cfg["mini"])
        fix = f"regenerate it: delete {corpus_dir} and re-run stage 0"
    else:  # ami (training_mics has refused any other corpus)
        if cfg["download"]:
            download_ami(corpus_dir, mic=cfg["mic"])
        fix = FIX_AMI
    return check_corpus(corpus_dir, cfg["mic"], cfg["partition"], fix), fix


def _prepare_ami(cfg: dict, corpus_dir: Path, annotations: Path, raw: Path, fix: str) -> dict:
    """lhotse's prepare_ami, with its crashes on malformed input turned into CorpusError."""
    try:
        return prepare_ami(
            corpus_dir,
            annotations_dir=annotations,
            output_dir=raw,
            mic=cfg["mic"],
            partition=cfg["partition"],
            normalize_text=cfg["normalize_text"],
            max_words_per_segment=cfg["max_words_per_segment"],
        )
    except ET.ParseError as e:
        bad = find_bad_xml(annotations)
        raise CorpusError(f"malformed annotation file {bad or annotations} ({e}): {fix}") from e
    except (AssertionError, KeyError, ValueError) as e:
        raise CorpusError(f"lhotse could not prepare {corpus_dir} ({e!r}): {fix}") from e
