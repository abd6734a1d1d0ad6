"""Top level of the mini corpus generator: plan meetings, run them in workers, write the corpus.

The corpus directory is built in a temporary sibling and renamed into place with its ``.done``
marker, so an interrupted run leaves nothing that looks complete.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from lhotse.recipes.ami import PARTITIONS
from omegaconf import OmegaConf
from tqdm.auto import tqdm

from reslstm.data.errors import CorpusError
from reslstm.data.mini import grammar
from reslstm.data.mini.meeting import Conversation, MeetingPlan, generate_meeting
from reslstm.data.mini.room import Acoustics
from reslstm.data.mini.voices import Speaker, Voice, draw_speaker, voices_for
from reslstm.data.mini.writer import write_meetings_xml
from reslstm.runtime import die_with_parent
from reslstm.layout import SPLITS
from reslstm.io import remove_stale_tmp, atomic_path, atomic_write_json, is_done, mark_done

INFO_FILE = "mini_corpus.json"


@dataclass(frozen=True)
class MiniConfig:
    """The ``data.mini`` config section (see conf/data/mini.yaml)."""

    seed: int
    num_workers: int
    meetings: dict[str, int]
    minutes: dict[str, float]
    speakers_per_meeting: int
    other_engine_share: float
    conversation: Conversation
    acoustics: Acoustics

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any]) -> MiniConfig:
        """Build from a plain mapping or an OmegaConf node (lists become tuples)."""
        plain = OmegaConf.to_container(cfg, resolve=True) if OmegaConf.is_config(cfg) else cfg
        return cls(**{
            **_tuples(plain),
            "conversation": Conversation(**_tuples(plain["conversation"])),
            "acoustics": Acoustics(**_tuples(plain["acoustics"])),
        })  # fmt: skip

    def key(self) -> dict:
        """What the output depends on (the worker count does not change a byte)."""
        key = asdict(self)
        del key["num_workers"]
        return key


def _tuples(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """Lists (YAML ranges) become tuples, as the config dataclasses declare them."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in mapping.items()}


SCENARIO_SITES = ("ES", "IS", "TS")  # AMI's scenario meetings (series of sessions a-d)


def meeting_ids(split: str, count: int) -> list[str]:
    """Scenario meetings lhotse puts in ``split`` in every AMI partition, 'a' sessions first.

    Taking session a of every series before session b gives more distinct speakers: dev and
    test each have one ES, one IS and one TS series, so 3 meetings already have 3 speaker
    groups. Train has 13 ES 'a' sessions, which sort before any IS or TS one.
    """
    common = set.intersection(*(set(p[split]) for p in PARTITIONS.values()))
    ids = sorted((m for m in common if m.startswith(SCENARIO_SITES)), key=lambda m: (m[-1], m))
    if not 1 <= count <= len(ids):
        raise CorpusError(f"data.mini.meetings.{split} must be in 1..{len(ids)}, got {count}")
    return ids[:count]


def _series_speakers(cfg: MiniConfig, split: str, series: str, first_index: int) -> list[Speaker]:
    """The participants of a meeting series (AMI series a-d share their four speakers)."""
    rng = np.random.default_rng([cfg.seed, zlib.crc32(series.encode())])
    voices = voices_for(split)
    espeak = [v for v in voices if v.engine == "espeak-ng"]
    other = [v for v in voices if v.engine != "espeak-ng"]
    speakers: list[Speaker] = []
    used: set[Voice] = set()
    while len(speakers) < cfg.speakers_per_meeting:
        pool = other if other and rng.random() < cfg.other_engine_share else espeak
        voice = pool[int(rng.integers(len(pool)))]
        if voice not in used or len(used) >= len(voices):
            used.add(voice)
            speakers.append(draw_speaker(first_index + len(speakers), voice, rng))
    return speakers


def plan_meetings(cfg: MiniConfig) -> list[MeetingPlan]:
    """Every meeting of the corpus with its speakers; speakers are never shared across splits."""
    plans: list[MeetingPlan] = []
    series_speakers: dict[str, list[Speaker]] = {}
    for split in SPLITS:
        ids = meeting_ids(split, cfg.meetings[split])
        for meeting in ids:
            series = meeting[:-1]
            if series not in series_speakers:
                first = 1 + sum(len(s) for s in series_speakers.values())
                series_speakers[series] = _series_speakers(cfg, split, series, first)
            plans.append(MeetingPlan(
                meeting=meeting, split=split, speakers=tuple(series_speakers[series]),
                target_s=60.0 * cfg.minutes[split] / len(ids), seed=cfg.seed,
                conversation=cfg.conversation, acoustics=cfg.acoustics,
            ))  # fmt: skip
    return plans


def generate_corpus(out_dir: str | Path, cfg: Mapping[str, Any], force: bool = False) -> dict:
    """Generate the mini corpus into ``out_dir`` unless it is already complete; return its info."""
    config = MiniConfig.from_mapping(cfg)
    out_dir = Path(out_dir)
    if not force and is_done(out_dir, config.key()):
        return json.loads((out_dir / INFO_FILE).read_text())
    remove_stale_tmp(out_dir)
    plans = plan_meetings(config)
    began = time.perf_counter()
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        meetings = _run_plans(plans, tmp, config.num_workers)
        write_meetings_xml(tmp, {m["meeting"]: m.pop("participants") for m in meetings})
        info = {
            "config": config.key(),
            "grammar_vocabulary": len(grammar.vocabulary()),
            "generation_s": round(time.perf_counter() - began, 1),
            "meetings": meetings,
        }
        atomic_write_json(tmp / INFO_FILE, info)
        mark_done(tmp, config.key())
    return info


def _run_plans(plans: list[MeetingPlan], root: Path, num_workers: int) -> list[dict]:
    """Generate all meetings in ``num_workers`` processes; the progress bar counts target audio
    seconds (meetings run a few seconds over their target)."""
    total = round(sum(p.target_s for p in plans))
    results = []
    with (
        ProcessPoolExecutor(
            max_workers=max(1, min(num_workers, len(plans))), initializer=die_with_parent
        ) as pool,
        tqdm(total=total, unit="s", desc="mini corpus (seconds of audio)") as bar,
    ):
        futures = {pool.submit(generate_meeting, plan, root): plan for plan in plans}
        try:
            for future in as_completed(futures):
                results.append(future.result())
                bar.update(round(futures[future].target_s))
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return sorted(results, key=lambda m: m["meeting"])
