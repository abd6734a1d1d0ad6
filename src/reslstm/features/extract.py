"""Parallel fbank extraction over chunks of cuts, with progress, RTF and atomic outputs."""

from __future__ import annotations

import logging
import multiprocessing as mp
import shutil
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from lhotse import CutSet, LilcomChunkyWriter, load_manifest
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from reslstm.errors import ReslstmError
from reslstm.features.cmvn import compute_cmvn, save_cmvn
from reslstm.features.fbank import make_extractor
from reslstm.io import atomic_path, clear_done, done_marker, is_done, mark_done
from reslstm.layout import SPLITS, FbankDir, ManifestDir, require_done
from reslstm.runtime import die_with_parent, set_threads

log = logging.getLogger(__name__)


def _extract_chunk(cuts: CutSet, cfg: dict[str, Any], storage_path: str) -> list[dict]:
    """Worker: compute and store the features of one chunk (one torch thread)."""
    set_threads(1)
    extractor = make_extractor(cfg)
    with LilcomChunkyWriter(storage_path) as storage:
        return [cut.compute_and_store_features(extractor, storage).to_dict() for cut in cuts]


def extract_split(
    cuts: CutSet, cfg: dict[str, Any], storage_dir: Path, name: str, progress: bool = True
) -> CutSet:
    """Features of ``cuts`` (split ``name``) into ``storage_dir``; returns them with features.

    A failed write (e.g. a full disk) removes the partial storage and raises a one-line
    :class:`ReslstmError`; the caller writes no manifest, so nothing half-done remains.
    """
    shutil.rmtree(storage_dir, ignore_errors=True)  # leftovers of an interrupted run
    storage_dir.mkdir(parents=True)
    chunks = cuts.split(max(1, -(-len(cuts) // cfg["chunk_size"])))
    bar = tqdm(total=len(cuts), desc=f"fbank {name}", unit="utt", disable=not progress)
    try:
        done = _run_chunks(chunks, cfg, storage_dir, bar)
    except OSError as e:
        shutil.rmtree(storage_dir, ignore_errors=True)
        raise ReslstmError(f"writing features to {storage_dir} failed: {e.strerror or e}") from e
    finally:
        bar.close()
    return CutSet.from_dicts(d for i in sorted(done) for d in done[i])


def _run_chunks(
    chunks: list[CutSet], cfg: dict[str, Any], storage_dir: Path, bar: tqdm
) -> dict[int, list[dict]]:
    """Extract every chunk, in worker processes on CPU or in this process on a GPU."""
    done: dict[int, list[dict]] = {}
    if cfg["device"] != "cpu" or cfg["num_jobs"] <= 1:
        for i, chunk in enumerate(chunks):
            done[i] = _extract_chunk(chunk, cfg, str(storage_dir / f"{i:05d}.lca"))
            bar.update(len(chunk))
        return done
    pool = ProcessPoolExecutor(
        cfg["num_jobs"], mp_context=mp.get_context("spawn"), initializer=die_with_parent
    )
    try:
        futures = {
            pool.submit(_extract_chunk, chunk, cfg, str(storage_dir / f"{i:05d}.lca")): i
            for i, chunk in enumerate(chunks)
        }
        for fut in as_completed(futures):
            done[futures[fut]] = fut.result()
            bar.update(len(done[futures[fut]]))
    finally:
        pool.shutdown(cancel_futures=True)
    return done


def compute_features(
    cfg: DictConfig, manifest_dir: Path, fbank_dir: Path, force: bool = False, progress: bool = True
) -> dict[str, Any]:
    """Stage 1: fbank for every split, CMVN from train; skipped when already complete."""
    feat_cfg = OmegaConf.to_container(cfg, resolve=True)
    manifests, fbank = ManifestDir(require_done(manifest_dir, 0)), FbankDir(fbank_dir)
    key = {"features": feat_cfg, "manifests": done_marker(manifest_dir)}
    if not force and is_done(fbank_dir, key):
        log.info("features in %s are complete; nothing to do (force=true redoes them)", fbank_dir)
        return {}
    clear_done(fbank_dir)
    summary: dict[str, Any] = {}
    for split in SPLITS:
        cuts = load_manifest(manifests.cuts(split))
        if split == "train" and feat_cfg["speed_perturb"]:
            cuts = cuts + cuts.perturb_speed(0.9) + cuts.perturb_speed(1.1)
        audio_s = sum(c.duration for c in cuts)
        start = time.perf_counter()
        with_feats = extract_split(cuts, feat_cfg, fbank.storage(split), split, progress)
        wall = time.perf_counter() - start
        with atomic_path(fbank.cuts(split)) as tmp:
            with_feats.to_file(tmp)
        summary[split] = {
            "utterances": len(with_feats),
            "hours": round(audio_s / 3600, 3),
            "wall_s": round(wall, 1),
            "rtf": round(wall / max(audio_s, 1e-9), 5),
        }
        log.info(
            "fbank %s: %d utterances, %.2f h of audio in %.1f s (RTF %.4f, %d jobs)",
            split,
            len(with_feats),
            audio_s / 3600,
            wall,
            wall / max(audio_s, 1e-9),
            feat_cfg["num_jobs"],
        )
        if split == "train":
            save_cmvn(compute_cmvn(with_feats), fbank.cmvn)
    mark_done(fbank_dir, key, summary=summary)
    return summary
