"""Stage 0: data preparation (``reslstm-data``), for every microphone the run trains on."""

from pathlib import Path

from omegaconf import DictConfig

from reslstm.cli.stage import stage_entry
from reslstm.data.mics import conditions
from reslstm.data.prepare import prepare_data


@stage_entry
def main(cfg: DictConfig) -> None:
    for mic in conditions(cfg):  # data.mic's first; each skips itself when already done
        prepare_data(mic.data, Path(mic.paths.manifest_dir), force=cfg.force)


if __name__ == "__main__":
    main()
