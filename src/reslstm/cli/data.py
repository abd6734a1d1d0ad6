"""Stage 0: data preparation (``reslstm-data``), for every microphone the run trains on."""

from pathlib import Path

from omegaconf import DictConfig

from reslstm.cli.stage import stage_entry
from reslstm.data.mics import conditions
from reslstm.data.prepare import prepare_data
from reslstm.runlock import sole_writer


@stage_entry
def main(cfg: DictConfig) -> None:
    mics = conditions(cfg)
    with sole_writer([Path(mic.paths.manifest_dir) for mic in mics], "reslstm-data"):
        for mic in mics:  # data.mic's first; each skips itself when already done
            prepare_data(mic.data, Path(mic.paths.manifest_dir), force=cfg.force)


if __name__ == "__main__":
    main()
