#!/usr/bin/env python3
"""Generate the synthetic mini corpus (AMI layout) outside the staged recipe.

    local/make_mini_corpus.py data/corpora/mini                  # conf/data/mini.yaml settings
    local/make_mini_corpus.py /tmp/tiny --config conf/data/mini_tiny.yaml --num-workers 1

Stage 0 (`./run.sh --stage 0`) calls the same generator; this script is for trying settings.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from reslstm.data.mini import generate_corpus

CONF = Path(__file__).resolve().parents[1] / "conf" / "data"


def load_mini_config(path: Path) -> DictConfig:
    """The ``mini`` section of a data config, following its ``defaults`` (same group) first."""
    node = OmegaConf.load(path)
    merged = OmegaConf.create()
    for parent in node.get("defaults", []):
        if parent != "_self_":
            merged = OmegaConf.merge(merged, load_mini_config(path.parent / f"{parent}.yaml"))
    return OmegaConf.merge(merged, node.get("mini", {}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="corpus root to write")
    parser.add_argument("--config", type=Path, default=CONF / "mini.yaml", help="data config yaml")
    parser.add_argument("--seed", type=int, help="override mini.seed")
    parser.add_argument("--num-workers", type=int, help="override mini.num_workers")
    parser.add_argument("--force", action="store_true", help="regenerate even if complete")
    args = parser.parse_args()
    cfg = load_mini_config(args.config)
    for key, value in (("seed", args.seed), ("num_workers", args.num_workers)):
        if value is not None:
            cfg[key] = value
    info = generate_corpus(args.out_dir, cfg, force=args.force)
    durations: dict[str, float] = {}
    for meeting in info["meetings"]:
        durations[meeting["split"]] = durations.get(meeting["split"], 0.0) + meeting["duration_s"]
    print(
        json.dumps(
            {
                "out_dir": str(args.out_dir),
                "generation_s": info["generation_s"],
                "minutes": {s: round(d / 60, 1) for s, d in durations.items()},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
