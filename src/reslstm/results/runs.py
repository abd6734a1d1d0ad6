"""What the trainer and decoder left in each run directory ``<model>_L<layers><tag>``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reslstm.layout import RunDir, parse_run_name

SEED_TAG = re.compile(r"_seed\d+$")  # recipes/seeds.sh: the same grid with another seed
Key = tuple[str, str, int]  # model, tag, layers


def is_seed_run(tag: str) -> bool:
    """Whether a run repeats its variant's grid with another seed (tag ends in ``_seed<N>``)."""
    return SEED_TAG.search(tag) is not None


def variant_of(tag: str) -> str:
    """The training variant a tag names: the tag without its ``_seed<N>`` suffix
    (``_avx2_seed1`` -> ``_avx2``; the default grid's variant is ``""``)."""
    return SEED_TAG.sub("", tag)


@dataclass
class RunResult:
    """One training run; every piece may be missing (empty) while it is still running."""

    path: Path
    model: str  # e.g. "residual_lstm"
    num_layers: int
    tag: str = ""
    summary: dict[str, Any] = field(default_factory=dict)  # train_summary.json
    metrics: list[dict[str, Any]] = field(default_factory=list)  # metrics.jsonl, one per epoch
    scores: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (split, method)

    @property
    def name(self) -> str:
        return self.path.name

    def score(self, split: str, method: str, key: str = "wer") -> float | None:
        """A number from ``decode/<split>_<method>/scores.json``, ``None`` if absent."""
        return self.scores.get((split, method), {}).get(key)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSON-lines file; a torn last line (a run still writing) is skipped."""
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return rows
    for line in lines:
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def read_run(path: Path) -> RunResult | None:
    """The run in ``path``, or ``None`` if the directory name is not a run name."""
    parsed = parse_run_name(path.name)
    if parsed is None or not path.is_dir():
        return None
    model, layers, tag = parsed
    run = RunDir(path)
    summary = _read_json(run.summary)
    scores = {d.split_method: _read_json(d.scores) for d in run.decodes() if d.scores.is_file()}
    return RunResult(
        path=path,
        model=summary.get("model", model),
        num_layers=int(summary.get("num_layers", layers)),
        tag=tag,
        summary=summary,
        metrics=_read_jsonl(run.metrics),
        scores=scores,
    )


def collect_runs(corpus_exp_dir: str | Path) -> list[RunResult]:
    """All runs under ``exp/<corpus>/``, sorted by directory name."""
    root = Path(corpus_exp_dir)
    if not root.is_dir():
        return []
    runs = (read_run(p) for p in sorted(root.iterdir()) if not p.name.startswith("."))
    return [r for r in runs if r is not None]


def score_at(run: RunResult | None, split: str, method: str, path: tuple[str, ...]) -> float | None:
    """The number at ``path`` in a run's ``scores.json`` for ``split`` and ``method``."""
    value: object = {} if run is None else run.scores.get((split, method), {})
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, (int, float)) else None


def wer_of(
    run: RunResult | None, split: str, method: str, subset: str | None = None, what: str = "wer"
) -> float | None:
    """A jiwer score of ``run`` on all segments (``subset=None``) or on one subset."""
    return score_at(run, split, method, (what,) if subset is None else (subset, what))


def is_untrained(run: RunResult | None, learning_cer: float) -> bool:
    """The run never left the CTC blank plateau: its best greedy dev CER stayed at or above
    ``learning_cer`` (the trainer's own verdict when it recorded one)."""
    if run is None:
        return False
    if "learning" in run.summary:
        return not run.summary["learning"]
    cers = [m["dev_cer"] for m in run.metrics if m.get("dev_cer") is not None]
    return bool(cers) and min(cers) >= learning_cer
