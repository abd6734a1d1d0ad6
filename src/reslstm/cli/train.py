"""Stage 3: CTC training (``reslstm-train``; also under ``torchrun``)."""

import logging
import os

from omegaconf import DictConfig

from reslstm.cli.stage import stage_entry
from reslstm.layout import Layout
from reslstm.runlock import sole_writer
from reslstm.train.trainer import Trainer


@stage_entry
def main(cfg: DictConfig) -> None:
    trainer = Trainer(cfg)  # reads every input first: a missing one writes no run directory
    run = Layout.of(cfg).run
    writer = os.environ.get("RANK", "0") == "0"  # torchrun: only rank 0 writes
    with sole_writer([run.path] if writer else [], "reslstm-train"):
        run.path.mkdir(parents=True, exist_ok=True)
        if writer:
            handler = logging.FileHandler(run.log)
            handler.setFormatter(logging.Formatter("[%(asctime)s][%(levelname)s] %(message)s"))
            logging.getLogger().addHandler(handler)
        trainer.run()


if __name__ == "__main__":
    main()
