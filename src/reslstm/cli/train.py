"""Stage 3: CTC training (``reslstm-train``; also under ``torchrun``)."""

import logging
import os
from pathlib import Path

from omegaconf import DictConfig

from reslstm.cli import stage_entry
from reslstm.train.trainer import Trainer


@stage_entry
def main(cfg: DictConfig) -> None:
    run_dir = Path(cfg.paths.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if os.environ.get("RANK", "0") == "0":  # torchrun: only rank 0 writes the log
        handler = logging.FileHandler(run_dir / "train.log")
        handler.setFormatter(logging.Formatter("[%(asctime)s][%(levelname)s] %(message)s"))
        logging.getLogger().addHandler(handler)
    Trainer(cfg).run()


if __name__ == "__main__":
    main()
